// RESP commands that rebuild the data set, for `redis-cli --pipe`.
//
// Each key is DEL'd and rebuilt with plain commands in batches (so a key of any size streams out
// in bounded memory), then given its expiry with PEXPIREAT; hash field TTLs with HPEXPIREAT;
// streams with XADD, XSETID, XGROUP and XCLAIM (and XCFGSET, XIDMPRECORD for their IDMP state);
// module values with RESTORE of a DUMP payload built from the raw module ops; function libraries
// with FUNCTION LOAD REPLACE. Given a target server, only the commands it has are written, and
// what it cannot take is counted, one count per kind.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/crc64.hpp"
#include "core/resp_writer.hpp"
#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

using core::append_bulk;
using core::append_resp_header;
using core::Flow;

constexpr std::size_t batch_elements = 128;
constexpr std::size_t batch_bytes = 1 << 20;

std::string id_text(core::StreamId id) {
  std::string s;
  append_uint(s, id.ms);
  s.push_back('-');
  append_uint(s, id.seq);
  return s;
}

// A command assembled argument by argument.
class Command {
 public:
  void start() {
    args_.clear();
    n_ = 0;
  }
  void arg(std::string_view a) {
    append_bulk(args_, a);
    ++n_;
  }
  void arg_int(std::int64_t v) {
    char buf[24];
    arg(core::format_int(buf, v));
  }
  void arg_double(double d) {
    scratch_.clear();
    append_double(scratch_, d);
    arg(scratch_);
  }
  void write_to(std::string& out) const {
    append_resp_header(out, '*', n_);
    out.append(args_);
  }
  void write_args_to(std::string& out) const { out.append(args_); }
  std::size_t count() const { return n_; }
  std::size_t bytes() const { return args_.size(); }

 private:
  std::string args_;
  std::string scratch_;
  std::size_t n_ = 0;
};

// The first server version that has each command: Redis (major, minor), then Valkey, -1 for none.
// Redis: FUNCTION LOAD, XSETID ENTRIESADDED / MAXDELETEDID and XGROUP CREATE ENTRIESREAD 7.0;
// HPEXPIREAT 7.4; XCFGSET and XIDMPRECORD 8.6. Valkey forked from Redis 7.2 (so it has the 7.0
// ones) and has HSETEX and the field-expiry commands since 9.0.
bool has_field_ttls(const ServerVersion& t) { return t.at_least(7, 4, 9, 0); }
bool has_stream_idmp(const ServerVersion& t) { return t.at_least(8, 6); }
bool has_redis7(const ServerVersion& t) { return t.at_least(7, 0, 0, 0); }
bool has_arrays(const ServerVersion& t) { return t.at_least(8, 8); }
// PHSET: Valkey 9.2 (RDB 81), no Redis.
bool has_path_hash(const ServerVersion& t) { return t.valkey && t.at_least(0, 0, 9, 2); }

class RespSink final : public Sink {
 public:
  RespSink(OutBuffer& out, std::optional<ServerVersion> target)
      : Sink(out), b_(out.buffer()), target_(target) {}

  Flow on_header(const core::Header& h) override {
    summary_.header(h);
    version_ = h.version;
    return Flow::next;
  }
  Flow on_select_db(std::uint64_t db) override {
    db_ = db;
    return Flow::next;
  }
  Flow on_function(std::string_view code, std::string_view) override {
    summary_.function();
    if (!can(has_redis7)) {
      drop("function libraries: FUNCTION LOAD needs Redis 7.0");
      return Flow::next;
    }
    cmd_.start();
    cmd_.arg("FUNCTION");
    cmd_.arg("LOAD");
    cmd_.arg("REPLACE");
    cmd_.arg(code);
    return emit();
  }
  Flow on_module_aux_begin(const core::ModuleInfo&, std::uint64_t) override {
    summary_.module_aux();  // module aux data has no command form; it is counted, not replayed
    return Flow::next;
  }

