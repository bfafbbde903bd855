#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::test {

namespace fs = std::filesystem;
using core::Flow;

std::string fixtures_dir() { return REDIS_REPL_SOURCE_DIR "/../shared/fixtures/rdb"; }

bool corpus_missing() {
  std::error_code ec;
  if (std::filesystem::is_directory(fixtures_dir(), ec)) return false;
  const char* ci = std::getenv("CI");
  if (ci && std::string_view(ci) == "true") {
    FAIL_CHECK("the shared RDB corpus is absent (" << fixtures_dir() << "), and CI has it");
  } else {
    MESSAGE(
        "skipped: the shared RDB corpus is absent (../shared/fixtures/rdb beside the "
        "checkout)");
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

bool file_exists(const std::string& path) { return fs::exists(path); }

std::string base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string truth_bytes(std::string_view s) {
  constexpr std::string_view prefix = "base64:";
  if (s.starts_with(prefix)) return base64_decode(s.substr(prefix.size()));
  return std::string(s);
}

std::vector<std::string> all_rdb_fixtures() {
  std::vector<std::string> out;
  const fs::path root = fixtures_dir();
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && e.path().extension() == ".rdb")
      out.push_back(fs::relative(e.path(), root).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::string q(std::string_view s) {
  std::string out;
  formats::append_repr(out, s);
  return out;
}
std::string id(core::StreamId i) { return std::to_string(i.ms) + "-" + std::to_string(i.seq); }

std::string meta_text(const core::KeyInfo& k) {
  std::string out;
  for (const core::KeyMetaClass& m : k.meta)
    out += " meta=" + std::string(m.name) + "/v" + std::to_string(m.version) + "/f" +
           std::to_string(m.flags) + "/" + q(m.ops);
  return out;
}
std::string dbl(double d) {
  std::string s;
  formats::append_double(s, d);
  return s;
}

}  // namespace

Flow RecordingVisitor::on_header(const core::Header& h) {
  log += "header " + std::to_string(h.version) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_aux(std::string_view f, std::string_view v) {
  log += "aux " + q(f) + " " + q(v) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_select_db(std::uint64_t db) {
  log += "select " + std::to_string(db) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_resize_db(std::uint64_t k, std::uint64_t e) {
  log += "resize " + std::to_string(k) + " " + std::to_string(e) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_slot_info(std::uint64_t s, std::uint64_t k, std::uint64_t e) {
  log += "slot " + std::to_string(s) + " " + std::to_string(k) + " " + std::to_string(e) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_function(std::string_view code, std::string_view description) {
  log += "function " + q(code) + " " + q(description) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_module_aux_begin(const core::ModuleInfo& m, std::uint64_t when) {
  log += "module_aux " + std::string(m.name) + " " + std::to_string(m.version) + " " +
         std::to_string(when) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_module_aux_end() {
  log += "module_aux_end\n";
  return Flow::next;
}
Flow RecordingVisitor::on_slot_import(std::string_view job, std::span<const core::RdbSlotRange> r) {
  log += "slot_import " + q(job);
  for (const core::RdbSlotRange& x : r)
    log += " " + std::to_string(x.start) + "-" + std::to_string(x.end);
  log += "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_rdb_command(std::uint64_t db, std::span<const std::string_view> args) {
  log += "command db=" + std::to_string(db);
  for (std::string_view a : args) log += " " + q(a);
  log += "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_idmp_config(std::uint64_t duration, std::uint64_t max_entries) {
  log += "  idmp " + std::to_string(duration) + " " + std::to_string(max_entries) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_idmp_entry(std::string_view pid, std::string_view iid,
                                            core::StreamId i) {
  log += "    idmp_entry " + q(pid) + " " + q(iid) + " " + id(i) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_idmp_end(std::uint64_t added, std::uint64_t duplicates) {
  log += "  idmp_end " + std::to_string(added) + " " + std::to_string(duplicates) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_key_begin(const core::KeyInfo& k) {
  log += "key " + std::to_string(k.db) + " " + q(k.key) + " " +
         std::to_string(static_cast<int>(k.rdb_type)) +
         " expire=" + (k.expire_ms ? std::to_string(*k.expire_ms) : "-") +
         " idle=" + (k.idle_s ? std::to_string(*k.idle_s) : "-") +
         " freq=" + (k.freq ? std::to_string(*k.freq) : "-") + meta_text(k) +
         " at=" + std::to_string(k.offset) +
         (k.type == core::ValueType::module ? " module=" + std::string(k.module.name) : "") + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_string(std::string_view v) {
  log += "  string " + q(v) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_string_begin(std::uint64_t size) {
  ++streamed_strings;
  pending_.clear();
  pending_size_ = size;
  return Flow::next;
}
Flow RecordingVisitor::on_string_chunk(std::string_view part) {
  ++string_chunks;
  if (part.empty()) log += "  EMPTY STRING CHUNK\n";
  pending_.append(part);
  return Flow::next;
}
Flow RecordingVisitor::on_string_end() {
  if (pending_.size() != pending_size_)
    log += "  STREAMED STRING SIZE " + std::to_string(pending_.size()) +
           " != " + std::to_string(pending_size_) + "\n";
  return on_string(pending_);
}
Flow RecordingVisitor::on_list_item(std::string_view v) {
  log += "  item " + q(v) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_set_member(std::string_view v) {
  log += "  member " + q(v) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_zset_member(std::string_view m, double s) {
  log += "  zmember " + q(m) + " " + dbl(s) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_hash_field(std::string_view f, std::string_view v, std::int64_t e) {
  log += "  field " + q(f) + " " + q(v) + " " + std::to_string(e) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_entry(core::StreamId i, std::span<const std::string_view> f) {
  log += "  entry " + id(i);
  for (std::string_view x : f) log += " " + q(x);
  log += "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_meta(const core::StreamMeta& m) {
  log += "  meta len=" + std::to_string(m.length) + " last=" + id(m.last_id) +
         (m.has_v2 ? " first=" + id(m.first_id) + " maxdel=" + id(m.max_deleted_id) +
                         " added=" + std::to_string(m.entries_added)
                   : "") +
         " groups=" + std::to_string(m.groups) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_group_begin(const core::StreamGroup& g) {
  log += "  group " + q(g.name) + " last=" + id(g.last_id) +
         " read=" + (g.entries_read ? std::to_string(*g.entries_read) : "-") +
         " pel=" + std::to_string(g.pending) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_pending(const core::StreamPending& p) {
  log += "    pel " + id(p.id) + " " + std::to_string(p.delivery_time_ms) + " " +
         std::to_string(p.delivery_count) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_consumer_begin(const core::StreamConsumer& c) {
  log += "    consumer " + q(c.name) + " seen=" + std::to_string(c.seen_time_ms) +
         " active=" + (c.active_time_ms ? std::to_string(*c.active_time_ms) : "-") +
         " pel=" + std::to_string(c.pending) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_consumer_pending(core::StreamId i) {
  log += "      cpel " + id(i) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_consumer_end() {
  log += "    consumer_end\n";
  return Flow::next;
}
Flow RecordingVisitor::on_path_hash_path(std::string_view path, std::uint64_t fields) {
  log += "  path " + q(path) + " " + std::to_string(fields) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_array_meta(std::uint64_t n, std::optional<std::uint64_t> insert) {
  log +=
      "  array " + std::to_string(n) + " insert=" + (insert ? std::to_string(*insert) : "-") + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_array_element(std::uint64_t index, std::string_view value) {
  log += "  [" + std::to_string(index) + "] " + q(value) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_nack(core::StreamId i) {
  log += "    nack " + id(i) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_stream_group_end() {
  log += "  group_end\n";
  return Flow::next;
}
Flow RecordingVisitor::on_module_op(const core::ModuleOp& op) {
  log += "  op " + std::to_string(static_cast<int>(op.kind)) + " u=" + std::to_string(op.u) +
         " d=" + dbl(op.d) + " s=" + q(op.str) + " raw=" + q(op.raw) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_key_end(const core::KeyInfo& k) {
  log += "end_key " + q(k.key) + "\n";
  return Flow::next;
}
Flow RecordingVisitor::on_end(const core::EndInfo& e) {
  log += "end v" + std::to_string(e.version) + " bytes=" + std::to_string(e.bytes) +
         " crc=" + std::to_string(e.stored_crc) + "/" + std::to_string(e.computed_crc) + "\n";
  return Flow::next;
}

ParseResult parse_split(std::string_view data, const std::vector<std::size_t>& splits,
                        core::RdbLimits limits) {
  RecordingVisitor v;
  core::RdbParser p(v, limits);
  ParseResult r;
  std::size_t at = 0;
  auto feed = [&](std::string_view piece) {
    if (r.step == core::Step::failed || r.step == core::Step::done) return;
    r.step = p.feed(piece);
  };
  for (std::size_t s : splits) {
    feed(data.substr(at, s - at));
    at = s;
  }
  feed(data.substr(at));
  if (r.step != core::Step::failed && r.step != core::Step::done) r.step = p.finish();
  r.error = p.error();
  r.offset = p.offset();
  r.log = std::move(v.log);
  r.streamed = v.streamed_strings;
  return r;
}

ParseResult parse_chunked(std::string_view data, std::size_t chunk, core::RdbLimits limits) {
  std::vector<std::size_t> splits;
  for (std::size_t at = chunk; at < data.size(); at += chunk) splits.push_back(at);
  return parse_split(data, splits, limits);
}

std::string dump_json(std::string_view data, std::size_t chunk) {
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_json_sink(buf);
  core::RdbParser p(*sink);
  core::Step step = core::Step::need_more;
  for (std::size_t at = 0; at < data.size() && step == core::Step::need_more; at += chunk)
    step = p.feed(data.substr(at, chunk));
  if (step == core::Step::need_more) step = p.finish();
  if (step == core::Step::failed) sink->abort();
  buf.flush();
  return out;
}

}  // namespace redis_repl::test
