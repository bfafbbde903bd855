// Human text: a line per key (strings inline), indented lines for elements, redis-cli quoting.
#include <string>

#include "core/bytes.hpp"
#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

using core::Flow;

void append_id(std::string& out, core::StreamId id) {
  append_uint(out, id.ms);
  out.push_back('-');
  append_uint(out, id.seq);
}

class HumanSink final : public Sink {
 public:
  explicit HumanSink(OutBuffer& out) : Sink(out), b_(out.buffer()) {}

  Flow on_header(const core::Header& h) override {
    summary_.header(h);
    b_.append(h.valkey ? "VALKEY RDB version " : "RDB version ");
    append_int(b_, h.version);
    return nl();
  }
  Flow on_slot_import(std::string_view job, std::span<const core::RdbSlotRange> ranges) override {
    b_.append("slot import ");
    append_repr(b_, job);
    for (const core::RdbSlotRange& r : ranges) {
      b_.append(" ");
      append_uint(b_, r.start);
      b_.append("-");
      append_uint(b_, r.end);
    }
    return nl();
  }
  Flow on_rdb_command(std::uint64_t db, std::span<const std::string_view> args) override {
    b_.append("command (inline, db ");
    append_uint(b_, db);
    b_.append(")");
    for (std::string_view a : args) {
      b_.append(" ");
      append_repr(b_, a);
    }
    return nl();
  }
  Flow on_stream_idmp_config(std::uint64_t duration, std::uint64_t max_entries) override {
    b_.append("  idmp duration ");
    append_uint(b_, duration);
    b_.append("s, max entries ");
    append_uint(b_, max_entries);
    return nl();
  }
  Flow on_stream_idmp_entry(std::string_view pid, std::string_view iid,
                            core::StreamId id) override {
    b_.append("    idmp ");
    append_repr(b_, pid);
    b_.append(" ");
    append_repr(b_, iid);
    b_.append(" => ");
    append_uint(b_, id.ms);
    b_.append("-");
    append_uint(b_, id.seq);
    return nl();
  }
  Flow on_aux(std::string_view field, std::string_view value) override {
    b_.append("aux ");
    append_repr(b_, field);
    b_.append(" = ");
    append_repr(b_, value);
    return nl();
  }
  Flow on_select_db(std::uint64_t db) override {
    b_.append("db ");
    append_uint(b_, db);
    return nl();
  }
  Flow on_resize_db(std::uint64_t keys, std::uint64_t expires) override {
    b_.append("  size hint: ");
    append_uint(b_, keys);
    b_.append(" keys, ");
    append_uint(b_, expires);
    b_.append(" with expiry");
    return nl();
  }
  Flow on_slot_info(std::uint64_t slot, std::uint64_t keys, std::uint64_t expires) override {
    b_.append("slot ");
    append_uint(b_, slot);
    b_.append(": ");
    append_uint(b_, keys);
    b_.append(" keys, ");
    append_uint(b_, expires);
    b_.append(" with expiry");
    return nl();
  }
  Flow on_function(std::string_view code, std::string_view description) override {
    summary_.function();
    b_.append("function ");
    append_repr(b_, code);
    if (!description.empty()) {
      b_.append(" description ");
      append_repr(b_, description);
    }
    return nl();
  }
  Flow on_module_aux_begin(const core::ModuleInfo& m, std::uint64_t when) override {
    summary_.module_aux();
    b_.append("module aux ");
    b_.append(m.name);
    b_.append(" version ");
    append_uint(b_, m.version);
    b_.append(when == 1 ? " (before keys)" : when == 2 ? " (after keys)" : "");
    return nl();
  }
  Flow on_module_op(const core::ModuleOp& op) override {
    b_.append("  ");
    switch (op.kind) {
      case core::ModuleOp::sint:
        b_.append("sint ");
        append_int(b_, static_cast<std::int64_t>(op.u));
        break;
      case core::ModuleOp::uint:
        b_.append("uint ");
        append_uint(b_, op.u);
        break;
      case core::ModuleOp::float32:
      case core::ModuleOp::float64:
        b_.append(op.kind == core::ModuleOp::float32 ? "float " : "double ");
        append_double(b_, op.d);
        break;
      case core::ModuleOp::string:
        b_.append("string ");
        append_repr(b_, op.str);
        break;
    }
    return nl();
  }

