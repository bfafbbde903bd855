#include "core/key_size.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

namespace redis_repl::core {
namespace {

// Sizes of the server's structures (Redis 7.0, 64-bit).
constexpr std::uint64_t robj_size = 16;
constexpr std::uint64_t dict_entry_size = 24;
constexpr std::uint64_t no_value_entry_size = 16;  // key and next (Redis 7.2's sets)
constexpr std::uint64_t dict_size = 56;
constexpr std::uint64_t quicklist_size = 40;
constexpr std::uint64_t quicklist_node_size = 40;
constexpr std::uint64_t quicklist_node_limit = 8192;  // list-max-listpack-size -2
constexpr std::uint64_t quicklist_insert_overhead = 8;
constexpr std::uint64_t listpack_empty = 7;  // 6 bytes of header, 1 of end mark
constexpr std::uint64_t zset_size = 16;
constexpr std::uint64_t zskiplist_size = 32;
constexpr std::uint64_t skiplist_max_level = 32;
constexpr std::uint64_t stream_size = 80;
constexpr std::uint64_t stream_node_max_entries = 100;  // stream-node-max-entries
constexpr std::uint64_t stream_node_max_bytes = 4096;   // stream-node-max-bytes, preallocated
constexpr std::uint64_t stream_cg_size = 40;
constexpr std::uint64_t stream_nack_size = 24;
constexpr std::uint64_t stream_consumer_size = 24;

bool is_hashtable(RdbType t) {
  return t == RdbType::set || t == RdbType::hash || t == RdbType::hash_metadata ||
         t == RdbType::hash_metadata_pre_ga || t == RdbType::valkey_path_hash;
}
bool is_skiplist(RdbType t) { return t == RdbType::zset || t == RdbType::zset_2; }
bool is_quicklist(RdbType t) {
  return t == RdbType::list || t == RdbType::list_ziplist || t == RdbType::list_quicklist ||
         t == RdbType::list_quicklist_2;
}

// A whole string as the server's string2ll reads it: no sign but '-', no leading zero, no space.
// (Called for every element: most are rejected by their first byte or their length.)
bool canonical_int(std::string_view s, std::int64_t& v) {
  if (s.empty() || s.size() > 20) return false;
  const bool negative = s.front() == '-';
  const std::size_t first = negative ? 1 : 0;
  if (s.size() == first || s[first] < '0' || s[first] > '9') return false;
  if (s[first] == '0' && (s.size() > first + 1 || negative)) return false;  // "01", "-0"
  if (s.size() - first <= 18) {                                             // cannot overflow
    std::int64_t n = 0;
    for (std::size_t i = first; i < s.size(); ++i) {
      const unsigned d = static_cast<unsigned char>(s[i]) - '0';
      if (d > 9) return false;
      n = n * 10 + static_cast<std::int64_t>(d);
    }
    v = negative ? -n : n;
    return true;
  }
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// Buckets of a dict of n entries built by adding them: the table doubles when full, and the old
// one stays until incremental rehashing, a bucket per addition, has moved its non-empty buckets
// (about 63 % of them); a dict the server loaded is sized once, without the old table.
std::uint64_t dict_buckets(std::uint64_t n) {
  if (n <= 4) return 4;
  const std::uint64_t size = std::bit_ceil(n);
  const std::uint64_t old = size / 2;
  const bool rehashing = static_cast<double>(n - old) < 0.632 * static_cast<double>(old);
  return rehashing ? size + old : size;
}

// A dict without values (Redis 7.2's sets): n members spread over `buckets` take an entry of 16
// bytes each, except the first member of each bucket, which sits in the bucket itself. The
// buckets in use, on average: buckets * (1 - (1 - 1/buckets)^n).
std::uint64_t no_value_entries(std::uint64_t n, std::uint64_t buckets) {
  const double b = static_cast<double>(buckets);
  const double used = b * (1 - std::pow(1 - 1 / b, static_cast<double>(n)));
  const double chained = static_cast<double>(n) - used;
  return chained > 0 ? static_cast<std::uint64_t>(chained * no_value_entry_size + 0.5) : 0;
}

// A version "7.2.4" at least major.minor.
bool version_at_least(std::string_view v, int major, int minor) {
  int parts[2] = {0, 0};
  for (int& part : parts) {
    const auto r = std::from_chars(v.data(), v.data() + v.size(), part);
    if (r.ec != std::errc{}) return false;
    v.remove_prefix(static_cast<std::size_t>(r.ptr - v.data()));
    if (!v.empty() && v.front() == '.') v.remove_prefix(1);
  }
  return parts[0] > major || (parts[0] == major && parts[1] >= minor);
}

// The rax of a stream (or a PEL) as MEMORY USAGE counts it: 16 bytes an element, and a fixed
// overhead per node; a tree of n keys has about n + 1 nodes.
std::uint64_t rax_usage(std::uint64_t elements) {
  const std::uint64_t nodes = elements + 1;
  return elements * 16 + nodes * 4 + nodes * 8 * 30;
}

// The expected allocation of a skiplist node, its level drawn with p = 1/4.
std::uint64_t expected_skiplist_node() {
  double expected = 0, p = 0.75;
  for (std::uint64_t level = 1; level <= skiplist_max_level; ++level) {
    expected += p * static_cast<double>(allocation_size(24 + 16 * level));
    p *= 0.25;
  }
  return static_cast<std::uint64_t>(expected + 0.5);
}

std::string_view score_text(double score, char (&buf)[32]) {
  if (score == static_cast<double>(static_cast<std::int64_t>(score)) && score > -1e17 &&
      score < 1e17) {
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(score));
    return std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, score, std::chars_format::general, 17);
  return std::string_view(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace

std::uint64_t allocation_size(std::uint64_t n) noexcept {
  if (n <= 8) return 8;
  if (n <= 128) return (n + 15) / 16 * 16;
  // Four classes per doubling: spacing is a quarter of the power of two below.
  const std::uint64_t below = std::bit_floor(n - 1);
  const std::uint64_t spacing = below / 4;
  return (n + spacing - 1) / spacing * spacing;
}

std::uint64_t sds_size(std::uint64_t len) noexcept {
  const std::uint64_t header = len == 0             ? 3
                               : len < 32           ? 1
                               : len < 256          ? 3
                               : len < 65536        ? 5
                               : len < (1ull << 32) ? 9
                                                    : 17;
  return allocation_size(header + len + 1);
}

std::uint64_t listpack_int_entry_size(std::int64_t v) noexcept {
  std::uint64_t enc = 9;
  if (v >= 0 && v <= 127) {
    enc = 1;
  } else if (v >= -4096 && v <= 4095) {
    enc = 2;
  } else if (v >= -32768 && v <= 32767) {
    enc = 3;
  } else if (v >= -8388608 && v <= 8388607) {
    enc = 4;
  } else if (v >= -2147483648LL && v <= 2147483647LL) {
    enc = 5;
  }
  return enc + 1;  // back-length of at most 127
}

std::uint64_t listpack_entry_size(std::string_view element) noexcept {
  std::int64_t v = 0;
  if (canonical_int(element, v)) return listpack_int_entry_size(v);
  const std::uint64_t len = element.size();
  const std::uint64_t enc = len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len;
  const std::uint64_t back = enc < 128         ? 1
                             : enc < 16384     ? 2
                             : enc < 2097152   ? 3
                             : enc < 268435456 ? 4
                                               : 5;
  return enc + back;
}

void KeySizer::aux(std::string_view field, std::string_view value) {
  if (field == "valkey-ver" || (field == "redis-ver" && version_at_least(value, 7, 2)))
    layout_7_2_ = true;
}

void KeySizer::begin(const KeyInfo& k) {
  const bool layout_7_2 = layout_7_2_;
  *this = KeySizer{};
  layout_7_2_ = layout_7_2;
  info_ = k;
  info_.key = {};
  start_ = k.offset;
  lp_bytes_ = listpack_empty;
  const RdbType t = k.rdb_type;
  verbatim_ = t == RdbType::list_quicklist_2 || t == RdbType::set_listpack ||
              t == RdbType::zset_listpack || t == RdbType::hash_listpack ||
              t == RdbType::set_intset;
}

void KeySizer::blob(const BlobFacts& b) {
  size_.len += b.records;
  size_.max_element = std::max(size_.max_element, b.max_len);
  if (info_.rdb_type == RdbType::list_quicklist_2) {
    ++nodes_;
    nodes_memory_ += quicklist_node_size + allocation_size(b.bytes);
  }
  // The listpack or intset as stored; of a list, its last node (one node may be a listpack).
  lp_bytes_ = b.bytes;
}

void KeySizer::string_value(std::string_view v) {
  size_.len = size_.max_element = v.size();
  std::int64_t i = 0;
  int_string_ = canonical_int(v, i);
}

void KeySizer::string_begin(std::uint64_t size) { size_.len = size_.max_element = size; }

void KeySizer::listpack_add(std::uint64_t entry) { lp_bytes_ += entry; }

void KeySizer::list_node_add(std::uint64_t raw_len) {
  // A new node when this one would pass 8 KB, as the server estimates it on insertion.
  if (nodes_ == 0 || node_bytes_ + raw_len + quicklist_insert_overhead > quicklist_node_limit) {
    if (nodes_) nodes_memory_ += quicklist_node_size + allocation_size(node_bytes_);
    ++nodes_;
    node_bytes_ = listpack_empty;
  }
}

void KeySizer::element(std::string_view e) {
  if (verbatim_) return;
  ++size_.len;
  size_.max_element = std::max<std::uint64_t>(size_.max_element, e.size());
  const RdbType t = info_.rdb_type;
  if (is_quicklist(t)) {
    list_node_add(e.size());
    node_bytes_ += listpack_entry_size(e);
  } else if (is_hashtable(t)) {
    entries_memory_ += dict_entry_size + sds_size(e.size());
  } else {
    listpack_add(listpack_entry_size(e));
  }
}

void KeySizer::zset_member(std::string_view m, double score) {
  if (verbatim_) return;
  ++size_.len;
  size_.max_element = std::max<std::uint64_t>(size_.max_element, m.size());
  if (is_skiplist(info_.rdb_type)) {
    static const std::uint64_t node = expected_skiplist_node();
    entries_memory_ += dict_entry_size + sds_size(m.size()) + node;
  } else {
    // A whole score is stored as an integer entry; any other as its text.
    std::uint64_t score_entry;
    if (score == static_cast<double>(static_cast<std::int64_t>(score)) && score > -1e17 &&
        score < 1e17) {
      score_entry = listpack_int_entry_size(static_cast<std::int64_t>(score));
    } else {
      char buf[32];
      score_entry = listpack_entry_size(score_text(score, buf));
    }
    listpack_add(listpack_entry_size(m) + score_entry);
  }
}

void KeySizer::hash_field(std::string_view f, std::string_view v) {
  if (verbatim_) return;
  ++size_.len;
  size_.max_element = std::max<std::uint64_t>(size_.max_element, std::max(f.size(), v.size()));
  if (is_hashtable(info_.rdb_type)) {
    entries_memory_ += dict_entry_size + sds_size(f.size()) + sds_size(v.size());
  } else {
    listpack_add(listpack_entry_size(f) + listpack_entry_size(v));
  }
}

void KeySizer::stream_entry(StreamId id, std::span<const std::string_view> fields) {
  ++size_.len;
  std::uint64_t raw = 0, values = 0, pairs = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    size_.max_element = std::max<std::uint64_t>(size_.max_element, fields[i].size());
    raw += fields[i].size();
    const std::uint64_t e = listpack_entry_size(fields[i]);
    pairs += e;
    if (i % 2) values += e;
  }
  const auto n = static_cast<std::int64_t>(fields.size() / 2);
  const bool open = stream_nodes_ > 0 && stream_node_entries_ < stream_node_max_entries &&
                    stream_node_bytes_ + raw < stream_node_max_bytes;
  if (!open) {
    if (stream_nodes_) stream_nodes_memory_ += allocation_size(stream_node_bytes_);  // shrunk
    ++stream_nodes_;
    stream_node_entries_ = 0;
    // The master entry: count, deleted, the field names and a terminator.
    stream_master_fields_ = static_cast<std::uint64_t>(n);
    stream_node_bytes_ = listpack_empty + 2 + 2 + listpack_int_entry_size(n) + (pairs - values) + 2;
  }
  ++stream_node_entries_;
  // flags, ms and seq differences from the master id (small), the values when the fields are
  // the master's (assumed for entries of the same field count), else the count and the pairs,
  // and the entry's element count.
  const std::uint64_t body = static_cast<std::uint64_t>(n) == stream_master_fields_
                                 ? values
                                 : listpack_int_entry_size(n) + pairs;
  stream_node_bytes_ += 2 + listpack_int_entry_size(static_cast<std::int64_t>(id.ms % 4096)) +
                        listpack_int_entry_size(static_cast<std::int64_t>(id.seq % 128)) + body + 2;
}

void KeySizer::stream_meta(const StreamMeta&) {}

void KeySizer::stream_group(const StreamGroup& g) {
  groups_memory_ += stream_cg_size + rax_usage(g.pending) + stream_nack_size * g.pending;
}

void KeySizer::stream_consumer(const StreamConsumer& c) {
  groups_memory_ += stream_consumer_size + c.name.size() + rax_usage(c.pending);
}

KeySize KeySizer::end(const KeyInfo& k, std::uint64_t end_offset) {
  size_.bytes = end_offset > start_ ? end_offset - start_ : 0;
  const RdbType t = info_.rdb_type;
  std::uint64_t value = robj_size;
  switch (info_.type) {
    case ValueType::string:
      if (int_string_) {
        value = robj_size;
        size_.encoding = "int";
      } else if (size_.len <= 44) {
        value = allocation_size(robj_size + 3 + size_.len + 1);
        size_.encoding = "embstr";
      } else {
        value = robj_size + sds_size(size_.len);
        size_.encoding = "raw";
      }
      break;
    case ValueType::list:
      if (layout_7_2_ && nodes_ == 1) {
        // (From RDB 10 on, the one node as stored.)
        value = robj_size + allocation_size(verbatim_ ? lp_bytes_ : node_bytes_);
        size_.encoding = "listpack";
        break;
      }
      if (nodes_ && !verbatim_) nodes_memory_ += quicklist_node_size + allocation_size(node_bytes_);
      value = robj_size + quicklist_size + nodes_memory_;
      size_.encoding = "quicklist";
      break;
    case ValueType::set:
    case ValueType::hash:
      if (t == RdbType::set_intset) {
        value = robj_size + allocation_size(lp_bytes_);
        size_.encoding = "intset";
      } else if (is_hashtable(t) && layout_7_2_ && info_.type == ValueType::set) {
        const std::uint64_t buckets = std::max<std::uint64_t>(4, std::bit_ceil(size_.len));
        value = robj_size + dict_size + 8 * buckets + entries_memory_ -
                dict_entry_size * size_.len + no_value_entries(size_.len, buckets);
        size_.encoding = "hashtable";
      } else if (is_hashtable(t)) {
        value = robj_size + dict_size + 8 * dict_buckets(size_.len) + entries_memory_;
        size_.encoding = "hashtable";
      } else {
        value = robj_size + allocation_size(lp_bytes_);
        size_.encoding = "listpack";
      }
      break;
    case ValueType::zset:
      if (is_skiplist(t)) {
        value = robj_size + zset_size + zskiplist_size + dict_size + 8 * dict_buckets(size_.len) +
                allocation_size(24 + 16 * skiplist_max_level) + entries_memory_;
        size_.encoding = "skiplist";
      } else {
        value = robj_size + allocation_size(lp_bytes_);
        size_.encoding = "listpack";
      }
      break;
    case ValueType::stream:
      if (stream_nodes_)
        stream_nodes_memory_ +=
            allocation_size(std::max(stream_node_bytes_, stream_node_max_bytes));
      value = robj_size + stream_size + rax_usage(stream_nodes_) + stream_nodes_memory_ +
              groups_memory_;
      size_.encoding = "stream";
      break;
    case ValueType::module:
      value = robj_size + size_.bytes;
      size_.encoding = "module";
      break;
    case ValueType::array:  // a rough estimate: the values and an index word each
      value = robj_size + size_.bytes + 16 * size_.len;
      size_.encoding = "array";
      break;
    case ValueType::path_hash:  // an estimate: one hash table holding every path's fields
      value = robj_size + dict_size + 8 * dict_buckets(size_.len) + entries_memory_;
      size_.encoding = "path_hash";
      break;
  }
  size_.memory =
      value + sds_size(k.key.size()) + dict_entry_size + (k.expire_ms ? dict_entry_size : 0);
  return size_;
}

}  // namespace redis_repl::core
