// core/key_size.hpp — the size facts of one key, gathered from the parser's events as they pass
// (no second pass, nothing kept but counters): its serialized size in the RDB, its length
// (elements, or a string's length), its longest element, and an estimate of the memory a Redis
// 7.0 server spends on it; for a file written by Redis 7.2 or later, or by Valkey (its AUX
// `redis-ver` or `valkey-ver`), the memory such a server spends (see "Redis 7.2 and Valkey").
//
// The estimate follows the server's own structures and counts them as `MEMORY USAGE key
// SAMPLES 0` does (object.c): the value object (16 bytes), the key's sds and its main dictionary
// entry (24 bytes), plus, for a key with an expiry, its entry in the expires dictionary (24
// bytes; MEMORY USAGE leaves that out). Allocations are rounded up to jemalloc's size classes.
//   string     integer: the object alone; up to 44 bytes embedded with the object; else its sds
//   listpack   (hash, zset, set in 7.2) the listpack's exact size: as stored, when the RDB holds
//              the listpack itself (RDB 10 and later), else computed element by element as the
//              server encodes them
//   quicklist  (list) the listpack nodes as stored (RDB 10 and later); for older files the
//              elements packed greedily into 8 KB listpack nodes (list-max-listpack-size -2);
//              each node 40 bytes plus its listpack
//   intset     8 bytes of header and 2, 4 or 8 bytes per member by the widest
//   hashtable  (set, hash) the dict, a pointer per bucket (power of two), an entry of 24 bytes
//              and the sds of each member, or of each field and value
//   skiplist   (zset) the hashtable above plus the skiplist: its 32-level header and a node per
//              member, of the expected size for the random level (p = 1/4)
//   stream     nodes of at most 100 entries and 4 KB (allocated 4 KB each, as the server
//              preallocates them), the radix tree over them, consumer groups, their pending
//              entries and consumers
//   module     the serialized size
// Redis 7.2 and Valkey (checked against Valkey 8.0.1's MEMORY USAGE):
//   list       one that fits in a single 8 KB node is held as a plain listpack
//   hashtable  (set) the dict is sized once for its members, and stores no value: a member alone
//              in its bucket takes no entry, each further member of a bucket a 16-byte one
// Error bars: exact for strings, intsets and listpacks; for hashtables and skiplists within a
// few percent (the skiplist levels are random); for quicklists and streams within about 10 %
// when the server built them by appending (nodes filled in order); more when deletions left
// nodes half empty, or the server restarted (a loaded stream node is not preallocated).
#pragma once
#include <cstdint>
#include <string_view>

#include "core/rdb_visitor.hpp"

namespace redis_repl::core {

// jemalloc's size class for an allocation of n bytes.
std::uint64_t allocation_size(std::uint64_t n) noexcept;
// The bytes an element takes in a listpack (encoding, data and back-length).
std::uint64_t listpack_entry_size(std::string_view element) noexcept;
std::uint64_t listpack_int_entry_size(std::int64_t v) noexcept;
// The allocation of an sds string of that length, as the server creates one.
std::uint64_t sds_size(std::uint64_t len) noexcept;

struct KeySize {
  std::uint64_t bytes = 0;        // serialized size in the RDB, from the record's first byte
  std::uint64_t len = 0;          // elements (string: its length; hash: fields; stream: entries)
  std::uint64_t max_element = 0;  // longest element (hash: field or value; string: its length)
  std::uint64_t memory = 0;       // estimated server memory
  // The encoding the server holds it in, as OBJECT ENCODING names it: int, embstr, raw,
  // quicklist, listpack, intset, hashtable, skiplist, stream, module.
  std::string_view encoding = "raw";
};

class KeySizer {
 public:
  // An AUX field of the file (they come before the keys): chooses the server layout above.
  void aux(std::string_view field, std::string_view value);
  void begin(const KeyInfo& k);
  void string_value(std::string_view v);
  void string_begin(std::uint64_t size);
  void element(std::string_view e);  // list item, set member
  void zset_member(std::string_view m, double score);
  void hash_field(std::string_view f, std::string_view v);
  void stream_entry(StreamId id, std::span<const std::string_view> fields);
  void stream_meta(const StreamMeta& m);
  void stream_group(const StreamGroup& g);
  void stream_consumer(const StreamConsumer& c);
  void module_op(const ModuleOp&) {}
  // A blob the server keeps as it is: its facts replace those of its elements, which are not
  // counted (they may come before it, or not at all).
  void blob(const BlobFacts& b);
  // end_offset: the parser's offset once the record is complete.
  KeySize end(const KeyInfo& k, std::uint64_t end_offset);

 private:
  void listpack_add(std::uint64_t entry);
  void list_node_add(std::uint64_t entry);

  bool layout_7_2_ = false;  // written by Redis 7.2+ or Valkey
  std::uint64_t start_ = 0;
  KeyInfo info_;
  KeySize size_;
  // A set, sorted set or hash in a listpack or intset, or a list of listpack nodes, sized from
  // its blobs (BlobFacts) rather than its elements.
  bool verbatim_ = false;
  // String.
  bool int_string_ = false;
  // Listpack-shaped encodings.
  std::uint64_t lp_bytes_ = 0;
  // Quicklist.
  std::uint64_t node_bytes_ = 0;
  std::uint64_t nodes_ = 0;
  std::uint64_t nodes_memory_ = 0;
  // Hashtable and skiplist.
  std::uint64_t entries_memory_ = 0;
  // Stream.
  std::uint64_t stream_node_entries_ = 0;
  std::uint64_t stream_node_bytes_ = 0;
  std::uint64_t stream_nodes_ = 0;
  std::uint64_t stream_nodes_memory_ = 0;
  std::uint64_t stream_master_fields_ = 0;
  std::uint64_t groups_memory_ = 0;
};

}  // namespace redis_repl::core