  Flow on_key_begin(const core::KeyInfo& k) override {
    summary_.key(k);
    n_ = 0;
    b_.append(core::type_name(k.type));
    b_.push_back(' ');
    append_repr(b_, k.key);
    b_.append(" (");
    b_.append(core::encoding_name(k.rdb_type));
    if (k.type == core::ValueType::module) {
      b_.push_back(' ');
      b_.append(k.module.name);
      b_.append(" v");
      append_uint(b_, k.module.version);
    }
    b_.push_back(')');
    if (k.expire_ms) {
      b_.append(" expires ");
      append_time_ms(b_, *k.expire_ms);
    }
    if (k.idle_s) {
      b_.append(" idle ");
      append_uint(b_, *k.idle_s);
      b_.push_back('s');
    }
    if (k.freq) {
      b_.append(" freq ");
      append_uint(b_, *k.freq);
    }
    for (const core::KeyMetaClass& m : k.meta) {
      b_.append(" meta ");
      append_repr(b_, m.name);
      b_.append(" v");
      append_uint(b_, m.version);
      b_.append(" (");
      append_uint(b_, m.ops.size());
      b_.append(" bytes)");
    }
    if (k.type == core::ValueType::string) {
      b_.append(" = ");
      return Flow::next;
    }
    return nl();
  }
  Flow on_string(std::string_view v) override {
    append_repr(b_, v);
    return Flow::next;
  }
  Flow on_string_begin(std::uint64_t) override {
    b_.push_back('"');
    return Flow::next;
  }
  Flow on_string_chunk(std::string_view part) override {
    append_repr_body(b_, part);
    return spill();
  }
  Flow on_string_end() override {
    b_.push_back('"');
    return Flow::next;
  }
  Flow on_list_item(std::string_view v) override {
    b_.append("  ");
    append_uint(b_, ++n_);
    b_.append(") ");
    append_repr(b_, v);
    return nl();
  }
  Flow on_set_member(std::string_view v) override {
    b_.append("  ");
    append_repr(b_, v);
    return nl();
  }
  Flow on_zset_member(std::string_view m, double score) override {
    b_.append("  ");
    append_repr(b_, m);
    b_.append(" score ");
    append_double(b_, score);
    return nl();
  }
  // A path hash: each path on a line, its fields under it.
  Flow on_path_hash_path(std::string_view path, std::uint64_t fields) override {
    b_.append("  path ");
    append_repr(b_, path);
    b_.append(" (");
    append_uint(b_, fields);
    b_.append(fields == 1 ? " field)" : " fields)");
    in_path_ = true;
    return nl();
  }
  Flow on_hash_field(std::string_view f, std::string_view v, std::int64_t expire_ms) override {
    b_.append(in_path_ ? "    " : "  ");
    append_repr(b_, f);
    b_.append(" => ");
    append_repr(b_, v);
    if (expire_ms != core::no_field_expire) {
      b_.append(" expires ");
      append_time_ms(b_, expire_ms);
    }
    return nl();
  }
  Flow on_stream_entry(core::StreamId id, std::span<const std::string_view> fields) override {
    b_.append("  ");
    append_id(b_, id);
    for (std::string_view f : fields) {
      b_.push_back(' ');
      append_repr(b_, f);
    }
    return nl();
  }
  Flow on_stream_meta(const core::StreamMeta& m) override {
    b_.append("  length ");
    append_uint(b_, m.length);
    b_.append(", last id ");
    append_id(b_, m.last_id);
    if (m.has_v2) {
      b_.append(", first id ");
      append_id(b_, m.first_id);
      b_.append(", max deleted id ");
      append_id(b_, m.max_deleted_id);
      b_.append(", entries added ");
      append_uint(b_, m.entries_added);
    }
    b_.append(", ");
    append_uint(b_, m.groups);
    b_.append(m.groups == 1 ? " group" : " groups");
    return nl();
  }
  Flow on_stream_group_begin(const core::StreamGroup& g) override {
    b_.append("  group ");
    append_repr(b_, g.name);
    b_.append(" last delivered ");
    append_id(b_, g.last_id);
    if (g.entries_read) {
      b_.append(", entries read ");
      append_int(b_, *g.entries_read);
    }
    b_.append(", ");
    append_uint(b_, g.pending);
    b_.append(" pending");
    return nl();
  }
  Flow on_stream_pending(const core::StreamPending& p) override {
    b_.append("    pending ");
    append_id(b_, p.id);
    b_.append(" delivered ");
    append_time_ms(b_, p.delivery_time_ms);
    b_.append(", ");
    append_uint(b_, p.delivery_count);
    b_.append(p.delivery_count == 1 ? " time" : " times");
    return nl();
  }
  Flow on_stream_consumer_begin(const core::StreamConsumer& c) override {
    b_.append("    consumer ");
    append_repr(b_, c.name);
    b_.append(" seen ");
    append_time_ms(b_, c.seen_time_ms);
    if (c.active_time_ms) {
      b_.append(", active ");
      append_time_ms(b_, *c.active_time_ms);
    }
    b_.append(", ");
    append_uint(b_, c.pending);
    b_.append(" pending");
    return nl();
  }
  Flow on_stream_consumer_pending(core::StreamId id) override {
    b_.append("      ");
    append_id(b_, id);
    return nl();
  }
  Flow on_array_meta(std::uint64_t, std::optional<std::uint64_t> insert) override {
    if (!insert) return Flow::next;
    b_.append("  insert index ");
    append_uint(b_, *insert);
    return nl();
  }
  Flow on_array_element(std::uint64_t index, std::string_view value) override {
    b_.append("  [");
    append_uint(b_, index);
    b_.append("] ");
    append_repr(b_, value);
    return nl();
  }
  Flow on_stream_nack(core::StreamId id) override {
    b_.append("    nacked ");
    append_id(b_, id);
    return nl();
  }
  void on_key_size(const core::KeySize& s) override { size_ = s; }
  // The size facts: after a string's value, on a line of their own after other values' elements.
  Flow on_key_end(const core::KeyInfo&) override {
    in_path_ = false;
    b_.append("  [bytes ");
    append_uint(b_, size_.bytes);
    b_.append(", len ");
    append_uint(b_, size_.len);
    b_.append(", max_element ");
    append_uint(b_, size_.max_element);
    b_.append(", memory ");
    append_uint(b_, size_.memory);
    b_.append("]");
    return nl();
  }
  Flow on_end(const core::EndInfo& e) override {
    summary_.end(e);
    summary_.write_human(b_);
    return line_done();
  }
  Flow on_failover(const Failover& f) override {
    b_.append("# ");
    append_time_ms(b_, f.ts_ms);
    if (origin_) {
      b_.append(" failover: shard ");
      append_repr_body(b_, origin_->shard);
    } else {
      b_.append(" failover: master ");
      append_repr(b_, f.master_name);
    }
    b_.append(" moved from ");
    append_repr_body(b_, f.from);
    b_.append(" to ");
    append_repr_body(b_, f.to);
    return nl();
  }
  Flow on_replication(const core::Event& e) override {
    using K = core::Event::Kind;
    if (origin_ && (e.kind == K::full_resync || e.kind == K::partial_resync ||
                    e.kind == K::transfer_end || e.kind == K::command))
      shard_label();
    switch (e.kind) {
      case core::Event::Kind::full_resync:
        b_.append("# ");
        append_time_ms(b_, e.ts_ms);
        b_.append(" full resync: replid ");
        b_.append(e.replid);
        b_.append(", offset ");
        append_int(b_, e.offset);
        return nl();
      case core::Event::Kind::partial_resync:
        b_.append("# ");
        append_time_ms(b_, e.ts_ms);
        b_.append(" partial resync: replid ");
        b_.append(e.replid);
        b_.append(e.new_replid ? " (new)" : "");
        b_.append(", continuing after offset ");
        append_int(b_, e.offset);
        return nl();
      case core::Event::Kind::transfer_end:
        b_.append("# ");
        append_time_ms(b_, e.ts_ms);
        b_.append(" snapshot loaded (");
        append_uint(b_, e.length);
        b_.append(" bytes); the stream starts after offset ");
        append_int(b_, e.offset);
        return nl();
      case core::Event::Kind::command:
        append_time_ms(b_, e.ts_ms);
        b_.push_back(' ');
        append_int(b_, e.offset);
        if (e.db == core::unknown_db) {
          b_.append(" db?");
        } else {
          b_.append(" db");
          append_uint(b_, e.db);
        }
        for (std::string_view a : e.args) {
          b_.push_back(' ');
          append_repr(b_, a);
        }
        if (origin_ && origin_->migration) b_.append("  [migration]");
        return nl();
      default:
        return Flow::next;
    }
  }
  void abort() override {
    if (!b_.empty() && b_.back() != '\n') b_.append(" [incomplete]\n");
    out_.flush();
  }

 private:
  // --cluster: "[<first 8 characters of the shard id>] " before a line of the feed.
  void shard_label() {
    b_.push_back('[');
    append_repr_body(b_, origin_->shard.substr(0, 8));
    b_.append("] ");
  }
  Flow nl() {
    b_.push_back('\n');
    return line_done();
  }

  std::string& b_;
  std::uint64_t n_ = 0;
  bool in_path_ = false;  // a path hash's fields follow their path
  core::KeySize size_;
};

}  // namespace

std::unique_ptr<Sink> make_human_sink(OutBuffer& out) { return std::make_unique<HumanSink>(out); }

}  // namespace redis_repl::formats