  Flow on_key_begin(const core::KeyInfo& k) override {
    summary_.key(k);
    key_.assign(k.key);
    type_ = k.type;
    started_ = false;
    batch_.start();
    ttls_.clear();
    stream_added_ = false;
    path_hash_ok_ = true;
    if (!k.meta.empty()) ++metadata_dropped_;  // no command sets module key metadata
    in_module_key_ = k.type == core::ValueType::module;
    if (in_module_key_) {
      payload_.clear();
      payload_.push_back(static_cast<char>(core::RdbType::module_2));
      payload_.push_back(static_cast<char>(0x81));  // 64-bit length form, big-endian
      for (int i = 7; i >= 0; --i) payload_.push_back(static_cast<char>(k.module.id >> (8 * i)));
    }
    return Flow::next;
  }
  Flow on_string(std::string_view v) override {
    start_key();
    cmd_.start();
    cmd_.arg("SET");
    cmd_.arg(key_);
    cmd_.arg(v);
    return emit();
  }
  // A long value: SET with a bulk string whose length is known up front, written as it comes.
  Flow on_string_begin(std::uint64_t size) override {
    start_key();
    append_resp_header(b_, '*', 3);
    append_bulk(b_, "SET");
    append_bulk(b_, key_);
    append_resp_header(b_, '$', size);
    return spill();
  }
  Flow on_string_chunk(std::string_view part) override {
    b_.append(part);
    return spill();
  }
  Flow on_string_end() override {
    b_.append("\r\n");
    return spill();
  }
  Flow on_list_item(std::string_view v) override {
    element("RPUSH");
    batch_.arg(v);
    return maybe_flush_batch();
  }
  Flow on_set_member(std::string_view v) override {
    element("SADD");
    batch_.arg(v);
    return maybe_flush_batch();
  }
  Flow on_zset_member(std::string_view m, double score) override {
    element("ZADD");
    batch_.arg_double(score);
    batch_.arg(m);
    return maybe_flush_batch();
  }
  // A path hash (VALKEY 81): PHSET key path FIELDS n field value ... per path, in batches, as
  // valkey src/t_path_hash.c rewrites one (rewriteRadixObject) and phsetCommand reads it.
  Flow on_path_hash_path(std::string_view path, std::uint64_t) override {
    const Flow f = flush_batch();
    if (!path_hash_ok_) return f;
    if (!can(has_path_hash)) {  // counted once per key
      path_hash_ok_ = false;
      drop("path hashes: PHSET needs Valkey 9.2, and no Redis has it");
      return f;
    }
    path_.assign(path);
    return f;
  }
  Flow on_hash_field(std::string_view f, std::string_view v, std::int64_t expire_ms) override {
    if (type_ == core::ValueType::path_hash) {
      if (!path_hash_ok_) return Flow::next;
      element("PHSET");
      batch_.arg(f);
      batch_.arg(v);
      return maybe_flush_batch();
    }
    element("HSET");
    batch_.arg(f);
    batch_.arg(v);
    if (expire_ms != core::no_field_expire) {
      if (can(has_field_ttls)) {
        ttls_.emplace_back(std::string(f), expire_ms);
      } else {
        drop(
            "hash field TTLs: HPEXPIREAT needs Redis 7.4 or Valkey 9.0; the fields are kept "
            "without them");
      }
    }
    return maybe_flush_batch();
  }
  Flow on_stream_entry(core::StreamId id, std::span<const std::string_view> fields) override {
    start_key();
    if (!stream_added_) first_entry_ = id;
    stream_added_ = true;
    cmd_.start();
    cmd_.arg("XADD");
    cmd_.arg(key_);
    cmd_.arg(id_text(id));
    for (std::string_view f : fields) cmd_.arg(f);
    return emit();
  }
  Flow on_stream_meta(const core::StreamMeta& m) override {
    start_key();
    const bool zero_last = m.last_id == core::StreamId{};
    if (!stream_added_) {
      // No live entries: create the key without leaving one behind.
      cmd_.start();
      if (zero_last) {
        cmd_.arg("XGROUP");
        cmd_.arg("CREATE");
        cmd_.arg(key_);
        cmd_.arg("redis-repl-tmp");
        cmd_.arg("0");
        cmd_.arg("MKSTREAM");
        emit();
        cmd_.start();
        cmd_.arg("XGROUP");
        cmd_.arg("DESTROY");
        cmd_.arg(key_);
        cmd_.arg("redis-repl-tmp");
      } else {
        cmd_.arg("XADD");
        cmd_.arg(key_);
        cmd_.arg("MAXLEN");
        cmd_.arg("0");
        cmd_.arg(id_text(m.last_id));
        cmd_.arg("");
        cmd_.arg("");
      }
      emit();
    }
    // A stream saved before Redis 7.0 (RDB_TYPE_STREAM_LISTPACKS) has no entries-added, first id
    // or max-deleted id: Redis derives them when it loads the file, and so do we.
    meta_ = m;
    if (!m.has_v2) {
      meta_.entries_added = m.length;
      meta_.first_id = stream_added_ ? first_entry_ : core::StreamId{};
      meta_.max_deleted_id = core::StreamId{};
    }
    cmd_.start();
    cmd_.arg("XSETID");
    cmd_.arg(key_);
    cmd_.arg(id_text(m.last_id));
    if (can(has_redis7)) {
      cmd_.arg("ENTRIESADDED");
      cmd_.arg_int(static_cast<std::int64_t>(meta_.entries_added));
      cmd_.arg("MAXDELETEDID");
      cmd_.arg(id_text(meta_.max_deleted_id));
    } else {
      drop("streams' entries-added counts and max deleted ids: XSETID takes them from Redis 7.0");
    }
    return emit();
  }
  Flow on_stream_group_begin(const core::StreamGroup& g) override {
    group_.assign(g.name);
    pel_.clear();
    cmd_.start();
    cmd_.arg("XGROUP");
    cmd_.arg("CREATE");
    cmd_.arg(key_);
    cmd_.arg(g.name);
    cmd_.arg(id_text(g.last_id));
    const std::optional<std::int64_t> read =
        meta_.has_v2 ? g.entries_read : estimate_read(g.last_id);
    if (read && !can(has_redis7)) {
      drop("groups' entries-read counts: XGROUP CREATE takes them from Redis 7.0");
    } else if (read) {
      cmd_.arg("ENTRIESREAD");
      cmd_.arg_int(*read);
    }
    return emit();
  }
  Flow on_stream_pending(const core::StreamPending& p) override {
    pel_.push_back(p);  // the owner comes later, with the consumers
    return Flow::next;
  }
  Flow on_stream_consumer_begin(const core::StreamConsumer& c) override {
    consumer_.assign(c.name);
    cmd_.start();
    cmd_.arg("XGROUP");
    cmd_.arg("CREATECONSUMER");
    cmd_.arg(key_);
    cmd_.arg(group_);
    cmd_.arg(c.name);
    return emit();
  }
  Flow on_stream_consumer_pending(core::StreamId id) override {
    auto it = std::lower_bound(pel_.begin(), pel_.end(), id, [](const auto& p, core::StreamId v) {
      return p.id.ms < v.ms || (p.id.ms == v.ms && p.id.seq < v.seq);
    });
    std::int64_t time = 0;
    std::int64_t count = 1;
    if (it != pel_.end() && it->id == id) {
      time = it->delivery_time_ms;
      count = static_cast<std::int64_t>(it->delivery_count);
    }
    cmd_.start();
    cmd_.arg("XCLAIM");
    cmd_.arg(key_);
    cmd_.arg(group_);
    cmd_.arg(consumer_);
    cmd_.arg("0");
    cmd_.arg(id_text(id));
    cmd_.arg("TIME");
    cmd_.arg_int(time);
    cmd_.arg("RETRYCOUNT");
    cmd_.arg_int(count);
    cmd_.arg("FORCE");
    cmd_.arg("JUSTID");
    return emit();
  }
  // An array (RDB 14): ARMSET in batches, then ARSEEK to its insert index (ARSEEK i makes the
  // next ARINSERT write at i, so insert index + 1; none: a new array has none). redis/redis
  // src/t_array.c, armsetCommand and arseekCommand.
  Flow on_array_meta(std::uint64_t, std::optional<std::uint64_t> insert) override {
    array_ok_ = can(has_arrays);
    array_insert_ = insert;
    if (!array_ok_) drop("arrays: ARMSET needs Redis 8.8, and no Valkey has it");
    return Flow::next;
  }
  Flow on_array_element(std::uint64_t index, std::string_view value) override {
    if (!array_ok_) return Flow::next;
    element("ARMSET");
    scratch_.clear();
    append_uint(scratch_, index);
    batch_.arg(scratch_);
    batch_.arg(value);
    return maybe_flush_batch();
  }
  // A group's NACK zone (RDB 14): pending entries no consumer owns. No command makes one.
  Flow on_stream_nack(core::StreamId) override {
    ++dropped_
        ["stream NACK zone entries (pending, owned by no consumer) that no command can rebuild; "
         "they are left out"];
    return Flow::next;
  }
  // Stream IDMP state (RDB 13): the configuration, then each producer's entries.
  Flow on_stream_idmp_config(std::uint64_t duration, std::uint64_t max_entries) override {
    idmp_ = can(has_stream_idmp);
    if (!idmp_) {
      drop("streams' IDMP state: XCFGSET and XIDMPRECORD need Redis 8.6");
      return Flow::next;
    }
    cmd_.start();
    cmd_.arg("XCFGSET");
    cmd_.arg(key_);
    cmd_.arg("IDMP-DURATION");
    cmd_.arg_int(static_cast<std::int64_t>(duration));
    cmd_.arg("IDMP-MAXSIZE");
    cmd_.arg_int(static_cast<std::int64_t>(max_entries));
    return emit();
  }
  Flow on_stream_idmp_entry(std::string_view pid, std::string_view iid,
                            core::StreamId id) override {
    if (!idmp_) return Flow::next;
    cmd_.start();
    cmd_.arg("XIDMPRECORD");
    cmd_.arg(key_);
    cmd_.arg(pid);
    cmd_.arg(iid);
    cmd_.arg(id_text(id));
    return emit();
  }
  // VALKEY RDB_OPCODE_UPDATE: the command itself, in its db, where it stands in the file.
  Flow on_rdb_command(std::uint64_t db, std::span<const std::string_view> args) override {
    if (db != selected_db_) {
      cmd_.start();
      cmd_.arg("SELECT");
      cmd_.arg_int(static_cast<std::int64_t>(db));
      emit();
      selected_db_ = db;
    }
    cmd_.start();
    for (std::string_view a : args) cmd_.arg(a);
    emit();
    return line_done();
  }
  Flow on_module_op(const core::ModuleOp& op) override {
    if (in_module_key_) payload_.append(op.raw);
    return Flow::next;
  }

