// `redis-repl dump-rdb`: parse an RDB and write it out as JSON Lines, human text, RESP commands
// or a key list; or only verify it (--check), as redis-check-rdb does.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"
#include "cli/input_file.hpp"
#include "cli/options.hpp"
#include "cli/output_file.hpp"
#include "cli/report_options.hpp"
#include "core/cluster.hpp"
#include "core/codec/vkcs.hpp"
#include "core/link_policy.hpp"
#include "core/net/cluster.hpp"
#include "core/net/session.hpp"
#include "core/rdb_filter.hpp"
#include "core/rdb_parser.hpp"
#include "core/replica.hpp"
#include "formats/sink.hpp"

namespace redis_repl::cli {
namespace {

struct DumpRdbOptions {
  ConnectionOptions conn;
  std::string file;
  std::string output;
  std::string format = "json";
  bool format_given = false;
  bool check = false;
  bool quiet = false;
  std::vector<std::uint64_t> dbs;
  std::vector<std::string> match;
  std::vector<std::string> types;
  std::uint64_t largest = 0;
  ReportFlags report;
  std::int64_t parallel = 2;  // --cluster: snapshots fetched at once
  bool no_dual_channel = false;
  std::optional<formats::ServerVersion> target;  // --target-version, resolved
  std::string target_version;
};

// What every mode shares: the key filter, the output format, the sink that writes it.
struct Output {
  core::KeyFilter filter;
  formats::Format format = formats::Format::json;
  formats::OutBuffer out{STDOUT_FILENO};
  std::unique_ptr<formats::Sink> sink;
  std::unique_ptr<core::FilterVisitor> filtered;

  explicit Output(const DumpRdbOptions& o) {
    filter.dbs = o.dbs;
    if (filter.dbs.empty() && o.conn.db) filter.dbs.push_back(*o.conn.db);  // -n: the default
    filter.globs = o.match;
    for (const std::string& t : o.types) {
      core::ValueType vt;
      if (!core::parse_type_name(t, vt)) throw Fatal(ExitCode::usage, "unknown type '" + t + "'");
      filter.types.push_back(vt);
    }
    if (!formats::parse_format(o.format, format))
      throw Fatal(ExitCode::usage, "unknown format '" + o.format + "'");
    if (o.check && format != formats::Format::json)
      throw Fatal(ExitCode::usage,
                  "--check prints totals as text, or as JSON with --format json; "
                  "--format " +
                      o.format + " does not go with it");
    if (o.largest && format != formats::Format::memory)
      throw Fatal(ExitCode::usage, "--largest goes with --format memory");
    sink = o.check                             ? formats::make_check_sink(out)
           : format == formats::Format::memory ? formats::make_memory_sink(out, o.largest)
           : format == formats::Format::report ? formats::make_report_sink(out, o.report.options)
                                               : formats::make_sink(format, out, o.target);
    filtered = std::make_unique<core::FilterVisitor>(filter, *sink);
  }
  core::RdbVisitor& visitor() {
    return filter.empty() ? static_cast<core::RdbVisitor&>(*sink) : *filtered;
  }
  void check_written() {
    if (out.error()) throw Fatal(ExitCode::io, out.failure());
  }
  // After a complete parse: --check's totals, warnings, the last flush.
  int finish(const DumpRdbOptions& o) {
    if (o.check) {
      if (o.format_given) {  // the same final line the JSON output ends with
        std::string& b = out.buffer();
        formats::JsonWriter w(b);
        w.begin_object();
        w.key("kind");
        w.ascii("end");
        sink->summary().write_json(w);
        w.end();
        b.push_back('\n');
      } else {
        sink->summary().write_human(out.buffer());
      }
    }
    if (sink->not_represented())
      print_warning(std::to_string(sink->not_represented()) +
                    " empty keys have no command form (Redis itself drops them on load)");
    if (sink->metadata_dropped())
      print_warning(std::to_string(sink->metadata_dropped()) +
                    " keys carry module metadata (RDB_OPCODE_KEY_META) that no command can "
                    "rebuild; their values are written without it");
    print_dropped(sink->dropped());
    out.flush();
    if (out.closed()) return static_cast<int>(ExitCode::ok);
    check_written();
    return static_cast<int>(ExitCode::ok);
  }
};

int run_from_file(const DumpRdbOptions& o) {
  Output output(o);
  InputFile in(o.file);
  formats::OutBuffer& out = output.out;
  core::RdbLimits limits;
  limits.input_size = in.size();
  core::RdbParser parser(output.visitor(), limits);
  core::VkcsInput input(parser);  // Valkey's compressed envelope, when the file has one
  Progress progress(!o.quiet, in.size());

  constexpr std::size_t chunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[chunk]);
  std::uint64_t total = 0;
  core::Step step = core::Step::need_more;
  for (;;) {
    const long n = in.read(buf.get(), chunk);
    if (n < 0) break;  // interrupted
    if (n == 0) {
      step = input.finish();
      break;
    }
    total += static_cast<std::uint64_t>(n);
    step = input.feed({buf.get(), static_cast<std::size_t>(n)});
    while (step == core::Step::stopped && out.ok() && !caught_signal()) step = input.feed({});
    if (step == core::Step::failed || step == core::Step::done || !out.ok() || caught_signal())
      break;
    progress.update(total);
  }
  progress.finish();

