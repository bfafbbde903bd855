// core/rdb_filter.hpp — key selection shared by every subcommand: --db, --match, --type.
//
// A KeyFilter answers "does the user want this key"; FilterVisitor wraps a visitor and skips the
// keys the filter rejects (their values are still parsed and verified, but not reported).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/rdb_visitor.hpp"

namespace redis_repl::core {

struct KeyFilter {
  std::vector<std::uint64_t> dbs;  // empty: every db
  std::vector<std::string> globs;  // empty: every key; several: any of them
  std::vector<ValueType> types;    // empty: every type

  bool empty() const noexcept { return dbs.empty() && globs.empty() && types.empty(); }
  bool wants_db(std::uint64_t db) const noexcept;
  bool wants(std::uint64_t db, std::string_view key, ValueType type) const noexcept;
};

// Forwards every call to the inner visitor, except keys the filter rejects.
class FilterVisitor : public RdbVisitor {
 public:
  FilterVisitor(const KeyFilter& filter, RdbVisitor& inner) : filter_(filter), inner_(inner) {}

  Flow on_header(const Header& h) override { return inner_.on_header(h); }
  Flow on_aux(std::string_view f, std::string_view v) override { return inner_.on_aux(f, v); }
  Flow on_select_db(std::uint64_t db) override;
  Flow on_resize_db(std::uint64_t k, std::uint64_t e) override;
  Flow on_slot_info(std::uint64_t s, std::uint64_t k, std::uint64_t e) override;
  Flow on_function(std::string_view code, std::string_view d) override {
    return inner_.on_function(code, d);
  }
  Flow on_module_aux_begin(const ModuleInfo& m, std::uint64_t when) override {
    return inner_.on_module_aux_begin(m, when);
  }
  Flow on_module_aux_end() override { return inner_.on_module_aux_end(); }
  Flow on_slot_import(std::string_view job, std::span<const RdbSlotRange> r) override {
    return inner_.on_slot_import(job, r);
  }
  // An inline command belongs to its db: kept when that db is.
  Flow on_rdb_command(std::uint64_t db, std::span<const std::string_view> args) override {
    return db_wanted_ ? inner_.on_rdb_command(db, args) : Flow::next;
  }
  Flow on_stream_idmp_config(std::uint64_t duration, std::uint64_t max_entries) override {
    return inner_.on_stream_idmp_config(duration, max_entries);
  }
  Flow on_stream_idmp_entry(std::string_view pid, std::string_view iid, StreamId id) override {
    return inner_.on_stream_idmp_entry(pid, iid, id);
  }
  Flow on_stream_idmp_end(std::uint64_t added, std::uint64_t duplicates) override {
    return inner_.on_stream_idmp_end(added, duplicates);
  }
  Flow on_key_begin(const KeyInfo& k) override;
  Flow on_string(std::string_view v) override { return inner_.on_string(v); }
  Flow on_string_begin(std::uint64_t n) override { return inner_.on_string_begin(n); }
  Flow on_string_chunk(std::string_view v) override { return inner_.on_string_chunk(v); }
  Flow on_string_end() override { return inner_.on_string_end(); }
  Flow on_list_item(std::string_view v) override { return inner_.on_list_item(v); }
  Flow on_set_member(std::string_view v) override { return inner_.on_set_member(v); }
  Flow on_zset_member(std::string_view m, double s) override { return inner_.on_zset_member(m, s); }
  Flow on_hash_field(std::string_view f, std::string_view v, std::int64_t e) override {
    return inner_.on_hash_field(f, v, e);
  }
  Flow on_stream_entry(StreamId id, std::span<const std::string_view> f) override {
    return inner_.on_stream_entry(id, f);
  }
  Flow on_stream_meta(const StreamMeta& m) override { return inner_.on_stream_meta(m); }
  Flow on_stream_group_begin(const StreamGroup& g) override {
    return inner_.on_stream_group_begin(g);
  }
  Flow on_stream_pending(const StreamPending& p) override { return inner_.on_stream_pending(p); }
  Flow on_stream_consumer_begin(const StreamConsumer& c) override {
    return inner_.on_stream_consumer_begin(c);
  }
  Flow on_stream_nack(StreamId id) override { return inner_.on_stream_nack(id); }
  Flow on_path_hash_path(std::string_view path, std::uint64_t fields) override {
    return inner_.on_path_hash_path(path, fields);
  }
  Flow on_array_meta(std::uint64_t n, std::optional<std::uint64_t> insert) override {
    return inner_.on_array_meta(n, insert);
  }
  Flow on_array_element(std::uint64_t i, std::string_view v) override {
    return inner_.on_array_element(i, v);
  }
  Flow on_stream_consumer_pending(StreamId id) override {
    return inner_.on_stream_consumer_pending(id);
  }
  Flow on_stream_consumer_end() override { return inner_.on_stream_consumer_end(); }
  Flow on_stream_group_end() override { return inner_.on_stream_group_end(); }
  Flow on_module_op(const ModuleOp& op) override { return inner_.on_module_op(op); }
  Flow on_blob(const BlobFacts& b) override { return inner_.on_blob(b); }
  Flow on_key_end(const KeyInfo& k) override { return inner_.on_key_end(k); }
  Flow on_end(const EndInfo& e) override { return inner_.on_end(e); }

 private:
  const KeyFilter& filter_;
  RdbVisitor& inner_;
  bool db_wanted_ = true;
};

}  // namespace redis_repl::core
