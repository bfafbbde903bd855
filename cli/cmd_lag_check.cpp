// `redis-repl lag-check`: how far behind are the replicas, in bytes and in seconds, with the exit
// codes of the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"
#include "cli/options.hpp"
#include "cli/output_file.hpp"
#include "core/cluster.hpp"
#include "core/lag.hpp"
#include "core/net/cluster.hpp"
#include "core/net/lag_probe.hpp"
#include "formats/lag_report.hpp"
#include "formats/out_buffer.hpp"

namespace redis_repl::cli {
namespace {

struct LagCheckOptions {
  ConnectionOptions conn;
  std::vector<std::string> replicas;
  std::optional<std::int64_t> warn_bytes, crit_bytes;
  std::optional<double> warn_seconds, crit_seconds;
  std::int64_t min_replicas = 1;
  int probes = 5;
  double probe_timeout_s = 5;
  std::string format = "human";
  double watch_s = 0;
  std::uint64_t count = 0;
  bool self = false;
  std::string output;
};

constexpr int unknown = 3;

formats::LagResult sample(const LagCheckOptions& o, const core::net::LagProbeConfig& config,
                          const core::Thresholds& t) {
  const std::int64_t started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  const auto started = std::chrono::steady_clock::now();
  const core::net::LagReport report = core::net::measure_lag(config);
  formats::LagResult r;
  r.master = report.master;
  r.error = report.error;
  r.master_offset = report.master_offset;
  r.replicas = report.replicas;
  r.inspectors = report.inspectors;
  r.min_replicas = o.min_replicas;
  r.unix_ms = started_ms;  // when the sample began
  r.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const std::string& note : report.notes) print_info(note);
  if (!r.error.empty()) {
    r.status = core::Status::unknown;
    return r;
  }
  for (const core::ReplicaLag& x : r.replicas) {
    r.verdicts.push_back(core::judge(x, t));
    r.status = core::worst(r.status, r.verdicts.back().status);
  }
  // Our own --self link is no replica of the master's; inspectors were never in the list.
  for (const core::ReplicaLag& x : r.replicas) r.replicas_found += x.self_link ? 0 : 1;
  const core::Verdict count = core::judge_replica_count(r.replicas_found, o.min_replicas);
  if (count.status != core::Status::ok) {
    r.status = core::worst(r.status, count.status);
    r.status_reason = count.reasons.front();
  }
  return r;
}

// --cluster: the cluster discovered again (a failover changes the masters), then every master
// shard checked in turn, its replicas timed by offsets (core/net/lag_probe.hpp). `known` keeps
// the shard ids of the previous sample's topology (core::assign_shard_ids).
formats::ClusterLagResult cluster_sample(const LagCheckOptions& o,
                                         const core::net::LagProbeConfig& base,
                                         const core::Thresholds& t,
                                         const std::vector<core::HostPort>& seeds,
                                         const core::net::Server& node, core::Topology& known) {
  formats::ClusterLagResult c;
  c.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  const auto started = std::chrono::steady_clock::now();
  for (const core::HostPort& s : seeds) c.seeds += (c.seeds.empty() ? "" : ",") + s.name();
  c.min_replicas = o.min_replicas;
  const core::net::ClusterDiscovery found =
      core::net::discover_cluster(seeds, node, base.query_timeout);
  if (!found.found) {
    c.error = found.error;
    c.status = core::Status::unknown;
  } else {
    core::Topology topology = found.topology;
    core::assign_shard_ids(known, topology);
    known = topology;
    std::vector<core::ShardVerdict> verdicts;
    for (const core::Shard& shard : topology.shards) {
      core::net::LagProbeConfig config = base;
      config.master = core::net::server_for(node, shard.master);
      config.timing = core::net::LagProbeConfig::Timing::offset;
      if (!shard.slots.empty()) config.write_key = core::probe_key_for_slot(shard.slots[0].first);
      formats::LagResult r = sample(o, config, t);
      r.shard = shard.id;
      r.node = shard.master.id;
      core::Verdict v{r.status, {}};
      if (r.status != core::Status::ok) v.reasons.push_back(formats::lag_summary(r));
      verdicts.push_back(core::ShardVerdict{shard.id, std::move(v)});
      c.shards.push_back(std::move(r));
    }
    const core::Verdict all = core::combine_shards(verdicts);
    c.status = all.status;
    c.reasons = all.reasons;
  }
  c.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return c;
}

int run_lag_check(LagCheckOptions& o, CLI::App& cmd) {
  try {
    resolve_connection_options(cmd, o.conn);
    if (o.conn.cluster && !o.replicas.empty())
      throw Fatal(ExitCode::usage,
                  "--replica names one master's replica; --cluster checks the replicas each "
                  "shard's master lists");
    if (o.conn.cluster && o.self)
      throw Fatal(ExitCode::usage,
                  "--self times published probes; --cluster times offsets (see the man page)");
    formats::LagFormat format = formats::LagFormat::human;
    if (!formats::parse_lag_format(o.format, format))
      throw Fatal(ExitCode::usage, "unknown format '" + o.format + "'");
    // Thresholds and times must be real, non-negative numbers of sane size.
    auto seconds_ok = [](double v) { return std::isfinite(v) && v >= 0 && v <= 86400; };
    for (const auto& [name, v] :
         {std::pair{"--warn-seconds", o.warn_seconds}, std::pair{"--crit-seconds", o.crit_seconds}})
      if (v && !seconds_ok(*v))
        throw Fatal(ExitCode::usage, std::string(name) + " wants seconds from 0 to 86400");
    if (!seconds_ok(o.probe_timeout_s) || o.probe_timeout_s == 0)
      throw Fatal(ExitCode::usage, "--probe-timeout wants seconds above 0, up to 86400");
    if (!seconds_ok(o.watch_s)) throw Fatal(ExitCode::usage, "--watch wants seconds up to 86400");
    for (const auto& [name, v] :
         {std::pair{"--warn-bytes", o.warn_bytes}, std::pair{"--crit-bytes", o.crit_bytes}})
      if (v && *v < 0) throw Fatal(ExitCode::usage, std::string(name) + " cannot be negative");
    if (o.min_replicas < 0) throw Fatal(ExitCode::usage, "--min-replicas cannot be negative");
    if (cmd.count("--output") && o.output.empty())
      throw Fatal(ExitCode::usage, "--output wants a file name");
    // By the rules of every file written (cli/output_file.hpp), found out before connecting.
    if (!o.output.empty()) check_output_writable(o.output, "output file", false);
    core::Thresholds t{o.warn_bytes, o.crit_bytes, o.warn_seconds, o.crit_seconds};
    if (t.warn_bytes && t.crit_bytes && *t.warn_bytes > *t.crit_bytes)
      throw Fatal(ExitCode::usage, "--warn-bytes is above --crit-bytes");
    if (t.warn_seconds && t.crit_seconds && *t.warn_seconds > *t.crit_seconds)
      throw Fatal(ExitCode::usage, "--warn-seconds is above --crit-seconds");
    core::net::LagProbeConfig config;
    // With --sentinel, found again for every sample: --watch judges the topology of the moment.
    const bool sentinel = !o.conn.sentinels.empty();
    // With --cluster, discovered again for every sample too; `node` has the credentials, TLS
    // and timeout every node is reached with.
    const bool cluster = o.conn.cluster;
    const std::vector<core::HostPort> seeds = cluster_seeds_of(o.conn);
    const core::net::Server node = server_of(o.conn);
    core::Topology known;  // the shard ids of the last sample's topology
    if (!sentinel && !cluster) config.master = node;
    for (const std::string& s : o.replicas) {
      const core::net::Endpoint e = endpoint_of("--replica", s, config.master.endpoint);
      bool seen = false;  // the same replica twice would be the same series twice
      for (const core::net::Endpoint& x : config.replicas)
        seen = seen || (x.host == e.host && x.port == e.port);
      if (!seen) config.replicas.push_back(e);
    }
    config.probes = o.probes;
    config.self = o.self;
    // Waiting less than the critical threshold could not tell CRITICAL from WARNING.
    double wait = o.probe_timeout_s;
    if (o.crit_seconds) wait = std::max(wait, *o.crit_seconds + 0.5);
    config.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(wait * 1000));
    // Each connection and query: --timeout when given, else the probe timeout.
    const double query = cmd.count("--timeout") ? std::min(o.conn.timeout_s, 86400.0) : wait;
    config.query_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(query * 1000));