  if (out.closed()) return static_cast<int>(ExitCode::ok);  // `| head`: a normal end
  output.check_written();
  if (const int sig = caught_signal()) {
    output.sink->abort();
    return 128 + sig;
  }
  if (step == core::Step::failed) {
    output.sink->abort();
    const Error& e = input.error();
    const bool inside = input.compressed() && &e == &parser.error();
    throw Fatal(exit_code_for(core::failure_of(e.code)),
                in.name() + ": " + std::string(describe(e.code)) + " at byte " +
                    std::to_string(e.offset) + (inside ? " of the decompressed RDB" : "") + ": " +
                    e.message);
  }
  if (!parser.trailing().empty() || !input.trailing().empty() ||
      (step == core::Step::done && in.read(buf.get(), 1) > 0))
    print_warning(in.name() + ": bytes after the end of the RDB at byte " +
                  std::to_string(parser.offset()) + " were ignored");
  return output.finish(o);
}

// Snapshot facts we only verify.
struct VerifyOnly final : core::RdbVisitor {
  core::Flow on_key_begin(const core::KeyInfo&) override { return core::Flow::skip; }
};

class DumpHandler final : public core::net::SessionHandler {
 public:
  DumpHandler(formats::OutBuffer* out, OutputFile* raw, Progress& progress)
      : out_(out), raw_(raw), progress_(progress) {}
  bool on_event(const core::Event& e) override {
    if (e.kind == core::Event::Kind::transfer_begin) progress_.set_total(e.length);
    if (e.kind == core::Event::Kind::transfer_end) rdb_bytes_ = e.length;
    if (e.kind == core::Event::Kind::done) done_ = true;
    if (e.kind == core::Event::Kind::failed) failure_ = e;
    return !broken();
  }
  std::int64_t on_batch_end() override {
    if (out_) out_->flush();
    if (raw_) progress_.update(raw_->written());
    return -1;
  }
  bool wants_stop() override { return caught_signal() || broken(); }
  void on_fallback(const std::string& why) override {
    print_warning("two-connection sync failed (" + why + "); syncing over one connection");
  }

  bool done() const { return done_; }
  std::uint64_t rdb_bytes() const { return rdb_bytes_; }
  const std::optional<core::Event>& failure() const { return failure_; }

