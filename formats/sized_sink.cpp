// make_sized_sink: a key's size facts gathered on the way to a format, without a second pass.
#include "formats/sink.hpp"

namespace redis_repl::formats {
namespace {

using core::Flow;

class SizedSink final : public Sink {
 public:
  SizedSink(std::unique_ptr<Sink> inner, OutBuffer& out) : Sink(out), inner_(std::move(inner)) {}

  const Summary& summary() const noexcept override { return inner_->summary(); }
  std::uint64_t not_represented() const noexcept override { return inner_->not_represented(); }
  std::uint64_t metadata_dropped() const noexcept override { return inner_->metadata_dropped(); }
  const std::map<std::string, std::uint64_t>& dropped() const noexcept override {
    return inner_->dropped();
  }
  void abort() override { inner_->abort(); }
  void set_origin(const Origin* origin) override { inner_->set_origin(origin); }
  void set_shard_label(std::string shard, std::string node) override {
    inner_->set_shard_label(std::move(shard), std::move(node));
  }
  Flow on_replication(const core::Event& e) override { return inner_->on_replication(e); }
  Flow on_failover(const Failover& f) override { return inner_->on_failover(f); }

  Flow on_header(const core::Header& h) override { return inner_->on_header(h); }
  Flow on_aux(std::string_view f, std::string_view v) override {
    sizer_.aux(f, v);
    return inner_->on_aux(f, v);
  }
  Flow on_select_db(std::uint64_t db) override { return inner_->on_select_db(db); }
  Flow on_resize_db(std::uint64_t keys, std::uint64_t expires) override {
    return inner_->on_resize_db(keys, expires);
  }
  Flow on_slot_info(std::uint64_t slot, std::uint64_t keys, std::uint64_t expires) override {
    return inner_->on_slot_info(slot, keys, expires);
  }
  Flow on_function(std::string_view code, std::string_view description) override {
    return inner_->on_function(code, description);
  }
  Flow on_module_aux_begin(const core::ModuleInfo& m, std::uint64_t when) override {
    return inner_->on_module_aux_begin(m, when);
  }
  Flow on_module_aux_end() override { return inner_->on_module_aux_end(); }
  Flow on_slot_import(std::string_view job, std::span<const core::RdbSlotRange> r) override {
    return inner_->on_slot_import(job, r);
  }
  Flow on_rdb_command(std::uint64_t db, std::span<const std::string_view> args) override {
    return inner_->on_rdb_command(db, args);
  }
  Flow on_stream_idmp_config(std::uint64_t duration, std::uint64_t max_entries) override {
    return inner_->on_stream_idmp_config(duration, max_entries);
  }
  Flow on_stream_idmp_entry(std::string_view pid, std::string_view iid,
                            core::StreamId id) override {
    return inner_->on_stream_idmp_entry(pid, iid, id);
  }
  Flow on_stream_idmp_end(std::uint64_t added, std::uint64_t duplicates) override {
    return inner_->on_stream_idmp_end(added, duplicates);
  }

  Flow on_key_begin(const core::KeyInfo& k) override {
    sizer_.begin(k);
    return inner_->on_key_begin(k);
  }
  Flow on_string(std::string_view v) override {
    sizer_.string_value(v);
    return inner_->on_string(v);
  }
  Flow on_string_begin(std::uint64_t size) override {
    sizer_.string_begin(size);
    return inner_->on_string_begin(size);
  }
  Flow on_string_chunk(std::string_view part) override { return inner_->on_string_chunk(part); }
  Flow on_string_end() override { return inner_->on_string_end(); }
  Flow on_list_item(std::string_view item) override {
    sizer_.element(item);
    return inner_->on_list_item(item);
  }
  Flow on_set_member(std::string_view member) override {
    sizer_.element(member);
    return inner_->on_set_member(member);
  }
  Flow on_zset_member(std::string_view member, double score) override {
    sizer_.zset_member(member, score);
    return inner_->on_zset_member(member, score);
  }
  Flow on_hash_field(std::string_view f, std::string_view v, std::int64_t expire_ms) override {
    sizer_.hash_field(f, v);
    return inner_->on_hash_field(f, v, expire_ms);
  }
  Flow on_stream_entry(core::StreamId id, std::span<const std::string_view> fields) override {
    sizer_.stream_entry(id, fields);
    return inner_->on_stream_entry(id, fields);
  }
  Flow on_stream_meta(const core::StreamMeta& m) override {
    sizer_.stream_meta(m);
    return inner_->on_stream_meta(m);
  }
  Flow on_stream_group_begin(const core::StreamGroup& g) override {
    sizer_.stream_group(g);
    return inner_->on_stream_group_begin(g);
  }
  Flow on_stream_pending(const core::StreamPending& p) override {
    return inner_->on_stream_pending(p);
  }
  Flow on_stream_consumer_begin(const core::StreamConsumer& c) override {
    sizer_.stream_consumer(c);
    return inner_->on_stream_consumer_begin(c);
  }
  Flow on_stream_consumer_pending(core::StreamId id) override {
    return inner_->on_stream_consumer_pending(id);
  }
  Flow on_stream_consumer_end() override { return inner_->on_stream_consumer_end(); }
  Flow on_stream_group_end() override { return inner_->on_stream_group_end(); }
  Flow on_stream_nack(core::StreamId id) override { return inner_->on_stream_nack(id); }
  Flow on_path_hash_path(std::string_view path, std::uint64_t fields) override {
    return inner_->on_path_hash_path(path, fields);
  }
  Flow on_array_meta(std::uint64_t n, std::optional<std::uint64_t> insert) override {
    return inner_->on_array_meta(n, insert);
  }
  Flow on_array_element(std::uint64_t i, std::string_view v) override {
    sizer_.element(v);
    return inner_->on_array_element(i, v);
  }
  Flow on_module_op(const core::ModuleOp& op) override { return inner_->on_module_op(op); }
  Flow on_blob(const core::BlobFacts& b) override {
    sizer_.blob(b);
    return inner_->on_blob(b);
  }
  Flow on_key_end(const core::KeyInfo& k) override {
    inner_->on_key_size(sizer_.end(k, k.end_offset));
    return inner_->on_key_end(k);
  }
  Flow on_end(const core::EndInfo& e) override { return inner_->on_end(e); }

 private:
  std::unique_ptr<Sink> inner_;
  core::KeySizer sizer_;
};

}  // namespace

std::unique_ptr<Sink> make_sized_sink(std::unique_ptr<Sink> inner, OutBuffer& out) {
  return std::make_unique<SizedSink>(std::move(inner), out);
}

}  // namespace redis_repl::formats
