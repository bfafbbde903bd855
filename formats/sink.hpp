// formats/sink.hpp — output formats are RDB visitors writing to an OutBuffer.
//
// A sink never chooses exit codes and never retries: it formats what it is told, returns
// Flow::stop once the reader has closed the output, and on abort() closes whatever it has open
// so that what was written stays well-formed up to the failure. Once the output has failed or
// been closed, every callback asks the parser to stop.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/key_size.hpp"
#include "core/rdb_visitor.hpp"
#include "core/replica.hpp"
#include "formats/out_buffer.hpp"
#include "formats/summary.hpp"

namespace redis_repl::formats {

enum class Format : std::uint8_t { json, human, resp, keys, memory, report };
bool parse_format(std::string_view name, Format& out) noexcept;

// tail followed its master to another address (--sentinel): a failover, as the sentinels named
// it after the link to the old one ended.
// With --cluster, master_name is empty: the sink's Origin names the shard and its new master.
struct Failover {
  std::string_view master_name;  // as Sentinel monitors it
  std::string_view from, to;     // host:port
  std::int64_t ts_ms = 0;        // when tail learnt of it, Unix milliseconds
};

// tail --cluster: where the lines that follow come from. JSON records carry "shard" and "node"
// (and "migration":true for a migration record); human lines of the feed start with the shard's
// first 8 characters in brackets. Null (the default): one master, no labels.
struct Origin {
  std::string_view shard;  // the stable shard id
  std::string_view node;   // the master's node id, a space, its host:port
  bool migration = false;  // the next command is slot migration, not a write
};

class Sink : public core::RdbVisitor {
 public:
  explicit Sink(OutBuffer& out) : out_(out) {}
  // Labels every line written until the next call (null: none). The Origin outlives its use.
  virtual void set_origin(const Origin* origin) { origin_ = origin; }
  // The parse failed: close what is open (the JSON line becomes {..., "incomplete": true}).
  virtual void abort() {}
  // What tail prints besides the snapshot: full_resync, partial_resync, transfer_end (the
  // boundary between snapshot and stream) and command events.
  virtual core::Flow on_replication(const core::Event&) { return core::Flow::next; }
  // A line of its own where the format has comments or records (json, human); resp prints
  // nothing, so that its output stays commands only.
  virtual core::Flow on_failover(const Failover&) { return core::Flow::next; }
  virtual const Summary& summary() const noexcept { return summary_; }
  // Keys the format could not represent (resp: empty collections, which Redis cannot hold).
  virtual std::uint64_t not_represented() const noexcept { return not_represented_; }
  // Keys whose metadata (RDB_OPCODE_KEY_META) the format could not carry (resp).
  virtual std::uint64_t metadata_dropped() const noexcept { return metadata_dropped_; }
  // What the format could not carry, counted per kind (resp: each kind's sentence, e.g. "stream
  // NACK zone entries have no command form; they are left out"), warned about once at the end.
  virtual const std::map<std::string, std::uint64_t>& dropped() const noexcept { return dropped_; }
  // A key's size facts, given by a sized sink (make_sized_sink) just before on_key_end.
  virtual void on_key_size(const core::KeySize&) {}
  // One stream over several shards of a cluster: every line says which shard and which node
  // (the master's node id) it comes from; JSON: "shard" and "node" right after "kind". Both are
  // ASCII (hex ids). Formats without a place for them ignore this: callers allow only json.
  // (The same labels as set_origin, held by the sink.)
  virtual void set_shard_label(std::string shard, std::string node) {
    shard_label_ = std::move(shard);
    node_label_ = std::move(node);
    own_origin_ = Origin{shard_label_, node_label_, false};
    set_origin(shard_label_.empty() ? nullptr : &own_origin_);
  }

 protected:
  core::Flow line_done() {
    out_.line_done();
    return out_.ok() ? core::Flow::next : core::Flow::stop;
  }
  // Inside a long line (a huge key): let a full block go out mid-line.
  core::Flow spill() {
    if (out_.buffer().size() >= (1u << 20)) out_.flush();
    return out_.ok() ? core::Flow::next : core::Flow::stop;
  }