 private:
  bool broken() const { return (out_ && !out_->ok()) || (raw_ && raw_->failed()); }
  formats::OutBuffer* out_;
  OutputFile* raw_;
  Progress& progress_;
  bool done_ = false;
  std::uint64_t rdb_bytes_ = 0;
  std::optional<core::Event> failure_;
};

int run_from_master(DumpRdbOptions& o, CLI::App& cmd) {
  resolve_connection_options(cmd, o.conn);
  refuse_cluster(o.conn, "dump-rdb");
  std::unique_ptr<Output> output;
  std::unique_ptr<OutputFile> raw;
  VerifyOnly verify;
  if (o.output.empty()) {
    output = std::make_unique<Output>(o);
  } else {
    // -o FILE: the RDB exactly as sent, by the rules of every file written (cli/output_file.hpp):
    // a file is renamed into place only once the whole snapshot is in and its checksum verified.
    raw = std::make_unique<OutputFile>(o.output, "output file", true);
  }
  // With --sentinel: the master the sentinels name now (a snapshot is taken from one master).
  const core::net::Server server = find_server(o.conn);
  core::ReplicaConfig config =
      core::net::replica_config(server, core::ReplicaConfig::Snapshot::only);
  // When the master offers it, the snapshot comes on a second connection; the main one is joined
  // to it (so the master frees the pair when both close), its feed dropped.
  config.two_connections = !o.no_dual_channel;
  // Parsed, not kept (-o keeps the bytes as the master compressed them): no LZF needed.
  config.rdb_no_compress = o.output.empty();
  const std::string where = server.endpoint.name();
  Progress progress(!o.quiet, 0);
  // -LOADING, -NOMASTERLINK: the master cannot serve a snapshot yet; ask again, as a Redis
  // replica does, while nothing of it has been written and time remains.
  core::Reconnect policy(core::RetryRules{std::chrono::milliseconds(250),
                                          std::chrono::milliseconds(5000), false,
                                          core::Clock::now() + config.timeout});
  std::unique_ptr<DumpHandler> attempt;
  core::net::SessionResult result;
  core::Decision next;
  for (;;) {
    core::Replica replica(config, output ? output->visitor() : verify, core::Clock::now());
    if (raw) replica.set_payload_tap([&raw](std::string_view bytes) { raw->write(bytes); });
    attempt = std::make_unique<DumpHandler>(output ? &output->out : nullptr, raw.get(), progress);
    result = core::net::run_session(server, replica, *attempt);
    if (caught_signal()) break;
    core::LinkOutcome outcome;
    outcome.end = result.end;
    if (const auto& f = attempt->failure()) {
      outcome.fail_kind = f->fail_kind;
      outcome.code = f->error.code;
    }
    outcome.output_started = raw && raw->written() > 0;
    next = policy.after(outcome, core::Clock::now());
    if (next.action != core::Decision::Action::retry) break;
    print_warning(where + ": " + attempt->failure()->error.message + "; asking again in " +
                  std::to_string(next.wait.count()) + " ms");
    sleep_unless_signalled(next.wait);
  }
  DumpHandler& handler = *attempt;
  progress.finish();

  if (const int sig = caught_signal()) {
    if (output) output->sink->abort();
    return 128 + sig;
  }
  if (output && output->out.closed()) return static_cast<int>(ExitCode::ok);
  if (raw && raw->closed_pipe()) return static_cast<int>(ExitCode::ok);
  if (output) output->check_written();
  if (raw && raw->failed()) throw Fatal(ExitCode::io, raw->error());
  if (result.end == core::SessionEnd::connect_failed &&
      result.error.find("refused") != std::string::npos)
    throw Fatal(exit_code_for(next.failure),
                result.error + " (no server there; to read an RDB file instead: --file PATH)");
  if (result.end == core::SessionEnd::connect_failed || result.end == core::SessionEnd::tls_failed)
    throw Fatal(exit_code_for(next.failure), result.error);
  if (!handler.done()) {
    if (output) output->sink->abort();
    if (handler.failure())
      throw Fatal(exit_code_for(next.failure), where + ": " + handler.failure()->error.message);
    throw Fatal(ExitCode::connect, where + ": the transfer did not complete");
  }
  if (raw) {
    raw->commit();
    if (!o.quiet && raw->kind() != OutputKind::standard_output)
      print_info("wrote " + std::to_string(raw->written()) + " bytes of RDB to '" + o.output +
                 "' (checksum verified)");
    return static_cast<int>(ExitCode::ok);
  }
  return output->finish(o);
}

// --cluster -o DIR: one shard's snapshot, written to DIR/<node id>.rdb and verified on the way.
class ShardDump final : public core::net::SessionHandler, public core::RdbVisitor {
 public:
  // RdbVisitor: the keys counted, the checksum kept; values skipped.
  core::Flow on_key_begin(const core::KeyInfo&) override {
    ++keys;
    return core::Flow::skip;
  }
  core::Flow on_end(const core::EndInfo& e) override {
    crc = e.computed_crc;
    return core::Flow::next;
  }
  // SessionHandler
  bool on_event(const core::Event& e) override {
    if (e.kind == core::Event::Kind::full_resync) {
      replid = std::string(e.replid);
      offset = e.offset;
    }
    if (e.kind == core::Event::Kind::done) done = true;
    if (e.kind == core::Event::Kind::failed) failure = e;
    return !file->failed();
  }
  std::int64_t on_batch_end() override { return -1; }
  bool wants_stop() override { return caught_signal() || file->failed(); }

