// tests/fuzz/rdb_recorder.hpp — an RdbVisitor that writes every call as a line, for comparing two
// parses of the same bytes, and checks the order of calls the visitor contract promises.
//
// A string value is one line however it arrives (whole, or as begin/chunk/end pieces whose
// boundaries depend on how the input was split). With a policy, the recorder answers some calls
// with Flow::stop and skips some keys; the answers depend only on the call itself, so every
// split of the same input gets the same ones.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/rdb_visitor.hpp"
#include "fuzz_support.hpp"

namespace redis_repl::fuzz {

class RdbRecorder : public core::RdbVisitor {
 public:
  using Flow = core::Flow;

  explicit RdbRecorder(bool policy = false, std::uint64_t seed = 0)
      : policy_(policy), seed_(seed) {}

  std::string log;

  Flow on_header(const core::Header& h) override {
    return top("header " + std::to_string(h.valkey) + " " + std::to_string(h.version));
  }
  Flow on_aux(std::string_view f, std::string_view v) override {
    return top("aux " + text(f) + " " + text(v));
  }
  Flow on_select_db(std::uint64_t db) override { return top("select " + std::to_string(db)); }
  Flow on_resize_db(std::uint64_t k, std::uint64_t e) override {
    return top("resize " + std::to_string(k) + " " + std::to_string(e));
  }
  Flow on_slot_info(std::uint64_t s, std::uint64_t k, std::uint64_t e) override {
    return top("slot " + std::to_string(s) + " " + std::to_string(k) + " " + std::to_string(e));
  }
  Flow on_function(std::string_view code, std::string_view d) override {
    return top("function " + text(code) + " " + text(d));
  }
  Flow on_module_aux_begin(const core::ModuleInfo& m, std::uint64_t when) override {
    Flow f = top("module-aux " + module(m) + " when=" + std::to_string(when));
    in_aux_ = true;
    return f;
  }
  Flow on_module_aux_end() override {
    FUZZ_CHECK(in_aux_);
    in_aux_ = false;
    return add("module-aux-end");
  }

