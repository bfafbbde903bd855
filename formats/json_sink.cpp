// JSON Lines: one object per line, a "kind" on each; the schema is in man/redis-repl.1.
#include <string>

#include "core/bytes.hpp"
#include "formats/json_writer.hpp"
#include "formats/sink.hpp"
#include "formats/spool.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

using core::Flow;

const char* module_op_name(core::ModuleOp::Kind k) {
  switch (k) {
    case core::ModuleOp::sint:
      return "sint";
    case core::ModuleOp::uint:
      return "uint";
    case core::ModuleOp::float32:
      return "float";
    case core::ModuleOp::float64:
      return "double";
    case core::ModuleOp::string:
      return "string";
  }
  return "unknown";
}

class JsonSink final : public Sink {
 public:
  explicit JsonSink(OutBuffer& out) : Sink(out), w_(out.buffer()) {}

  Flow on_header(const core::Header& h) override {
    summary_.header(h);
    begin_line("header");
    w_.key("magic");
    w_.ascii(h.valkey ? "VALKEY" : "REDIS");
    w_.key("rdb_version");
    w_.number(h.version);
    return end_line();
  }
  Flow on_aux(std::string_view field, std::string_view value) override {
    pending_db_line();
    begin_line("aux");
    w_.key("field");
    w_.bytes(field);
    w_.key("value");
    w_.bytes(value);
    return end_line();
  }
  Flow on_select_db(std::uint64_t db) override {
    pending_db_line();
    db_ = db;
    db_pending_ = true;
    return Flow::next;
  }
  Flow on_resize_db(std::uint64_t keys, std::uint64_t expires) override {
    if (!db_pending_) {  // RESIZEDB without a SELECTDB before it: db 0
      db_pending_ = true;
    }
    resize_ = true;
    resize_keys_ = keys;
    resize_expires_ = expires;
    return Flow::next;
  }
  Flow on_slot_info(std::uint64_t slot, std::uint64_t keys, std::uint64_t expires) override {
    pending_db_line();
    begin_line("slot_info");
    w_.key("db");
    w_.unsigned_number(db_);
    w_.key("slot");
    w_.unsigned_number(slot);
    w_.key("keys");
    w_.unsigned_number(keys);
    w_.key("expires");
    w_.unsigned_number(expires);
    return end_line();
  }
  Flow on_function(std::string_view code, std::string_view description) override {
    summary_.function();
    pending_db_line();
    begin_line("function");
    // The first line is "#!<engine> name=<library> [...]".
    std::string_view first = code.substr(0, code.find('\n'));
    std::string_view engine, library;
    if (first.starts_with("#!")) {
      std::string_view rest = first.substr(2);
      engine = rest.substr(0, rest.find(' '));
      const std::size_t at = rest.find(" name=");
      if (at != std::string_view::npos) {
        library = rest.substr(at + 6);
        library = library.substr(0, library.find(' '));
      }
    }
    w_.key("engine");
    w_.bytes(engine);
    w_.key("library");
    w_.bytes(library);
    w_.key("code");
    w_.bytes(code);
    if (!description.empty()) {
      w_.key("description");
      w_.bytes(description);
    }
    return end_line();
  }
  Flow on_module_aux_begin(const core::ModuleInfo& m, std::uint64_t when) override {
    summary_.module_aux();
    pending_db_line();
    begin_line("module_aux");
    module_fields(m);
    w_.key("when");
    if (when == 1) {
      w_.ascii("before_keys");
    } else if (when == 2) {
      w_.ascii("after_keys");
    } else {
      w_.unsigned_number(when);
    }
    w_.key("ops");
    w_.begin_array();
    return Flow::next;
  }
  Flow on_module_aux_end() override { return end_line(); }
  Flow on_module_op(const core::ModuleOp& op) override {
    w_.begin_array();
    w_.ascii(module_op_name(op.kind));
    switch (op.kind) {
      case core::ModuleOp::sint:
        w_.number(static_cast<std::int64_t>(op.u));
        break;
      case core::ModuleOp::uint:
        w_.unsigned_number(op.u);
        break;
      case core::ModuleOp::float32:
      case core::ModuleOp::float64:
        w_.real(op.d);
        break;
      case core::ModuleOp::string:
        w_.bytes(op.str);
        break;
    }
    w_.end();
    return spill();
  }