  const core::Shard* shard = nullptr;
  std::string name;  // "<node id>.rdb"
  std::unique_ptr<OutputFile> file;
  std::unique_ptr<core::Replica> replica;
  std::uint64_t keys = 0;
  std::uint64_t crc = 0;
  std::string replid;
  std::int64_t offset = -1;
  bool done = false;
  std::optional<core::Event> failure;
  // The outcome: empty error when written.
  std::string error;
  ExitCode code = ExitCode::ok;
};

std::string hex64(std::uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 0xf];
  return s;
}

// dump-rdb --cluster -o DIR: every master shard's snapshot (DIR/<node id>.rdb), then
// DIR/manifest.json. A shard that fails leaves no file; the others are still written, and the
// exit status is the first failed shard's.
int run_cluster_dump(DumpRdbOptions& o) {
  namespace fs = std::filesystem;
  const fs::path dir = o.output;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Fatal(ExitCode::io, "-o '" + o.output +
                                  "': not a directory (--cluster writes one "
                                  "file per shard into a directory)");
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw Fatal(ExitCode::io, "-o '" + o.output + "': cannot create the directory" +
                                  (ec ? ": " + ec.message() : std::string()));
  const core::net::Server node = server_of(o.conn);
  const core::net::ClusterDiscovery found =
      core::net::discover_cluster(cluster_seeds_of(o.conn), node, std::chrono::milliseconds(5000));
  if (!found.found) throw Fatal(exit_code_for(found.failure), found.error);
  const core::Topology& topology = found.topology;
  std::vector<std::unique_ptr<ShardDump>> dumps;
  for (const core::Shard& s : topology.shards) {
    auto d = std::make_unique<ShardDump>();
    d->shard = &s;
    d->name = s.master.id + ".rdb";
    dumps.push_back(std::move(d));
  }
  core::net::run_links(
      dumps.size(), static_cast<std::size_t>(o.parallel),
      [&](std::size_t i) {
        ShardDump& d = *dumps[i];
        const core::net::Server server = core::net::server_for(node, d.shard->master);
        d.file = std::make_unique<OutputFile>((dir / d.name).string(), "output file", false);
        d.replica = std::make_unique<core::Replica>(
            core::net::replica_config(server, core::ReplicaConfig::Snapshot::only), d,
            core::Clock::now());
        d.replica->set_payload_tap([&d](std::string_view bytes) { d.file->write(bytes); });
        return core::net::LinkParts{server, d.replica.get(), &d};
      },
      [&](std::size_t i, const core::net::SessionResult& r) {
        ShardDump& d = *dumps[i];
        const std::string where = d.shard->master.address.name() + " (" + d.shard->master.id + ")";
        if (d.file->failed()) {
          d.code = ExitCode::io;
          d.error = d.file->error();
        } else if (r.end == core::SessionEnd::connect_failed ||
                   r.end == core::SessionEnd::tls_failed) {
          d.code = r.end == core::SessionEnd::tls_failed ? ExitCode::tls : ExitCode::connect;
          d.error = r.error;
        } else if (!d.done) {
          d.code =
              d.failure
                  ? exit_code_for(core::failure_of(d.failure->fail_kind, d.failure->error.code))
                  : ExitCode::connect;
          d.error = where + ": " +
                    (d.failure ? d.failure->error.message : "the transfer did not complete");
        } else {
          try {
            d.file->commit();
          } catch (const Fatal& f) {
            d.code = f.code();
            d.error = f.what();
          }
        }
        if (!d.error.empty()) {
          print_error("shard " + d.shard->id + ": " + d.error);
        } else if (!o.quiet) {
          print_info("shard " + d.shard->id + ": wrote " + std::to_string(d.file->written()) +
                     " bytes, " + std::to_string(d.keys) + " keys to '" + (dir / d.name).string() +
                     "' (checksum verified)");
        }
        if (!d.error.empty() || caught_signal()) d.file.reset();  // no partial file
        d.replica.reset();
      });
  if (const int sig = caught_signal()) return 128 + sig;

  nlohmann::ordered_json manifest;
  manifest["seed"] = found.seed;
  manifest["shards"] = nlohmann::ordered_json::array();
  ExitCode code = ExitCode::ok;
  for (const auto& d : dumps) {
    nlohmann::ordered_json e;
    e["shard"] = d->shard->id;
    e["shard_id_from_server"] = d->shard->id_from_server;
    e["node"] = d->shard->master.id;
    e["address"] = d->shard->master.address.name();
    nlohmann::ordered_json ranges = nlohmann::ordered_json::array();
    for (const core::SlotRange& r : d->shard->slots) ranges.push_back({r.first, r.last});
    e["slots"] = ranges;
    e["ok"] = d->error.empty();
    if (d->error.empty()) {
      e["file"] = d->name;
      e["bytes"] = d->file->written();
      e["keys"] = d->keys;
      e["checksum"] = hex64(d->crc);
      e["replid"] = d->replid;
      e["offset"] = d->offset;
    } else {
      e["error"] = d->error;
      e["exit_code"] = static_cast<int>(d->code);
      if (code == ExitCode::ok) code = d->code;
    }
    manifest["shards"].push_back(std::move(e));
  }
  // The server's text (ids, addresses, messages) is escaped by the JSON writer; invalid UTF-8 is
  // replaced rather than thrown on.
  write_whole_file((dir / "manifest.json").string(), "manifest",
                   manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  return static_cast<int>(code);
}

// dump-rdb --cluster --format json: every master shard's snapshot in turn (one at a time, so
// that lines never interleave), each line labelled with its shard and node. A shard that fails
// ends its lines as incomplete and does not stop the others; the exit status is the first
// failed shard's.
int run_cluster_stream(DumpRdbOptions& o) {
  if (o.format != "json" || o.check)
    throw Fatal(ExitCode::usage,
                "--cluster without -o writes one stream labelled by shard: --format json only "
                "(--format " +
                    o.format + (o.check ? " --check" : "") +
                    " has no place for the label); or give -o DIR for one RDB per shard");
  const core::net::Server node = server_of(o.conn);
  const core::net::ClusterDiscovery found =
      core::net::discover_cluster(cluster_seeds_of(o.conn), node, std::chrono::milliseconds(5000));
  if (!found.found) throw Fatal(exit_code_for(found.failure), found.error);
  ExitCode code = ExitCode::ok;
  for (const core::Shard& s : found.topology.shards) {
    Output output(o);
    output.sink->set_shard_label(s.id, s.master.id);
    const core::net::Server server = core::net::server_for(node, s.master);
    core::Replica replica(core::net::replica_config(server, core::ReplicaConfig::Snapshot::only),
                          output.visitor(), core::Clock::now());
    Progress progress(false, 0);
    DumpHandler handler(&output.out, nullptr, progress);
    const core::net::SessionResult result = core::net::run_session(server, replica, handler);
    if (const int sig = caught_signal()) {
      output.sink->abort();
      return 128 + sig;
    }
    if (output.out.closed()) return static_cast<int>(ExitCode::ok);
    output.check_written();
    std::string error;
    ExitCode failed = ExitCode::ok;
    if (result.end == core::SessionEnd::connect_failed ||
        result.end == core::SessionEnd::tls_failed) {
      failed = result.end == core::SessionEnd::tls_failed ? ExitCode::tls : ExitCode::connect;
      error = result.error;
    } else if (!handler.done()) {
      output.sink->abort();
      const auto& f = handler.failure();
      failed = f ? exit_code_for(core::failure_of(f->fail_kind, f->error.code)) : ExitCode::connect;
      error = server.endpoint.name() + ": " +
              (f ? f->error.message : std::string("the transfer did not complete"));
    } else {
      output.finish(o);
      continue;
    }
    output.out.flush();
    print_error("shard " + s.id + ": " + error);
    if (code == ExitCode::ok) code = failed;
  }
  return static_cast<int>(code);
}

int run_dump_rdb(DumpRdbOptions& o, CLI::App& cmd) {
  resolve_report_options(cmd, o.format == "report", o.report);
  o.target = resolve_target_version(cmd, o.target_version, o.format == "resp" && !o.check);
  if (!o.file.empty() && !o.output.empty())
    throw Fatal(ExitCode::usage,
                "-o writes the snapshot a master sends; with --file, use --format");
  if (!o.output.empty() && (o.format_given || o.check))
    throw Fatal(ExitCode::usage,
                "-o writes the RDB as sent; --format and --check parse it instead: give one");
  if (!o.file.empty() && (o.conn.cluster || !o.conn.cluster_nodes.empty()))
    throw Fatal(ExitCode::usage, "--cluster reads from a cluster's masters, not from --file");
  if (!o.file.empty()) return run_from_file(o);
  if (cmd.count("--parallel") && !o.conn.cluster && o.conn.cluster_nodes.empty())
    throw Fatal(ExitCode::usage, "--parallel goes with --cluster");
  if (o.conn.cluster || !o.conn.cluster_nodes.empty()) {
    resolve_connection_options(cmd, o.conn);
    if (o.output == "-")
      throw Fatal(ExitCode::usage,
                  "--cluster -o wants a directory (one RDB per shard), not standard output");
    if (o.output.empty()) {
      if (cmd.count("--parallel"))
        throw Fatal(ExitCode::usage,
                    "--parallel goes with -o DIR; the stream takes one shard after another");
      return run_cluster_stream(o);
    }
    return run_cluster_dump(o);
  }
  return run_from_master(o, cmd);
}
}  // namespace