    formats::OutBuffer out(STDOUT_FILENO);
    int status = unknown;
    for (std::uint64_t n = 0;; ++n) {
      const auto started = std::chrono::steady_clock::now();
      // Writes one sample, to --output or stdout; false when stdout was closed or failed.
      auto emit = [&](const auto& write) {
        if (!o.output.empty()) {
          std::string text;
          write(text);
          // Each sample replaces the file whole, so a textfile collector never reads half of one.
          write_whole_file(o.output, "output file", text);
          return true;
        }
        write(out.buffer());
        out.flush();
        return out.ok();
      };
      // Prometheus: the status is in the metrics; exiting 0 once they are written keeps a
      // `> x.tmp && mv x.tmp x.prom` job from losing the file exactly when there is a problem.
      auto exit_for = [&](core::Status s) {
        return format == formats::LagFormat::prometheus ? 0 : static_cast<int>(s);
      };
      if (cluster) {
        const formats::ClusterLagResult c = cluster_sample(o, config, t, seeds, node, known);
        status = exit_for(c.status);
        if (!emit([&](std::string& text) {
              formats::write_cluster_lag(text, c, format, t, o.watch_s > 0);
            }))
          return out.closed() ? static_cast<int>(c.status) : unknown;
      } else {
        formats::LagResult r;
        std::string found_error;
        if (sentinel) {
          try {
            config.master = find_server(o.conn);
          } catch (const Fatal& e) {
            found_error = e.what();
          }
        }
        if (found_error.empty()) {
          r = sample(o, config, t);
        } else {
          // No master found: UNKNOWN, in the chosen format, as an unreachable master is.
          r.master = o.conn.master_name;
          r.error = found_error;
          r.status = core::Status::unknown;
          r.min_replicas = o.min_replicas;
          r.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        }
        status = exit_for(r.status);
        if (!emit(
                [&](std::string& text) { formats::write_lag(text, r, format, t, o.watch_s > 0); }))
          return out.closed() ? static_cast<int>(r.status) : unknown;
      }
      if (o.watch_s <= 0 || (o.count && n + 1 >= o.count)) break;
      const auto next = started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(o.watch_s));
      const auto left = next - std::chrono::steady_clock::now();
      if (left > std::chrono::steady_clock::duration::zero())
        sleep_unless_signalled(std::chrono::duration_cast<std::chrono::milliseconds>(left));
      if (const int sig = caught_signal()) return 128 + sig;
    }
    return status;
  } catch (const Fatal& e) {
    // Whatever went wrong, a monitor must read it as UNKNOWN.
    print_error(e.what());
    return unknown;
  }
}

}  // namespace

