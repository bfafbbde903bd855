// core/rdb_format.hpp — RDB opcodes, object type bytes and their names, mirroring Redis's rdb.h.
//
// Names are scoped and lower-case; each enumerator's comment names the RDB_* constant it mirrors,
// so the parser can be read side by side with rdb.c.
#pragma once
#include <cstdint>
#include <string_view>

namespace redis_repl::core {

// Versions read after a "REDIS" magic (4 digits) and after a "VALKEY" magic (3 digits).
inline constexpr int rdb_version_min = 1;
inline constexpr int rdb_version_max = 15;
inline constexpr int valkey_version_min = 80;
inline constexpr int valkey_version_max = 81;

// Bytes 0xf2 and 0xf3 mean different things after each magic (the parser checks which first).
enum class Opcode : std::uint8_t {
  hash_template = 0xf2,    // RDB_OPCODE_HASH_TEMPLATE (REDIS 15); VALKEY: update
  key_meta = 0xf3,         // RDB_OPCODE_KEY_META (REDIS 13); VALKEY: slot_import
  slot_info = 0xf4,        // RDB_OPCODE_SLOT_INFO (RDB 12, cluster mode)
  function2 = 0xf5,        // RDB_OPCODE_FUNCTION2
  function_pre_ga = 0xf6,  // RDB_OPCODE_FUNCTION_PRE_GA (7.0 release candidates only)
  module_aux = 0xf7,       // RDB_OPCODE_MODULE_AUX
  idle = 0xf8,             // RDB_OPCODE_IDLE
  freq = 0xf9,             // RDB_OPCODE_FREQ
  aux = 0xfa,              // RDB_OPCODE_AUX
  resize_db = 0xfb,        // RDB_OPCODE_RESIZEDB
  expire_ms = 0xfc,        // RDB_OPCODE_EXPIRETIME_MS
  expire_s = 0xfd,         // RDB_OPCODE_EXPIRETIME
  select_db = 0xfe,        // RDB_OPCODE_SELECTDB
  eof = 0xff,              // RDB_OPCODE_EOF
};

enum class RdbType : std::uint8_t {
  string = 0,                    // RDB_TYPE_STRING
  list = 1,                      // RDB_TYPE_LIST (linked list)
  set = 2,                       // RDB_TYPE_SET (hash table)
  zset = 3,                      // RDB_TYPE_ZSET (string scores)
  hash = 4,                      // RDB_TYPE_HASH (hash table)
  zset_2 = 5,                    // RDB_TYPE_ZSET_2 (binary scores)
  module_pre_ga = 6,             // RDB_TYPE_MODULE_PRE_GA
  module_2 = 7,                  // RDB_TYPE_MODULE_2
  hash_zipmap = 9,               // RDB_TYPE_HASH_ZIPMAP
  list_ziplist = 10,             // RDB_TYPE_LIST_ZIPLIST
  set_intset = 11,               // RDB_TYPE_SET_INTSET
  zset_ziplist = 12,             // RDB_TYPE_ZSET_ZIPLIST
  hash_ziplist = 13,             // RDB_TYPE_HASH_ZIPLIST
  list_quicklist = 14,           // RDB_TYPE_LIST_QUICKLIST
  stream_listpacks = 15,         // RDB_TYPE_STREAM_LISTPACKS
  hash_listpack = 16,            // RDB_TYPE_HASH_LISTPACK
  zset_listpack = 17,            // RDB_TYPE_ZSET_LISTPACK
  list_quicklist_2 = 18,         // RDB_TYPE_LIST_QUICKLIST_2
  stream_listpacks_2 = 19,       // RDB_TYPE_STREAM_LISTPACKS_2
  set_listpack = 20,             // RDB_TYPE_SET_LISTPACK
  stream_listpacks_3 = 21,       // RDB_TYPE_STREAM_LISTPACKS_3
  hash_metadata_pre_ga = 22,     // RDB_TYPE_HASH_METADATA_PRE_GA (7.4 release candidates)
  hash_listpack_ex_pre_ga = 23,  // RDB_TYPE_HASH_LISTPACK_EX_PRE_GA
  hash_metadata = 24,            // RDB_TYPE_HASH_METADATA
  hash_listpack_ex = 25,         // RDB_TYPE_HASH_LISTPACK_EX
  stream_listpacks_4 = 26,       // RDB_TYPE_STREAM_LISTPACKS_4 (REDIS 13: with IDMP state)
  stream_listpacks_5 = 27,       // RDB_TYPE_STREAM_LISTPACKS_5 (REDIS 14: with NACK zones)
  array = 28,                    // RDB_TYPE_ARRAY (REDIS 14: a sparse, index-addressed array)
  hash_tmpl_lp = 29,             // RDB_TYPE_HASH_TMPL_LP (REDIS 15: field names inline)
  hash_tmpl_lp_ref = 30,         // RDB_TYPE_HASH_TMPL_LP_REF (a registered template's values)
  hash_tmpl_array = 31,          // RDB_TYPE_HASH_TMPL_ARRAY (field names inline)
  hash_tmpl_array_ref = 32,      // RDB_TYPE_HASH_TMPL_ARRAY_REF (a registered template's values)
  // Known but not read (its layout could not be checked against a source): 33 GCRA.
  // VALKEY files give bytes 22 and 23 other meanings; the parser maps them to these:
  valkey_hash_2 = 100,     // VALKEY RDB_TYPE_HASH_2 (byte 22): fields with 8-byte expiries
  valkey_path_hash = 101,  // VALKEY RDB_TYPE_PATH_HASH (byte 23, RDB 81): paths of hashes
};
inline constexpr std::uint8_t rdb_type_max = 32;
inline constexpr std::uint8_t valkey_opcode_update = 0xf2;       // RDB_OPCODE_UPDATE
inline constexpr std::uint8_t valkey_opcode_slot_import = 0xf3;  // RDB_OPCODE_SLOT_IMPORT
inline constexpr std::uint8_t valkey_type_hash_2 = 22;           // RDB_TYPE_HASH_2
inline constexpr std::uint8_t valkey_type_path_hash = 23;        // RDB_TYPE_PATH_HASH (81)

// The Redis data type a key has, whatever its encoding.
enum class ValueType : std::uint8_t {
  string,
  list,
  set,
  zset,
  hash,
  stream,
  module,
  array,
  path_hash
};
inline constexpr int value_type_count = 9;

// "string", "list", ... as TYPE answers.
std::string_view type_name(ValueType t) noexcept;
// Parses a type name; false if unknown.
bool parse_type_name(std::string_view name, ValueType& out) noexcept;

// True when b is an object type byte this parser reads in a REDIS file of that version.
bool is_known_type(std::uint8_t b, int version = rdb_version_max) noexcept;
// For a type byte this parser does not read: the server type it names ("" if none), e.g.
// "RDB_TYPE_ARRAY (Redis 8.8, RDB 14)".
std::string_view unread_type_name(std::uint8_t b, bool valkey) noexcept;
ValueType value_type_of(RdbType t) noexcept;
// The on-disk encoding, named as OBJECT ENCODING would where one exists: "listpack", "ziplist",
// "quicklist", "intset", "hashtable", "skiplist", "zipmap", "linkedlist", ...
std::string_view encoding_name(RdbType t) noexcept;

}  // namespace redis_repl::core
