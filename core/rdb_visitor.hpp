// core/rdb_visitor.hpp — what the RDB parser reports, one call per fact.
//
// Every std::string_view argument points into the parser's buffers and is valid only until the
// call returns; copy what you keep. The one exception is KeyInfo::key, valid from on_key_begin to
// on_key_end. Every callback has a no-op default. Returning Flow::stop makes feed() return
// Step::stopped once the current item is complete; Flow::skip from on_key_begin parses the value
// (it is still verified) without any element callbacks or on_key_end for it. Flow::facts from
// on_key_begin asks for a value's size facts rather than its contents where the RDB holds it as
// a blob the server keeps as it is (see BlobFacts): on_blob comes instead of that blob's element
// callbacks; every other value comes as with Flow::next, and on_key_end follows.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/rdb_format.hpp"

namespace redis_repl::core {

enum class Flow : std::uint8_t { next, skip, stop, facts };

struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  friend bool operator==(const StreamId&, const StreamId&) = default;
};

struct Header {
  bool valkey = false;  // "VALKEY" magic (versions 80 and 81), else "REDIS"
  int version = 0;
};

// A hash field's expiry when it has none.
inline constexpr std::int64_t no_field_expire = -1;

// One module-style metadata class of a key (RDB_OPCODE_KEY_META, RDB 13), walked like a module
// value: its 4-character class name, version and flags from the 32-bit class spec, and its ops
// exactly as stored (module opcodes, the closing EOF op excluded).
struct KeyMetaClass {
  std::uint32_t spec = 0;
  std::string_view name;
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  std::string_view ops;
};

struct RdbSlotRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
};

struct ModuleInfo {
  std::uint64_t id = 0;       // the 64-bit module type id as stored
  std::string_view name;      // the 9-character type name decoded from the id
  std::uint32_t version = 0;  // the module's encoding version (low 10 bits)
};

struct KeyInfo {
  std::uint64_t db = 0;
  std::string_view key;
  RdbType rdb_type = RdbType::string;
  ValueType type = ValueType::string;
  std::optional<std::int64_t> expire_ms;  // absolute Unix milliseconds
  std::optional<std::uint64_t> idle_s;    // LRU idle seconds (RDB_OPCODE_IDLE)
  std::optional<std::uint8_t> freq;       // LFU counter (RDB_OPCODE_FREQ)
  ModuleInfo module;                      // module keys only
  std::span<const KeyMetaClass> meta;     // RDB_OPCODE_KEY_META classes (REDIS 13+), if any
  std::uint64_t offset = 0;               // where the record starts (its first modifier)
  std::uint64_t end_offset = 0;           // at on_key_end: where the record ends
};

// One module opcode (MODULE_2 values and MODULE_AUX records). raw is the op exactly as stored,
// opcode included, so a DUMP payload can be rebuilt from the ops.
struct ModuleOp {
  enum Kind : std::uint8_t { sint = 1, uint = 2, float32 = 3, float64 = 4, string = 5 } kind = uint;
  std::uint64_t u = 0;  // sint/uint (two's complement pattern for signed)
  double d = 0;         // float32/float64
  std::string_view str;
  std::string_view raw;
};

struct StreamMeta {
  std::uint64_t length = 0;  // live entries
  StreamId last_id;
  bool has_v2 = false;  // the three fields below are stored (types 19 and 21)
  StreamId first_id;
  StreamId max_deleted_id;
  std::uint64_t entries_added = 0;
  std::uint64_t groups = 0;
};

struct StreamGroup {
  std::string_view name;
  StreamId last_id;
  std::optional<std::int64_t> entries_read;  // absent in v1, or stored as -1 (unknown)
  std::uint64_t pending = 0;                 // entries in the group's pending list
};

struct StreamPending {
  StreamId id;
  std::int64_t delivery_time_ms = 0;
  std::uint64_t delivery_count = 0;
};

struct StreamConsumer {
  std::string_view name;
  std::int64_t seen_time_ms = 0;
  std::optional<std::int64_t> active_time_ms;  // type 21 only
  std::uint64_t pending = 0;
};

struct EndInfo {
  int version = 0;
  std::uint64_t bytes = 0;         // the RDB's length, checksum included
  bool has_checksum = false;       // RDB 5 and later
  std::uint64_t stored_crc = 0;    // 0: written with rdbchecksum no, not verified
  std::uint64_t computed_crc = 0;  // always computed
};

// A compact blob that a server loads as it is (a listpack of a set, sorted set or hash, an
// intset, a node of a quicklist): what a size estimate needs without its elements. It comes
// after the blob's element callbacks, or instead of them (Flow::facts).
struct BlobFacts {
  std::uint64_t bytes = 0;    // the blob's length (decompressed); a plain node: its element's
  std::uint64_t records = 0;  // elements: list items, set members, zset members, hash fields
  std::uint64_t max_len = 0;  // the longest element as text (zset: member; hash: field or value)
  bool plain = false;         // a quicklist PLAIN node: one raw element, not a listpack
};

class RdbVisitor {
 public:
  virtual ~RdbVisitor() = default;

