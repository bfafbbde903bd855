#include "core/rdb_format.hpp"

#include <array>

namespace redis_repl::core {
namespace {
constexpr std::array<std::string_view, value_type_count> type_names = {
    "string", "list", "set", "zset", "hash", "stream", "module", "array", "path_hash"};
}

std::string_view type_name(ValueType t) noexcept { return type_names[static_cast<std::size_t>(t)]; }

bool parse_type_name(std::string_view name, ValueType& out) noexcept {
  for (std::size_t i = 0; i < type_names.size(); ++i) {
    if (type_names[i] == name) {
      out = static_cast<ValueType>(i);
      return true;
    }
  }
  return false;
}

bool is_known_type(std::uint8_t b, int version) noexcept {
  if (b == static_cast<std::uint8_t>(RdbType::stream_listpacks_4)) return version >= 13;
  if (b == static_cast<std::uint8_t>(RdbType::stream_listpacks_5) ||
      b == static_cast<std::uint8_t>(RdbType::array))
    return version >= 14;
  if (b >= static_cast<std::uint8_t>(RdbType::hash_tmpl_lp) &&
      b <= static_cast<std::uint8_t>(RdbType::hash_tmpl_array_ref))
    return version >= 15;
  return b <= rdb_type_max && b != 6 && b != 8;
}

std::string_view unread_type_name(std::uint8_t b, bool valkey) noexcept {
  if (valkey) return "";  // 23 (PATH_HASH) is read in VALKEY 81 and means nothing in 80
  switch (b) {
    case 33:
      return "RDB_TYPE_GCRA (Redis 8.8 builds with GCRA)";
    default:
      return "";
  }
}

ValueType value_type_of(RdbType t) noexcept {
  switch (t) {
    case RdbType::string:
      return ValueType::string;
    case RdbType::list:
    case RdbType::list_ziplist:
    case RdbType::list_quicklist:
    case RdbType::list_quicklist_2:
      return ValueType::list;
    case RdbType::set:
    case RdbType::set_intset:
    case RdbType::set_listpack:
      return ValueType::set;
    case RdbType::zset:
    case RdbType::zset_2:
    case RdbType::zset_ziplist:
    case RdbType::zset_listpack:
      return ValueType::zset;
    case RdbType::hash:
    case RdbType::hash_zipmap:
    case RdbType::hash_ziplist:
    case RdbType::hash_listpack:
    case RdbType::hash_metadata_pre_ga:
    case RdbType::hash_listpack_ex_pre_ga:
    case RdbType::hash_metadata:
    case RdbType::hash_listpack_ex:
    case RdbType::valkey_hash_2:
    case RdbType::hash_tmpl_lp:
    case RdbType::hash_tmpl_lp_ref:
    case RdbType::hash_tmpl_array:
    case RdbType::hash_tmpl_array_ref:
      return ValueType::hash;
    case RdbType::stream_listpacks:
    case RdbType::stream_listpacks_2:
    case RdbType::stream_listpacks_3:
    case RdbType::stream_listpacks_4:
    case RdbType::stream_listpacks_5:
      return ValueType::stream;
    case RdbType::module_pre_ga:
    case RdbType::module_2:
      return ValueType::module;
    case RdbType::array:
      return ValueType::array;
    case RdbType::valkey_path_hash:
      return ValueType::path_hash;
  }
  return ValueType::string;
}

std::string_view encoding_name(RdbType t) noexcept {
  switch (t) {
    case RdbType::string:
      return "string";
    case RdbType::list:
      return "linkedlist";
    case RdbType::set:
    case RdbType::hash:
      return "hashtable";
    case RdbType::zset:
    case RdbType::zset_2:
      return "skiplist";
    case RdbType::module_pre_ga:
    case RdbType::module_2:
      return "module";
    case RdbType::hash_zipmap:
      return "zipmap";
    case RdbType::list_ziplist:
    case RdbType::zset_ziplist:
    case RdbType::hash_ziplist:
      return "ziplist";
    case RdbType::set_intset:
      return "intset";
    case RdbType::list_quicklist:
      return "quicklist";
    case RdbType::list_quicklist_2:
      return "quicklist2";
    case RdbType::hash_listpack:
    case RdbType::zset_listpack:
    case RdbType::set_listpack:
      return "listpack";
    case RdbType::stream_listpacks:
      return "stream_listpacks";
    case RdbType::stream_listpacks_2:
      return "stream_listpacks_2";
    case RdbType::stream_listpacks_3:
      return "stream_listpacks_3";
    case RdbType::stream_listpacks_4:
      return "stream_listpacks_4";
    case RdbType::stream_listpacks_5:
      return "stream_listpacks_5";
    case RdbType::array:
      return "array";
    case RdbType::hash_tmpl_lp:
    case RdbType::hash_tmpl_lp_ref:
      return "template-listpack";
    case RdbType::hash_tmpl_array:
    case RdbType::hash_tmpl_array_ref:
      return "template-array";
    case RdbType::valkey_hash_2:
      return "hashtable_2";
    case RdbType::valkey_path_hash:
      return "path_hash";
    case RdbType::hash_metadata_pre_ga:
      return "hashtable_ex_pre_ga";
    case RdbType::hash_listpack_ex_pre_ga:
      return "listpack_ex_pre_ga";
    case RdbType::hash_metadata:
      return "hashtable_ex";
    case RdbType::hash_listpack_ex:
      return "listpack_ex";
  }
  return "unknown";
}

}  // namespace redis_repl::core