  OutBuffer& out_;
  const Origin* origin_ = nullptr;
  Summary summary_;
  std::uint64_t not_represented_ = 0;
  std::uint64_t metadata_dropped_ = 0;
  std::map<std::string, std::uint64_t> dropped_;
  std::string shard_label_, node_label_;  // empty: no label
  Origin own_origin_;                     // views of them
};

// A sink that takes no values (keys, --check, memory, report): it counts what the summary
// counts, and answers each key as on_key_begin says (Flow::skip or Flow::facts).
class CountingSink : public Sink {
 public:
  using Sink::Sink;
  core::Flow on_header(const core::Header& h) override {
    summary_.header(h);
    return core::Flow::next;
  }
  core::Flow on_function(std::string_view, std::string_view) override {
    summary_.function();
    return core::Flow::next;
  }
  core::Flow on_module_aux_begin(const core::ModuleInfo&, std::uint64_t) override {
    summary_.module_aux();
    return core::Flow::next;
  }
  core::Flow on_end(const core::EndInfo& e) override {
    summary_.end(e);
    return core::Flow::next;
  }
};

std::unique_ptr<Sink> make_json_sink(OutBuffer& out);
std::unique_ptr<Sink> make_human_sink(OutBuffer& out);
// The server a RESP output is meant for (--target-version): the commands it is given are those
// that server has; what it cannot take is counted in dropped(). "redis:7.2", "valkey:9.0", or a
// bare "7.2" (Redis); a patch number may follow ("8.0.1") and is ignored.
struct ServerVersion {
  bool valkey = false;
  int major = 0;
  int minor = 0;
  // At least this Redis version (or, when valkey_major is given, this Valkey version).
  bool at_least(int redis_major, int redis_minor, int valkey_major = -1,
                int valkey_minor = 0) const noexcept;
  std::string name() const;  // "redis 7.2"
};
bool parse_server_version(std::string_view text, ServerVersion& out) noexcept;
// Without a target, every command is written (what the snapshot's writer can take).
std::unique_ptr<Sink> make_resp_sink(OutBuffer& out,
                                     std::optional<ServerVersion> target = std::nullopt);
std::unique_ptr<Sink> make_keys_sink(OutBuffer& out);
// Counts and verifies only; prints nothing until write_check_report().
std::unique_ptr<Sink> make_check_sink(OutBuffer& out);
// One CSV row per key with the columns of redis-rdb-tools' memory report; largest > 0 keeps
// only that many keys, the largest by estimated memory, written largest first at the end.
std::unique_ptr<Sink> make_memory_sink(OutBuffer& out, std::uint64_t largest = 0);
// --format report: totals per db, type and encoding, the top keys by memory, by elements and by
// their largest element, the biggest key of each type, the top key prefixes and the expiry
// distribution, written at the end as tables for people or as one JSON document.
struct ReportOptions {
  std::uint64_t top = 20;             // rows in each top list
  std::string separators = ":";       // any of these ends a prefix; empty: no prefix table
  std::uint64_t prefix_depth = 2;     // prefixes up to this many separators deep
  std::uint64_t prefix_cap = 100000;  // prefixes held at most (then the least used half goes)
  bool json = false;
  std::int64_t now_ms = 0;  // expiries are placed against the RDB's save time, else this
};
std::unique_ptr<Sink> make_report_sink(OutBuffer& out, const ReportOptions& options);
// Feeds every key's events to a core::KeySizer as they pass to inner, and gives inner the key's
// size facts (on_key_size) before its on_key_end.
std::unique_ptr<Sink> make_sized_sink(std::unique_ptr<Sink> inner, OutBuffer& out);
// json and human are sized (their key lines carry the size facts).
std::unique_ptr<Sink> make_sink(Format format, OutBuffer& out,
                                std::optional<ServerVersion> resp_target = std::nullopt);

}  // namespace redis_repl::formats