  virtual Flow on_header(const Header&) { return Flow::next; }
  virtual Flow on_aux(std::string_view /*field*/, std::string_view /*value*/) { return Flow::next; }
  virtual Flow on_select_db(std::uint64_t /*db*/) { return Flow::next; }
  virtual Flow on_resize_db(std::uint64_t /*keys*/, std::uint64_t /*expires*/) {
    return Flow::next;
  }
  virtual Flow on_slot_info(std::uint64_t /*slot*/, std::uint64_t /*keys*/,
                            std::uint64_t /*expires*/) {
    return Flow::next;
  }
  // A function library: its whole code, "#!<engine> name=<library> ...\n...". Libraries saved
  // by Redis 7.0 release candidates (RDB_OPCODE_FUNCTION_PRE_GA) come rebuilt in that form, as
  // Redis 7.0 loads them, with their description, which the newer form has no place for.
  virtual Flow on_function(std::string_view /*code*/, std::string_view /*description*/) {
    return Flow::next;
  }
  virtual Flow on_module_aux_begin(const ModuleInfo&, std::uint64_t /*when*/) { return Flow::next; }
  // VALKEY RDB_OPCODE_SLOT_IMPORT: an atomic slot migration importing these slot ranges.
  virtual Flow on_slot_import(std::string_view /*job*/, std::span<const RdbSlotRange> /*ranges*/) {
    return Flow::next;
  }
  // VALKEY RDB_OPCODE_UPDATE: a command written inline by a forkless save, to apply in order
  // (in the db of the last SELECTDB).
  virtual Flow on_rdb_command(std::uint64_t /*db*/, std::span<const std::string_view> /*args*/) {
    return Flow::next;
  }
  // Stream IDMP state (type 26, REDIS 13), after the groups: the configuration, then one call
  // per producer entry (producer id, idempotency id, the entry's stream id), then the counters.
  virtual Flow on_stream_idmp_config(std::uint64_t /*duration_s*/, std::uint64_t /*max_entries*/) {
    return Flow::next;
  }
  virtual Flow on_stream_idmp_entry(std::string_view /*pid*/, std::string_view /*iid*/, StreamId) {
    return Flow::next;
  }
  virtual Flow on_stream_idmp_end(std::uint64_t /*iids_added*/, std::uint64_t /*duplicates*/) {
    return Flow::next;
  }
  virtual Flow on_module_aux_end() { return Flow::next; }

  virtual Flow on_key_begin(const KeyInfo&) { return Flow::next; }
  // A string value comes whole through on_string, or, when it is longer than the parser's
  // RdbLimits::stream_string_over, as on_string_begin(its length), on_string_chunk() calls whose
  // parts add up to that length (how it is cut depends on how the input arrived), and
  // on_string_end(). Nothing else is called in between.
  virtual Flow on_string(std::string_view /*value*/) { return Flow::next; }
  virtual Flow on_string_begin(std::uint64_t /*size*/) { return Flow::next; }
  virtual Flow on_string_chunk(std::string_view /*part*/) { return Flow::next; }
  virtual Flow on_string_end() { return Flow::next; }
  virtual Flow on_list_item(std::string_view /*item*/) { return Flow::next; }
  virtual Flow on_set_member(std::string_view /*member*/) { return Flow::next; }
  virtual Flow on_zset_member(std::string_view /*member*/, double /*score*/) { return Flow::next; }
  // expire_ms is the field's absolute expiry (Unix ms), no_field_expire (-1) when it has none.
  // A Valkey HASH_2 field may carry 0 or another past time: it is reported as stored.
  virtual Flow on_hash_field(std::string_view /*field*/, std::string_view /*value*/,
                             std::int64_t /*expire_ms*/) {
    return Flow::next;
  }
  // fields holds field, value, field, value, ...
  virtual Flow on_stream_entry(StreamId, std::span<const std::string_view> /*fields*/) {
    return Flow::next;
  }
  virtual Flow on_stream_meta(const StreamMeta&) { return Flow::next; }
  virtual Flow on_stream_group_begin(const StreamGroup&) { return Flow::next; }
  virtual Flow on_stream_pending(const StreamPending&) { return Flow::next; }
  virtual Flow on_stream_consumer_begin(const StreamConsumer&) { return Flow::next; }
  virtual Flow on_stream_consumer_pending(StreamId) { return Flow::next; }
  virtual Flow on_stream_consumer_end() { return Flow::next; }
  // Type 27 (REDIS 14): one entry of the group's NACK zone, a pending entry that no consumer
  // owns (its delivery time and count came with on_stream_pending), after the consumers.
  virtual Flow on_stream_nack(StreamId) { return Flow::next; }
  virtual Flow on_stream_group_end() { return Flow::next; }
  // An array (type 28, REDIS 14): its element count and insert index (none: never set), then
  // each element, index and value (integers and floats as their text).
  virtual Flow on_array_meta(std::uint64_t /*count*/, std::optional<std::uint64_t> /*insert*/) {
    return Flow::next;
  }
  virtual Flow on_array_element(std::uint64_t /*index*/, std::string_view /*value*/) {
    return Flow::next;
  }
  // A path hash (VALKEY type 23, RDB 81): each path with its field count, then that many
  // on_hash_field calls (no field expiries). An empty path hash has no paths.
  virtual Flow on_path_hash_path(std::string_view /*path*/, std::uint64_t /*fields*/) {
    return Flow::next;
  }
  // Module key values and MODULE_AUX records alike.
  virtual Flow on_module_op(const ModuleOp&) { return Flow::next; }
  virtual Flow on_blob(const BlobFacts&) { return Flow::next; }
  virtual Flow on_key_end(const KeyInfo&) { return Flow::next; }

  virtual Flow on_end(const EndInfo&) { return Flow::next; }
};

}  // namespace redis_repl::core