void register_lag_check(CLI::App& app, Runner& runner) {
  auto o = std::make_shared<LagCheckOptions>();
  CLI::App* cmd = app.add_subcommand(
      "lag-check", "Measure how far replicas are behind, with monitoring-plugin exit codes");
  cmd->set_help_flag("--help", "Print this help and exit");
  add_connection_options(*cmd, o->conn);
  cmd->get_option("--timeout")
      ->description(
          "Seconds to wait to connect to and query each server, and to join with --self "
          "(default: the probe timeout)");
  cmd->add_option("--replica", o->replicas,
                  "Check this replica (HOST:PORT, repeatable) instead of those the master lists")
      ->option_text("HOST:PORT")
      ->allow_extra_args(false);
  cmd->add_option("--warn-bytes", o->warn_bytes, "WARNING at this many bytes behind")
      ->option_text("BYTES")
      ->check(integer_in(0, std::int64_t{1} << 62, "bytes"));
  cmd->add_option("--crit-bytes", o->crit_bytes, "CRITICAL at this many bytes behind")
      ->option_text("BYTES")
      ->check(integer_in(0, std::int64_t{1} << 62, "bytes"));
  cmd->add_option("--warn-seconds", o->warn_seconds, "WARNING when a probe takes this long")
      ->option_text("SECONDS")
      ->check(number_in(0, 86400, "seconds"));
  cmd->add_option("--crit-seconds", o->crit_seconds, "CRITICAL when a probe takes this long")
      ->option_text("SECONDS")
      ->check(number_in(0, 86400, "seconds"));
  cmd->add_option("--min-replicas", o->min_replicas,
                  "CRITICAL when fewer replicas are found (default 1; 0 accepts none)")
      ->option_text("N")
      ->check(integer_in(0, 1000000, "a count"));
  cmd->add_option("--probes", o->probes, "Probes per sample (default 5)")
      ->option_text("N")
      ->check(integer_in(1, 1000, "a count"));
  cmd->add_option("--probe-timeout", o->probe_timeout_s,
                  "Seconds to wait for probes to arrive (default 5; at least --crit-seconds)")
      ->option_text("SECONDS")
      ->check(number_in(0.001, 86400, "seconds"));
  cmd->add_option("--format", o->format, "Output: human (default), json, nagios or prometheus")
      ->check(CLI::IsMember({"human", "json", "nagios", "prometheus"}))
      ->option_text("FORMAT");
  cmd->add_option("--watch", o->watch_s, "Measure again every INTERVAL seconds, a line per sample")
      ->option_text("INTERVAL")
      ->check(number_in(0.001, 86400, "seconds"));
  cmd->add_option("--count", o->count, "With --watch: stop after N samples")
      ->option_text("N")
      ->check(integer_in(1, std::int64_t{1} << 62, "a count"));
  cmd->add_option("--output", o->output,
                  "Write each sample to FILE, replacing it whole (atomically), not to stdout")
      ->option_text("FILE");
  cmd->add_flag("--self", o->self,
                "Also join as a replica (empty snapshot) and time the probes in our own feed");
  set_group(*cmd, "Replicas and probes", {"--replica", "--self", "--probes", "--probe-timeout"});
  set_group(*cmd, "Thresholds",
            {"--warn-bytes", "--crit-bytes", "--warn-seconds", "--crit-seconds", "--min-replicas"});
  set_group(*cmd, "Output", {"--format", "--watch", "--count", "--output"});
  cmd->callback([o, cmd, &runner] { runner = [o, cmd] { return run_lag_check(*o, *cmd); }; });
}

}  // namespace redis_repl::cli