  Flow on_key_end(const core::KeyInfo& k) override {
    if (in_module_key_) {
      in_module_key_ = false;
      start_key();
      payload_.push_back(0);  // RDB_MODULE_OPCODE_EOF
      payload_.push_back(static_cast<char>(version_ & 0xff));
      payload_.push_back(static_cast<char>(version_ >> 8));
      const std::uint64_t crc = core::crc64(0, payload_.data(), payload_.size());
      for (int i = 0; i < 8; ++i) payload_.push_back(static_cast<char>(crc >> (8 * i)));
      cmd_.start();
      cmd_.arg("RESTORE");
      cmd_.arg(key_);
      cmd_.arg("0");
      cmd_.arg(payload_);
      cmd_.arg("REPLACE");
      emit();
    }
    flush_batch();
    if (type_ == core::ValueType::array && array_ok_ && started_ && array_insert_) {
      cmd_.start();
      cmd_.arg("ARSEEK");
      cmd_.arg(key_);
      scratch_.clear();
      append_uint(scratch_, *array_insert_ + 1);
      cmd_.arg(scratch_);
      emit();
    }
    if (!started_) {
      // An empty collection (Redis cannot hold one), unless it was left out (counted then).
      // A path hash left out for the target was counted with its first path.
      if ((type_ != core::ValueType::array || array_ok_) &&
          (type_ != core::ValueType::path_hash || path_hash_ok_))
        ++not_represented_;
      return Flow::next;
    }
    for (const auto& [field, ms] : ttls_) {
      cmd_.start();
      cmd_.arg("HPEXPIREAT");
      cmd_.arg(key_);
      cmd_.arg_int(ms);
      cmd_.arg("FIELDS");
      cmd_.arg("1");
      cmd_.arg(field);
      emit();
    }
    if (k.expire_ms) {
      cmd_.start();
      cmd_.arg("PEXPIREAT");
      cmd_.arg(key_);
      cmd_.arg_int(*k.expire_ms);
      emit();
    }
    return line_done();
  }
  Flow on_end(const core::EndInfo& e) override {
    summary_.end(e);
    return Flow::next;
  }
  // The stream as commands: a SELECT wherever the db changes, as replication itself does.
  Flow on_replication(const core::Event& e) override {
    if (e.kind != core::Event::Kind::command) return Flow::next;
    if (e.db != selected_db_ && e.db != core::unknown_db) {
      cmd_.start();
      cmd_.arg("SELECT");
      cmd_.arg_int(static_cast<std::int64_t>(e.db));
      emit();
      selected_db_ = e.db;
    }
    cmd_.start();
    for (std::string_view a : e.args) cmd_.arg(a);
    emit();
    return line_done();
  }
  void abort() override {
    // A half-built key stays out: drop what was not yet written for it.
    out_.flush();
  }

