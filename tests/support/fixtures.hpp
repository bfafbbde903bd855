// tests/support/fixtures.hpp — reading the shared RDB corpus, and turning parser events into text.
//
// The corpus lives beside the repository (../shared/fixtures/rdb) and is read in place, never
// copied. RecordingVisitor writes one text line per visitor call, so two parses can be compared
// as strings and a failure shows where they part.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/rdb_parser.hpp"
#include "core/rdb_visitor.hpp"

namespace redis_repl::test {

std::string fixtures_dir();
// True when the shared corpus is absent, after saying so in one line: the test returns (use
// SKIP_WITHOUT_CORPUS()). Under CI=true, which has the corpus, its absence fails the test.
bool corpus_missing();
std::string read_file(const std::string& path);
// Every .rdb under the corpus, relative to fixtures_dir(), sorted.
std::vector<std::string> all_rdb_fixtures();
bool file_exists(const std::string& path);
std::string base64_decode(std::string_view in);
// Bytes as the corpus's .expected.json files write them: the text itself, or "base64:" + base64
// when they are not valid UTF-8 (or start with "base64:").
std::string truth_bytes(std::string_view s);

class RecordingVisitor : public core::RdbVisitor {
 public:
  std::string log;

  core::Flow on_header(const core::Header& h) override;
  core::Flow on_aux(std::string_view f, std::string_view v) override;
  core::Flow on_select_db(std::uint64_t db) override;
  core::Flow on_resize_db(std::uint64_t k, std::uint64_t e) override;
  core::Flow on_slot_info(std::uint64_t s, std::uint64_t k, std::uint64_t e) override;
  core::Flow on_function(std::string_view code, std::string_view description) override;
  core::Flow on_module_aux_begin(const core::ModuleInfo& m, std::uint64_t when) override;
  core::Flow on_module_aux_end() override;
  core::Flow on_slot_import(std::string_view job, std::span<const core::RdbSlotRange> r) override;
  core::Flow on_rdb_command(std::uint64_t db, std::span<const std::string_view> args) override;
  core::Flow on_stream_idmp_config(std::uint64_t duration, std::uint64_t max_entries) override;
  core::Flow on_stream_idmp_entry(std::string_view pid, std::string_view iid,
                                  core::StreamId id) override;
  core::Flow on_stream_idmp_end(std::uint64_t added, std::uint64_t duplicates) override;
  core::Flow on_key_begin(const core::KeyInfo& k) override;
  core::Flow on_string(std::string_view v) override;
  // A streamed value is logged exactly as the same value handed out whole, so logs compare
  // across thresholds and splits; a size that does not add up, or an empty piece, is logged.
  core::Flow on_string_begin(std::uint64_t size) override;
  core::Flow on_string_chunk(std::string_view part) override;
  core::Flow on_string_end() override;
  std::uint64_t streamed_strings = 0;
  std::uint64_t string_chunks = 0;
  core::Flow on_list_item(std::string_view v) override;
  core::Flow on_set_member(std::string_view v) override;
  core::Flow on_zset_member(std::string_view m, double s) override;
  core::Flow on_hash_field(std::string_view f, std::string_view v, std::int64_t e) override;
  core::Flow on_stream_entry(core::StreamId id, std::span<const std::string_view> f) override;
  core::Flow on_stream_meta(const core::StreamMeta& m) override;
  core::Flow on_stream_group_begin(const core::StreamGroup& g) override;
  core::Flow on_stream_pending(const core::StreamPending& p) override;
  core::Flow on_stream_consumer_begin(const core::StreamConsumer& c) override;
  core::Flow on_stream_consumer_pending(core::StreamId id) override;
  core::Flow on_stream_consumer_end() override;
  core::Flow on_stream_group_end() override;
  core::Flow on_stream_nack(core::StreamId id) override;
  core::Flow on_path_hash_path(std::string_view path, std::uint64_t fields) override;
  core::Flow on_array_meta(std::uint64_t n, std::optional<std::uint64_t> insert) override;
  core::Flow on_array_element(std::uint64_t index, std::string_view value) override;
  core::Flow on_module_op(const core::ModuleOp& op) override;
  core::Flow on_key_end(const core::KeyInfo& k) override;
  core::Flow on_end(const core::EndInfo& e) override;

 private:
  std::string pending_;
  std::uint64_t pending_size_ = 0;
};

struct ParseResult {
  core::Step step = core::Step::need_more;
  Error error;
  std::string log;
  std::uint64_t offset = 0;    // bytes consumed
  std::uint64_t streamed = 0;  // string values handed out in pieces
};

// Feeds data split at the given points (ascending offsets), then finishes.
ParseResult parse_split(std::string_view data, const std::vector<std::size_t>& splits,
                        core::RdbLimits limits = {});
// Feeds data in chunks of `chunk` bytes (1: byte by byte).
ParseResult parse_chunked(std::string_view data, std::size_t chunk, core::RdbLimits limits = {});

// The whole JSON Lines output of `dump-rdb --format json` for these bytes.
std::string dump_json(std::string_view data, std::size_t chunk = 1 << 16);

}  // namespace redis_repl::test

#define SKIP_WITHOUT_CORPUS()                         \
  do {                                                \
    if (::redis_repl::test::corpus_missing()) return; \
  } while (0)