void register_dump_rdb(CLI::App& app, Runner& runner) {
  auto o = std::make_shared<DumpRdbOptions>();
  CLI::App* cmd =
      app.add_subcommand("dump-rdb", "Read an RDB snapshot and write out what it holds");
  cmd->set_help_flag("--help", "Print this help and exit");
  add_connection_options(*cmd, o->conn, true);
  cmd->add_option("--file", o->file,
                  "Read the RDB from this file ('-' for standard input) instead of a master")
      ->option_text("PATH");
  cmd->add_option("-o,--output", o->output,
                  "Write the master's snapshot as sent to FILE ('-' for standard output), "
                  "renamed into place once complete and verified")
      ->option_text("FILE");
  cmd->add_option("--format", o->format,
                  "Output format: json (default), human, resp, keys, memory (a CSV row per key) "
                  "or report (where the memory goes: totals, top keys and prefixes, expiries)")
      ->check(CLI::IsMember({"json", "human", "resp", "keys", "memory", "report"}))
      ->option_text("FORMAT");
  cmd->add_option("--largest", o->largest,
                  "With --format memory: only the N keys using the most memory, largest first")
      ->option_text("N")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1000000}));
  add_target_version_option(*cmd, o->target_version);
  add_report_options(*cmd, o->report);
  cmd->add_flag(
      "--check", o->check,
      "Only verify the snapshot and print totals per db and type and the checksum verdict");
  cmd->add_option("--db", o->dbs, "Only keys of this database (repeatable)")
      ->option_text("N")
      ->check(integer_in(0, max_db, "a database number"))
      ->allow_extra_args(false);
  cmd->add_option("--match", o->match, "Only keys matching this glob, as SCAN MATCH (repeatable)")
      ->option_text("GLOB")
      ->allow_extra_args(false);
  cmd->add_option("--type", o->types,
                  "Only keys of this type: string, list, set, zset, hash, stream, module, array or "
                  "path_hash (repeatable)")
      ->check(CLI::IsMember(
          {"string", "list", "set", "zset", "hash", "stream", "module", "array", "path_hash"}))
      ->option_text("TYPE")
      ->allow_extra_args(false);
  cmd->add_flag("-q,--quiet", o->quiet, "No progress line or summary on standard error");
  cmd->add_option("--parallel", o->parallel,
                  "With --cluster: fetch up to N shards' snapshots at once (default 2)")
      ->option_text("N")
      ->check(integer_in(1, 64, "a number of snapshots"));
  cmd->add_flag("--no-dual-channel", o->no_dual_channel,
                "Never take the snapshot on a second connection (Valkey dual channel, Redis rdb "
                "channel), even when the master offers it");
  set_group(*cmd, "Input and output",
            {"--file", "--output", "--format", "--target-version", "--largest", "--check",
             "--quiet", "--parallel", "--no-dual-channel"});
  set_group(*cmd, "Filters", {"--db", "--match", "--type"});
  cmd->callback([o, cmd, &runner] {
    o->format_given = cmd->count("--format") > 0;
    runner = [o, cmd] { return run_dump_rdb(*o, *cmd); };
  });
}

}  // namespace redis_repl::cli