  Flow on_key_begin(const core::KeyInfo& k) override {
    summary_.key(k);
    nack_zones_ = k.rdb_type == core::RdbType::stream_listpacks_5;
    pending_db_line();
    begin_line("key");
    w_.key("db");
    w_.unsigned_number(k.db);
    w_.key("key");
    w_.bytes(k.key);
    w_.key("type");
    w_.ascii(core::type_name(k.type));
    w_.key("encoding");
    w_.ascii(core::encoding_name(k.rdb_type));
    w_.key("expire_ms");
    if (k.expire_ms) {
      w_.number(*k.expire_ms);
    } else {
      w_.null();
    }
    if (k.idle_s) {
      w_.key("idle_s");
      w_.unsigned_number(*k.idle_s);
    }
    if (k.freq) {
      w_.key("freq");
      w_.unsigned_number(*k.freq);
    }
    if (!k.meta.empty()) {  // RDB_OPCODE_KEY_META: module metadata classes, ops as stored
      w_.key("meta");
      w_.begin_array();
      for (const core::KeyMetaClass& m : k.meta) {
        w_.begin_object();
        w_.key("class");
        w_.bytes(m.name);
        w_.key("version");
        w_.unsigned_number(m.version);
        w_.key("flags");
        w_.unsigned_number(m.flags);
        w_.key("ops");
        w_.bytes(m.ops);
        w_.end();
      }
      w_.end();
    }
    w_.key("value");
    switch (k.type) {
      case core::ValueType::string:
        break;  // on_string writes it
      case core::ValueType::stream:
        w_.begin_object();
        w_.key("entries");
        w_.begin_array();
        break;
      case core::ValueType::module:
        w_.begin_object();
        module_fields(k.module);
        w_.key("ops");
        w_.begin_array();
        break;
      case core::ValueType::array:
        w_.begin_object();  // on_array_meta writes the insert index, then the elements
        break;
      default:
        w_.begin_array();
    }
    return Flow::next;
  }
  Flow on_string(std::string_view v) override {
    w_.bytes(v);
    return Flow::next;
  }
  // A long value: JSON string or {"base64"} depends on all of it, so it is checked while it is
  // spooled to a temporary file, then read back and written out in blocks.
  Flow on_string_begin(std::uint64_t) override {
    utf8_ = Utf8Checker{};
    if (!spool_.open()) out_.fail(spool_.error(), spool_.what());
    return out_.ok() ? Flow::next : Flow::stop;
  }
  Flow on_string_chunk(std::string_view part) override {
    utf8_.feed(part);
    if (!spool_.write(part)) out_.fail(spool_.error(), spool_.what());
    return out_.ok() ? Flow::next : Flow::stop;
  }
  Flow on_string_end() override {
    const bool text = utf8_.valid();
    w_.raw_value();
    out_.buffer().append(text ? "\"" : "{\"base64\":\"");
    Base64Stream b64;
    std::string block;
    if (spool_.rewind()) {
      while (spool_.read(block)) {
        if (text) {
          append_json_escaped(out_.buffer(), block);
        } else {
          b64.add(out_.buffer(), block);
        }
        if (spill() == Flow::stop) break;
      }
    }
    if (spool_.error()) out_.fail(spool_.error(), spool_.what());
    if (!text) b64.finish(out_.buffer());
    out_.buffer().append(text ? "\"" : "\"}");
    spool_.close();
    return out_.ok() ? Flow::next : Flow::stop;
  }
  Flow on_list_item(std::string_view v) override {
    w_.bytes(v);
    return spill();
  }
  Flow on_set_member(std::string_view v) override {
    w_.bytes(v);
    return spill();
  }
  Flow on_zset_member(std::string_view m, double score) override {
    w_.begin_array();
    w_.bytes(m);
    w_.real(score);
    w_.end();
    return spill();
  }
  Flow on_hash_field(std::string_view f, std::string_view v, std::int64_t expire_ms) override {
    w_.begin_array();
    w_.bytes(f);
    w_.bytes(v);
    if (expire_ms != core::no_field_expire) w_.number(expire_ms);
    w_.end();
    return spill();
  }
  Flow on_stream_entry(core::StreamId id, std::span<const std::string_view> fields) override {
    w_.begin_array();
    w_.stream_id(id.ms, id.seq);
    w_.begin_array();
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      w_.begin_array();
      w_.bytes(fields[i]);
      w_.bytes(fields[i + 1]);
      w_.end();
    }
    w_.end();
    w_.end();
    return spill();
  }
  Flow on_stream_meta(const core::StreamMeta& m) override {
    w_.end();  // entries
    w_.key("length");
    w_.unsigned_number(m.length);
    w_.key("last_id");
    w_.stream_id(m.last_id.ms, m.last_id.seq);
    w_.key("first_id");
    optional_id(m.has_v2, m.first_id);
    w_.key("max_deleted_entry_id");
    optional_id(m.has_v2, m.max_deleted_id);
    w_.key("entries_added");
    if (m.has_v2) {
      w_.unsigned_number(m.entries_added);
    } else {
      w_.null();
    }
    w_.key("groups");
    w_.begin_array();
    return Flow::next;
  }
  Flow on_stream_group_begin(const core::StreamGroup& g) override {
    w_.begin_object();
    w_.key("name");
    w_.bytes(g.name);
    w_.key("last_delivered_id");
    w_.stream_id(g.last_id.ms, g.last_id.seq);
    w_.key("entries_read");
    if (g.entries_read) {
      w_.number(*g.entries_read);
    } else {
      w_.null();
    }
    w_.key("pending");
    w_.begin_array();
    in_group_pel_ = true;
    return Flow::next;
  }
  Flow on_stream_pending(const core::StreamPending& p) override {
    w_.begin_array();
    w_.stream_id(p.id.ms, p.id.seq);
    w_.number(p.delivery_time_ms);
    w_.unsigned_number(p.delivery_count);
    w_.end();
    return spill();
  }
  Flow on_stream_consumer_begin(const core::StreamConsumer& c) override {
    open_consumers();
    w_.begin_object();
    w_.key("name");
    w_.bytes(c.name);
    w_.key("seen_time_ms");
    w_.number(c.seen_time_ms);
    w_.key("active_time_ms");
    if (c.active_time_ms) {
      w_.number(*c.active_time_ms);
    } else {
      w_.null();
    }
    w_.key("pending");
    w_.begin_array();
    return Flow::next;
  }
  Flow on_stream_consumer_pending(core::StreamId id) override {
    w_.stream_id(id.ms, id.seq);
    return spill();
  }
  Flow on_stream_idmp_config(std::uint64_t duration, std::uint64_t max_entries) override {
    w_.end();  // groups
    w_.key("idmp");
    w_.begin_object();
    w_.key("duration_s");
    w_.unsigned_number(duration);
    w_.key("max_entries");
    w_.unsigned_number(max_entries);
    w_.key("entries");
    w_.begin_array();
    return Flow::next;
  }
  Flow on_stream_idmp_entry(std::string_view pid, std::string_view iid,
                            core::StreamId id) override {
    w_.begin_array();
    w_.bytes(pid);
    w_.bytes(iid);
    w_.stream_id(id.ms, id.seq);
    w_.end();
    return spill();
  }
  Flow on_stream_idmp_end(std::uint64_t added, std::uint64_t duplicates) override {
    w_.end();  // entries
    w_.key("iids_added");
    w_.unsigned_number(added);
    w_.key("iids_duplicates");
    w_.unsigned_number(duplicates);
    w_.end();
    return Flow::next;
  }
  Flow on_slot_import(std::string_view job, std::span<const core::RdbSlotRange> ranges) override {
    pending_db_line();
    begin_line("slot_import");
    w_.key("job");
    w_.bytes(job);
    w_.key("ranges");
    w_.begin_array();
    for (const core::RdbSlotRange& r : ranges) {
      w_.begin_array();
      w_.unsigned_number(r.start);
      w_.unsigned_number(r.end);
      w_.end();
    }
    w_.end();
    return end_line();
  }
  // An inline command of a forkless save (VALKEY RDB_OPCODE_UPDATE): a command line like the
  // stream's, marked "source": "rdb", without offsets.
  Flow on_rdb_command(std::uint64_t db, std::span<const std::string_view> args) override {
    pending_db_line();
    begin_line("command");
    w_.key("source");
    w_.ascii("rdb");
    w_.key("db");
    w_.unsigned_number(db);
    w_.key("command");
    lower_.assign(args[0]);
    for (char& c : lower_) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    w_.bytes(lower_);
    w_.key("args");
    w_.begin_array();
    for (std::size_t i = 1; i < args.size(); ++i) w_.bytes(args[i]);
    w_.end();
    return end_line();
  }
  Flow on_stream_consumer_end() override {
    w_.end();  // pending
    w_.end();  // consumer
    return Flow::next;
  }
  // A path hash: [[path, [[field, value], ...]], ...], paths in their saved (ascending) order.
  Flow on_path_hash_path(std::string_view path, std::uint64_t) override {
    if (in_path_) {
      w_.end();  // fields
      w_.end();  // [path, fields]
    }
    w_.begin_array();
    w_.bytes(path);
    w_.begin_array();
    in_path_ = true;
    return Flow::next;
  }
  // An array: {"insert_idx": N or null, "elements": [[index, value], ...]}.
  Flow on_array_meta(std::uint64_t, std::optional<std::uint64_t> insert) override {
    w_.key("insert_idx");
    if (insert) {
      w_.unsigned_number(*insert);
    } else {
      w_.null();
    }
    w_.key("elements");
    w_.begin_array();
    return Flow::next;
  }
  Flow on_array_element(std::uint64_t index, std::string_view value) override {
    w_.begin_array();
    w_.unsigned_number(index);
    w_.bytes(value);
    w_.end();
    return spill();
  }
  // A group's NACK zone (type 27): "nacked", the ids of its pending entries no consumer owns.
  Flow on_stream_nack(core::StreamId id) override {
    open_nacked();
    w_.stream_id(id.ms, id.seq);
    return spill();
  }
  Flow on_stream_group_end() override {
    if (nack_zones_) open_nacked();
    if (!in_nacked_) open_consumers();
    in_nacked_ = false;
    w_.end();  // consumers, or nacked
    w_.end();  // group
    return Flow::next;
  }
  void on_key_size(const core::KeySize& s) override { size_ = s; }
  // The value is complete: its size facts end the line.
  Flow on_key_end(const core::KeyInfo&) override {
    in_path_ = false;
    w_.close_to(1);
    w_.key("bytes");
    w_.unsigned_number(size_.bytes);
    w_.key("len");
    w_.unsigned_number(size_.len);
    w_.key("max_element");
    w_.unsigned_number(size_.max_element);
    w_.key("memory");
    w_.unsigned_number(size_.memory);
    return end_line();
  }

  Flow on_end(const core::EndInfo& e) override {
    summary_.end(e);
    pending_db_line();
    begin_line("end");
    summary_.write_json(w_);
    return end_line();
  }

  Flow on_failover(const Failover& f) override {
    begin_line("failover");
    if (!origin_) {
      w_.key("master_name");
      w_.bytes(f.master_name);
    }
    w_.key("from");
    w_.bytes(f.from);
    w_.key("to");
    w_.bytes(f.to);
    w_.key("ts");
    w_.number(f.ts_ms);
    return end_line();
  }
  Flow on_replication(const core::Event& e) override {
    switch (e.kind) {
      case core::Event::Kind::full_resync:
      case core::Event::Kind::partial_resync:
        replid_.assign(e.replid);
        begin_line("sync");
        w_.key("mode");
        w_.ascii(e.kind == core::Event::Kind::full_resync ? "full" : "partial");
        w_.key("replid");
        w_.ascii(e.replid);
        w_.key("offset");
        w_.number(e.offset);
        if (e.kind == core::Event::Kind::partial_resync) {
          w_.key("new_replid");
          w_.boolean(e.new_replid);
        }
        w_.key("ts");
        w_.number(e.ts_ms);
        return end_line();
      case core::Event::Kind::transfer_end:
        begin_line("snapshot_end");
        w_.key("replid");
        w_.ascii(replid_);
        w_.key("offset");
        w_.number(e.offset);
        w_.key("bytes");
        w_.unsigned_number(e.length);
        w_.key("ts");
        w_.number(e.ts_ms);
        return end_line();
      case core::Event::Kind::command: {
        begin_line("command");
        w_.key("offset");
        w_.number(e.offset);
        w_.key("end_offset");
        w_.number(e.end_offset);
        w_.key("db");
        if (e.db == core::unknown_db) {
          w_.null();
        } else {
          w_.unsigned_number(e.db);
        }
        w_.key("ts");
        w_.number(e.ts_ms);
        w_.key("command");
        lower_.assign(e.args[0]);
        for (char& c : lower_) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        w_.bytes(lower_);
        w_.key("args");
        w_.begin_array();
        for (std::size_t i = 1; i < e.args.size(); ++i) w_.bytes(e.args[i]);
        w_.end();
        if (origin_ && origin_->migration) {
          w_.key("migration");
          w_.boolean(true);
        }
        return end_line();
      }
      default:
        return Flow::next;
    }
  }

  void abort() override {
    if (w_.depth() > 0) {
      if (w_.awaiting_value()) w_.null();  // cut before a string value began
      w_.close_to(1);
      w_.key("incomplete");
      w_.boolean(true);
      end_line();
    }
    out_.flush();
  }

 private:
  void begin_line(std::string_view kind) {
    w_.retarget(out_.buffer());
    w_.begin_object();
    w_.key("kind");
    w_.ascii(kind);
    if (origin_) {
      w_.key("shard");
      w_.bytes(origin_->shard);
      w_.key("node");
      w_.bytes(origin_->node);
    }
  }
  Flow end_line() {
    w_.close_to(0);
    out_.buffer().push_back('\n');
    return line_done();
  }
  // SELECTDB and the RESIZEDB after it become one "db" line.
  void pending_db_line() {
    if (!db_pending_) return;
    db_pending_ = false;
    begin_line("db");
    w_.key("db");
    w_.unsigned_number(db_);
    if (resize_) {
      w_.key("size_hint");
      w_.begin_object();
      w_.key("keys");
      w_.unsigned_number(resize_keys_);
      w_.key("expires");
      w_.unsigned_number(resize_expires_);
      w_.end();
    }
    resize_ = false;
    end_line();
  }
  void module_fields(const core::ModuleInfo& m) {
    w_.key("module");
    w_.bytes(m.name);
    w_.key("module_version");
    w_.unsigned_number(m.version);
  }
  void optional_id(bool present, core::StreamId id) {
    if (present) {
      w_.stream_id(id.ms, id.seq);
    } else {
      w_.null();
    }
  }
  void open_nacked() {
    if (in_nacked_) return;
    open_consumers();
    in_nacked_ = true;
    w_.end();  // consumers
    w_.key("nacked");
    w_.begin_array();
  }
  void open_consumers() {
    if (!in_group_pel_) return;
    in_group_pel_ = false;
    w_.end();  // the group's pending list
    w_.key("consumers");
    w_.begin_array();
  }

  JsonWriter w_;
  core::KeySize size_;
  Spool spool_;
  Utf8Checker utf8_;
  std::uint64_t db_ = 0;
  bool db_pending_ = false;
  bool resize_ = false;
  std::uint64_t resize_keys_ = 0;
  std::uint64_t resize_expires_ = 0;
  bool in_group_pel_ = false;
  bool nack_zones_ = false;  // the stream's groups have NACK zones (type 27): "nacked" always
  bool in_nacked_ = false;
  bool in_path_ = false;  // a path hash path is open
  std::string replid_;
  std::string lower_;
};

}  // namespace

std::unique_ptr<Sink> make_json_sink(OutBuffer& out) { return std::make_unique<JsonSink>(out); }

bool parse_format(std::string_view name, Format& out) noexcept {
  if (name == "json") {
    out = Format::json;
  } else if (name == "human") {
    out = Format::human;
  } else if (name == "resp") {
    out = Format::resp;
  } else if (name == "keys") {
    out = Format::keys;
  } else if (name == "memory") {
    out = Format::memory;
  } else if (name == "report") {
    out = Format::report;
  } else {
    return false;
  }
  return true;
}

std::unique_ptr<Sink> make_sink(Format format, OutBuffer& out,
                                std::optional<ServerVersion> resp_target) {
  switch (format) {
    case Format::json:
      return make_sized_sink(make_json_sink(out), out);
    case Format::human:
      return make_sized_sink(make_human_sink(out), out);
    case Format::memory:
      return make_memory_sink(out);
    case Format::report:
      return make_report_sink(out, ReportOptions{});
    case Format::resp:
      return make_resp_sink(out, resp_target);
    case Format::keys:
      return make_keys_sink(out);
  }
  return make_json_sink(out);
}

}  // namespace redis_repl::formats