 private:
  // Whether the target has it. Without one, everything is written: a snapshot holds nothing its
  // writer cannot take, and the stream counters Redis 7.0 derives when it loads an older file
  // are written as it derives them.
  bool can(bool (*has)(const ServerVersion&)) const { return !target_ || has(*target_); }
  void drop(std::string_view what) {
    std::string kind(what.substr(0, what.find(':')));
    kind += " that ";
    kind += target_->name();
    kind += " cannot take (";
    kind += what.substr(what.find(':') + 2);
    kind += ")";
    ++dropped_[kind];
  }
  // What Redis estimates as a group's entries-read when it loads a pre-7.0 stream: exact where the
  // group's last id says it (nothing read, the first entry, the last entry), unknown elsewhere.
  std::optional<std::int64_t> estimate_read(core::StreamId id) const {
    auto cmp = [](core::StreamId a, core::StreamId b) {
      return a.ms != b.ms ? (a.ms < b.ms ? -1 : 1) : a.seq != b.seq ? (a.seq < b.seq ? -1 : 1) : 0;
    };
    const auto added = static_cast<std::int64_t>(meta_.entries_added);
    const auto length = static_cast<std::int64_t>(meta_.length);
    if (added == 0) return 0;
    const int to_last = cmp(id, meta_.last_id);
    if ((length == 0 && to_last <= 0) || to_last == 0) return added;
    if (to_last > 0) return std::nullopt;
    const int to_first = cmp(id, meta_.first_id);
    if (to_first < 0) return added - length;
    if (to_first == 0) return added - length + 1;
    return std::nullopt;
  }
  // First command of a key: SELECT if the db changed, then DEL so that replay replaces.
  void start_key() {
    if (started_) return;
    started_ = true;
    if (db_ != selected_db_) {
      cmd_.start();
      cmd_.arg("SELECT");
      cmd_.arg_int(static_cast<std::int64_t>(db_));
      emit();
      selected_db_ = db_;
    }
    cmd_.start();
    cmd_.arg("DEL");
    cmd_.arg(key_);
    emit();
  }
  void element(std::string_view verb) {
    start_key();
    if (batch_.count() == 0) {
      batch_verb_ = verb;
    }
  }
  Flow maybe_flush_batch() {
    if (batch_.count() >=
            batch_elements *
                (type_ == core::ValueType::list || type_ == core::ValueType::set ? 1 : 2) ||
        batch_.bytes() >= batch_bytes)
      return flush_batch();
    return Flow::next;
  }
  Flow flush_batch() {
    if (batch_.count() == 0) return Flow::next;
    const bool path_hash = type_ == core::ValueType::path_hash;
    append_resp_header(b_, '*', batch_.count() + (path_hash ? 5 : 2));
    append_bulk(b_, batch_verb_);
    append_bulk(b_, key_);
    if (path_hash) {  // PHSET key path FIELDS n
      append_bulk(b_, path_);
      append_bulk(b_, "FIELDS");
      char buf[24];
      append_bulk(b_, core::format_int(buf, static_cast<std::int64_t>(batch_.count() / 2)));
    }
    // The batch holds only the elements: they follow the verb and the key.
    batch_.write_args_to(b_);
    batch_.start();
    return spill();
  }
  Flow emit() {
    cmd_.write_to(b_);
    return spill();
  }