  Flow on_key_begin(const core::KeyInfo& k) override {
    FUZZ_CHECK(!in_key_ && !in_aux_ && !in_string_);
    std::string line = "key " + std::to_string(k.db) + " " + text(k.key) + " " +
                       std::to_string(static_cast<int>(k.rdb_type)) + "/" +
                       std::to_string(static_cast<int>(k.type)) +
                       " expire=" + (k.expire_ms ? std::to_string(*k.expire_ms) : "-") +
                       " idle=" + (k.idle_s ? std::to_string(*k.idle_s) : "-") +
                       " freq=" + (k.freq ? std::to_string(*k.freq) : "-") +
                       " at=" + std::to_string(k.offset);
    if (k.type == core::ValueType::module) line += " " + module(k.module);
    if (policy_ && (hash_bytes(line) ^ seed_) % 5 == 0) {
      add(line + " skipped");
      return Flow::skip;  // no element calls and no on_key_end follow
    }
    in_key_ = true;
    key_ = k.key;
    const Flow f = add(line);
    // Some keys ask for blob facts instead of elements (on_key_end still follows).
    if (f == Flow::next && policy_ && (hash_bytes(line) ^ seed_) % 5 == 1) {
      add("facts");
      return Flow::facts;
    }
    return f;
  }
  Flow on_string(std::string_view v) override {
    FUZZ_CHECK(in_key_ && !in_string_);
    return add("string " + text(v));
  }
  // A streamed value is recorded as the one string line it adds up to.
  Flow on_string_begin(std::uint64_t size) override {
    FUZZ_CHECK(in_key_ && !in_string_);
    in_string_ = true;
    string_size_ = size;
    string_.clear();
    return pause("string-begin " + std::to_string(size));
  }
  Flow on_string_chunk(std::string_view part) override {
    FUZZ_CHECK(in_string_);
    FUZZ_CHECK(part.size() <= string_size_ - string_.size());
    string_.append(part);
    return pause("chunk " + std::string(part));
  }
  Flow on_string_end() override {
    FUZZ_CHECK(in_string_);
    FUZZ_CHECK_MSG(string_.size() == string_size_,
                   "streamed string of " + std::to_string(string_size_) +
                       " bytes: " + std::to_string(string_.size()) + " came");
    in_string_ = false;
    return add("string " + text(string_));
  }
  Flow on_list_item(std::string_view v) override { return element("list " + text(v)); }
  Flow on_set_member(std::string_view v) override { return element("set " + text(v)); }
  Flow on_zset_member(std::string_view m, double s) override {
    char score[40];
    std::snprintf(score, sizeof score, "%.17g", s);
    return element("zset " + text(m) + " " + score);
  }
  Flow on_hash_field(std::string_view f, std::string_view v, std::int64_t e) override {
    return element("hash " + text(f) + " " + text(v) + " " + std::to_string(e));
  }
  Flow on_stream_entry(core::StreamId i, std::span<const std::string_view> fields) override {
    std::string line = "entry " + id(i);
    for (std::string_view f : fields) line += " " + text(f);
    return element(line);
  }
  Flow on_stream_meta(const core::StreamMeta& m) override {
    return element("meta " + std::to_string(m.length) + " " + id(m.last_id) + " " +
                   std::to_string(m.has_v2) + " " + id(m.first_id) + " " + id(m.max_deleted_id) +
                   " " + std::to_string(m.entries_added) + " " + std::to_string(m.groups));
  }
  Flow on_stream_group_begin(const core::StreamGroup& g) override {
    return element("group " + text(g.name) + " " + id(g.last_id) + " " +
                   (g.entries_read ? std::to_string(*g.entries_read) : "-") + " " +
                   std::to_string(g.pending));
  }
  Flow on_stream_pending(const core::StreamPending& p) override {
    return element("pending " + id(p.id) + " " + std::to_string(p.delivery_time_ms) + " " +
                   std::to_string(p.delivery_count));
  }
  Flow on_stream_consumer_begin(const core::StreamConsumer& c) override {
    return element("consumer " + text(c.name) + " " + std::to_string(c.seen_time_ms) + " " +
                   (c.active_time_ms ? std::to_string(*c.active_time_ms) : "-") + " " +
                   std::to_string(c.pending));
  }
  Flow on_stream_consumer_pending(core::StreamId i) override {
    return element("consumer-pending " + id(i));
  }
  Flow on_stream_consumer_end() override { return element("consumer-end"); }
  Flow on_stream_group_end() override { return element("group-end"); }
  Flow on_stream_nack(core::StreamId i) override { return element("nack " + id(i)); }
  Flow on_path_hash_path(std::string_view path, std::uint64_t fields) override {
    return element("path " + text(path) + " " + std::to_string(fields));
  }
  Flow on_array_meta(std::uint64_t n, std::optional<std::uint64_t> insert) override {
    return element("array " + std::to_string(n) + " " +
                   (insert ? std::to_string(*insert) : std::string("-")));
  }
  Flow on_array_element(std::uint64_t i, std::string_view v) override {
    return element("array-element " + std::to_string(i) + " " + text(v));
  }
  Flow on_module_op(const core::ModuleOp& op) override {
    FUZZ_CHECK((in_key_ || in_aux_) && !in_string_);
    char d[40];
    std::snprintf(d, sizeof d, "%.17g", op.d);
    return add("op " + std::to_string(static_cast<int>(op.kind)) + " " + std::to_string(op.u) +
               " " + d + " " + text(op.str) + " " + text(op.raw));
  }
  Flow on_blob(const core::BlobFacts& b) override {
    FUZZ_CHECK(in_key_ && !in_string_);
    FUZZ_CHECK(!b.plain || (b.records == 1 && b.max_len == b.bytes));
    return add("blob " + std::to_string(b.bytes) + " " + std::to_string(b.records) + " " +
               std::to_string(b.max_len) + (b.plain ? " plain" : ""));
  }
  Flow on_key_end(const core::KeyInfo& k) override {
    FUZZ_CHECK(in_key_ && !in_string_);
    FUZZ_CHECK(k.key == key_);
    in_key_ = false;
    return add("key-end");
  }
  Flow on_end(const core::EndInfo& e) override {
    FUZZ_CHECK(!in_key_ && !in_aux_ && !ended_);
    ended_ = true;
    return add("end " + std::to_string(e.version) + " " + std::to_string(e.bytes) + " " +
               std::to_string(e.has_checksum) + " " + std::to_string(e.stored_crc) + " " +
               std::to_string(e.computed_crc));
  }

 private:
  static std::string text(std::string_view s) {
    return std::to_string(s.size()) + ":" + std::string(s);
  }
  static std::string id(core::StreamId i) {
    return std::to_string(i.ms) + "-" + std::to_string(i.seq);
  }
  static std::string module(const core::ModuleInfo& m) {
    return "module=" + std::to_string(m.id) + "/" + std::string(m.name) + "/" +
           std::to_string(m.version);
  }
  // Records a line; now and then asks the parser to pause there.
  Flow add(const std::string& line) {
    log += line;
    log += '\n';
    return pause(line);
  }
  // Now and then asks the parser to pause: the answer depends on the call alone.
  Flow pause(std::string_view what) const {
    if (policy_ && (hash_bytes(what) ^ seed_) % 11 == 0) return Flow::stop;
    return Flow::next;
  }
  Flow top(const std::string& line) {
    FUZZ_CHECK(!in_key_ && !in_string_);
    return add(line);
  }
  Flow element(const std::string& line) {
    FUZZ_CHECK(in_key_ && !in_string_);
    return add(line);
  }

  bool policy_;
  std::uint64_t seed_;
  bool in_key_ = false;
  bool in_aux_ = false;
  bool in_string_ = false;
  bool ended_ = false;
  std::string key_;
  std::uint64_t string_size_ = 0;
  std::string string_;
};

}  // namespace redis_repl::fuzz