  std::string& b_;
  int version_ = 0;
  std::uint64_t db_ = 0;
  std::uint64_t selected_db_ = ~0ULL;  // always SELECT before the first key
  std::string key_;
  core::ValueType type_ = core::ValueType::string;
  bool started_ = false;
  Command cmd_;
  Command batch_;
  std::string_view batch_verb_;
  std::vector<std::pair<std::string, std::int64_t>> ttls_;
  bool stream_added_ = false;
  core::StreamId first_entry_;
  core::StreamMeta meta_;
  bool in_module_key_ = false;
  std::string group_;
  std::string consumer_;
  std::vector<core::StreamPending> pel_;
  std::string payload_;
  std::optional<ServerVersion> target_;  // none: the snapshot's writer, which has it all
  bool idmp_ = true;
  bool array_ok_ = true;
  std::optional<std::uint64_t> array_insert_;
  bool path_hash_ok_ = true;
  std::string path_;  // the path hash path whose fields are batched
  std::string scratch_;
};

}  // namespace

bool ServerVersion::at_least(int redis_major, int redis_minor, int valkey_major,
                             int valkey_minor) const noexcept {
  if (valkey) {
    return valkey_major >= 0 &&
           (major > valkey_major || (major == valkey_major && minor >= valkey_minor));
  }
  return major > redis_major || (major == redis_major && minor >= redis_minor);
}

std::string ServerVersion::name() const {
  return std::string(valkey ? "valkey " : "redis ") + std::to_string(major) + "." +
         std::to_string(minor);
}

bool parse_server_version(std::string_view text, ServerVersion& out) noexcept {
  ServerVersion v;
  if (text.starts_with("valkey:")) {
    v.valkey = true;
    text.remove_prefix(7);
  } else if (text.starts_with("redis:")) {
    text.remove_prefix(6);
  }
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) return false;
  std::string_view minor = text.substr(dot + 1);
  const std::size_t dot2 = minor.find('.');
  if (dot2 != std::string_view::npos) {
    std::uint32_t patch = 0;
    if (!core::parse_decimal(minor.substr(dot2 + 1), patch)) return false;
    minor = minor.substr(0, dot2);
  }
  std::uint16_t ma = 0, mi = 0;
  if (!core::parse_decimal(text.substr(0, dot), ma) || !core::parse_decimal(minor, mi) || ma > 99 ||
      mi > 99)
    return false;
  v.major = ma;
  v.minor = mi;
  out = v;
  return true;
}

std::unique_ptr<Sink> make_resp_sink(OutBuffer& out, std::optional<ServerVersion> target) {
  return std::make_unique<RespSink>(out, target);
}

}  // namespace redis_repl::formats
