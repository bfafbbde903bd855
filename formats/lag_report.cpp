#include "formats/lag_report.hpp"

#include <cstdio>

#include "formats/json_writer.hpp"
#include "formats/terminal_text.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

std::string fixed3(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", d);
  return buf;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

// The one-line summary nagios and the human table end with.
std::string lag_summary(const LagResult& r) {
  if (!r.error.empty()) return r.error;
  std::vector<std::string> bad;
  if (!r.status_reason.empty()) bad.push_back(r.status_reason);
  for (std::size_t i = 0; i < r.replicas.size(); ++i)
    if (r.verdicts[i].status != core::Status::ok)
      bad.push_back(r.replicas[i].name + ": " + join(r.verdicts[i].reasons, ", "));
  if (!bad.empty()) return join(bad, "; ");
  const std::size_t n = r.replicas.size();
  std::string s = std::to_string(n) + (n == 1 ? " replica" : " replicas") + " in step";
  if (r.inspectors)
    s += " (" + std::to_string(r.inspectors) +
         (r.inspectors == 1 ? " replication client" : " replication clients") +
         " without a port, not measured)";
  return s;
}

namespace {

std::string summary(const LagResult& r) { return lag_summary(r); }

// The human forms show what servers reported (addresses from INFO, error replies) through
// terminal_safe(): for a person's terminal, never a control sequence of theirs.
void write_human_rows(std::string& out, const LagResult& r) {
  if (!r.replicas.empty()) {
    char line[256];
    std::snprintf(line, sizeof line, "%-22s %-9s %-5s %12s  %-26s %s\n", "REPLICA", "STATUS",
                  "LINK", "LAG BYTES", "PROBE MIN/MEDIAN/MAX (S)", "NOTES");
    out += line;
  }
  for (std::size_t i = 0; i < r.replicas.size(); ++i) {
    const core::ReplicaLag& x = r.replicas[i];
    std::string probe = "-";
    if (x.probe_waited_s) {
      probe = "not delivered (" + fixed3(*x.probe_waited_s) + ")";
    } else if (const auto st = core::probe_stats(x.probe_seconds)) {
      probe = fixed3(st->min) + "/" + fixed3(st->median) + "/" + fixed3(st->max);
    }
    const std::string link = !x.link_up ? "-" : *x.link_up ? "up" : "down";
    const std::string bytes = x.lag_bytes ? std::to_string(*x.lag_bytes) : "-";
    char line[512];
    std::snprintf(
        line, sizeof line, "%-22s %-9s %-5s %12s  %-26s %s\n", terminal_safe(x.name).c_str(),
        std::string(core::status_name(r.verdicts[i].status)).c_str(), link.c_str(), bytes.c_str(),
        probe.c_str(), terminal_safe(join(r.verdicts[i].reasons, "; ")).c_str());
    out += line;
  }
}

void write_human(std::string& out, const LagResult& r) {
  out += "master " + terminal_safe(r.master);
  if (r.error.empty()) out += ", offset " + std::to_string(r.master_offset);
  out += "\n";
  write_human_rows(out, r);
  out += std::string(core::status_name(r.status)) + ": " + terminal_safe(summary(r)) + "\n";
}

void write_human_line_replicas(std::string& out, const LagResult& r);

// --watch for people: "2026-11-24T03:20:00.123Z OK 127.0.0.1:6380 0 B 0.001 s, ..."
void write_human_line(std::string& out, const LagResult& r) {
  append_time_ms(out, r.unix_ms);
  out += " " + std::string(core::status_name(r.status));
  if (!r.error.empty() || !r.status_reason.empty() || r.replicas.empty()) {
    out += " " + terminal_safe(summary(r)) + "\n";
    return;
  }
  write_human_line_replicas(out, r);
  out += "\n";
}

void write_human_line_replicas(std::string& out, const LagResult& r) {
  for (std::size_t i = 0; i < r.replicas.size(); ++i) {
    const core::ReplicaLag& x = r.replicas[i];
    out += (i ? ", " : " ") + terminal_safe(x.name) + " ";
    out += x.lag_bytes ? std::to_string(*x.lag_bytes) + " B " : std::string("- B ");
    if (x.probe_waited_s) {
      out += "undelivered " + core::format_seconds(*x.probe_waited_s) + " s";
    } else if (const auto st = core::probe_stats(x.probe_seconds)) {
      out += core::format_seconds(st->max) + " s";
    } else {
      out += "- s";
    }
  }
}

void write_json_master_and_replicas(JsonWriter& w, const LagResult& r);

// A text field that is null when there is nothing to say (no error, no state).
void bytes_or_null(JsonWriter& w, std::string_view text) {
  if (text.empty()) {
    w.null();
  } else {
    w.bytes(text);
  }
}

void write_json(std::string& out, const LagResult& r) {
  JsonWriter w(out);
  w.begin_object();
  w.key("kind");  // as every JSON line redis-repl writes
  w.ascii("lag_check");
  w.key("status");
  w.ascii(core::status_name(r.status));
  w.key("time_ms");
  w.number(r.unix_ms);
  w.key("duration_seconds");
  w.real(r.duration_s);
  w.key("summary");
  w.bytes(summary(r));
  write_json_master_and_replicas(w, r);
  w.end();
  out += "\n";
}

// "master", "min_replicas", "inspectors" and "replicas" of one master (one shard's).
void write_json_master_and_replicas(JsonWriter& w, const LagResult& r) {
  w.key("master");
  w.begin_object();
  w.key("address");
  w.bytes(r.master);
  w.key("offset");
  if (r.error.empty()) {
    w.number(r.master_offset);
  } else {
    w.null();
  }
  w.key("error");
  bytes_or_null(w, r.error);
  w.end();
  w.key("min_replicas");
  w.number(r.min_replicas);
  w.key("inspectors");
  w.unsigned_number(r.inspectors);
  w.key("replicas");
  w.begin_array();
  for (std::size_t i = 0; i < r.replicas.size(); ++i) {
    const core::ReplicaLag& x = r.replicas[i];
    auto opt_int = [&](const char* k, const std::optional<std::int64_t>& v) {
      w.key(k);
      if (v) {
        w.number(*v);
      } else {
        w.null();
      }
    };
    w.begin_object();
    w.key("address");
    w.bytes(x.name);
    w.key("status");
    w.ascii(core::status_name(r.verdicts[i].status));
    w.key("reasons");
    w.begin_array();
    for (const std::string& s : r.verdicts[i].reasons) w.bytes(s);
    w.end();
    w.key("reachable");
    w.boolean(x.reachable);
    w.key("error");
    bytes_or_null(w, x.error);
    w.key("state");
    bytes_or_null(w, x.state);
    w.key("link_up");
    if (x.link_up) {
      w.boolean(*x.link_up);
    } else {
      w.null();
    }
    opt_int("master_last_io_seconds_ago", x.last_io_s);
    w.key("sync_in_progress");
    w.boolean(x.sync_in_progress);
    opt_int("lag_bytes", x.lag_bytes);
    opt_int("replica_offset", x.replica_offset);
    opt_int("acked_offset", x.acked_offset);
    opt_int("ack_age_seconds", x.ack_age_s);
    w.key("probes");
    w.begin_object();
    w.key("sent");
    w.unsigned_number(x.probes_sent);
    w.key("delivered");
    w.unsigned_number(x.probe_seconds.size());
    const auto st = core::probe_stats(x.probe_seconds);
    const std::pair<const char*, double> stats[] = {{"min_seconds", st ? st->min : 0},
                                                    {"median_seconds", st ? st->median : 0},
                                                    {"max_seconds", st ? st->max : 0}};
    for (const auto& [k, v] : stats) {
      w.key(k);
      if (st) {
        w.real(v);
      } else {
        w.null();
      }
    }
    w.key("waited_seconds");
    if (x.probe_waited_s) {
      w.real(*x.probe_waited_s);
    } else {
      w.null();
    }
    w.end();
    w.end();
  }
  w.end();
}

// Nagios plugin convention: "SERVICE STATUS - text | 'label'=value[UOM];warn;crit;min;max", the
// thresholds as given (plain decimals), units from the plugin guidelines (B, s; none for counts).
// Perfdata of one master's replicas; `prefix` starts every label (a shard's, with --cluster).
std::string nagios_perf(const LagResult& r, const core::Thresholds& t, const std::string& prefix) {
  std::string perf;
  auto bytes_thr = [](const std::optional<std::int64_t>& v) {
    return v ? std::to_string(*v) : std::string();
  };
  auto seconds_thr = [](const std::optional<double>& v) {
    return v ? core::format_decimal(*v) : std::string();
  };
  for (const core::ReplicaLag& x : r.replicas) {
    if (x.lag_bytes)
      perf += " '" + prefix + x.name + " bytes'=" + std::to_string(*x.lag_bytes) + "B;" +
              bytes_thr(t.warn_bytes) + ";" + bytes_thr(t.crit_bytes) + ";0;";
    std::optional<double> s;
    if (x.probe_waited_s) {
      s = *x.probe_waited_s;
    } else if (const auto st = core::probe_stats(x.probe_seconds)) {
      s = st->max;
    }
    if (s)
      perf += " '" + prefix + x.name + " seconds'=" + core::format_seconds(*s) + "s;" +
              seconds_thr(t.warn_seconds) + ";" + seconds_thr(t.crit_seconds) + ";0;";
  }
  if (r.error.empty()) {
    // Fewer replicas than --min-replicas is critical: the range "N:" alerts below N.
    perf += " '" + prefix + "replicas'=" + std::to_string(r.replicas_found) + ";;" +
            (r.min_replicas > 0 ? std::to_string(r.min_replicas) + ":" : std::string()) + ";0;";
    perf += " '" + prefix + "inspectors'=" + std::to_string(r.inspectors) + ";;;0;";
  }
  return perf;
}

// Nagios plugin convention: "SERVICE STATUS - text | 'label'=value[UOM];warn;crit;min;max", the
// thresholds as given (plain decimals), units from the plugin guidelines (B, s; none for counts).
void write_nagios(std::string& out, const LagResult& r, const core::Thresholds& t) {
  out += "REDIS REPLICATION " + std::string(core::status_name(r.status)) + " - " + summary(r);
  const std::string perf = nagios_perf(r, t, "");
  if (!perf.empty()) out += " |" + perf;
  out += "\n";
}

std::string escape_label(std::string_view v) {
  std::string s;
  for (char c : v) {
    if (c == '\\' || c == '"') s.push_back('\\');
    if (c == '\n') {
      s += "\\n";
      continue;
    }
    s.push_back(c);
  }
  return s;
}

// The text exposition format, every family with HELP and TYPE, every series once. A family
// with no series is left out.
struct Series {
  std::string labels;  // without braces; empty for none
  double value = 0;
};
void prometheus_family(std::string& out, const char* name, const char* help,
                       const std::vector<Series>& series) {
  if (series.empty()) return;
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
  for (const Series& x : series) {
    out += name;
    if (!x.labels.empty()) out += "{" + x.labels + "}";
    out += " ";
    append_double(out, x.value);
    out += "\n";
  }
}

// One master's labels: master="..." alone, or shard="...",master="..." with --cluster.
std::string master_labels(const LagResult& r) {
  std::string l;
  if (!r.shard.empty()) l = "shard=\"" + escape_label(r.shard) + "\",";
  return l + "master=\"" + escape_label(r.master) + "\"";
}

// The per-master families (offset, replica and inspector counts) and per-replica families of
// the masters measured (those without an error). min_replicas: the --min-replicas family too.
void prometheus_masters(std::string& out, const std::vector<const LagResult*>& masters,
                        bool min_replicas) {
  auto per_master = [&](const char* name, const char* help, auto value) {
    std::vector<Series> series;
    for (const LagResult* r : masters)
      if (r->error.empty()) series.push_back(Series{master_labels(*r), value(*r)});
    prometheus_family(out, name, help, series);
  };
  per_master("redis_repl_master_repl_offset_bytes", "The master's replication offset.",
             [](const LagResult& r) { return static_cast<double>(r.master_offset); });
  per_master("redis_repl_connected_replicas",
             "Replicas found: listed by the master with a port, or given with --replica.",
             [](const LagResult& r) { return static_cast<double>(r.replicas_found); });
  if (min_replicas)
    per_master("redis_repl_min_replicas", "Fewer replicas than this is CRITICAL (--min-replicas).",
               [](const LagResult& r) { return static_cast<double>(r.min_replicas); });
  per_master("redis_repl_connected_inspectors",
             "Replication clients listed without a port (redis-cli --replica, tail): not measured.",
             [](const LagResult& r) { return static_cast<double>(r.inspectors); });
  // The per-replica lags are true lags (bytes behind, seconds a probe took), not
  // redis_exporter's seconds since the last ACK.
  auto each = [&](const char* name, const char* help, auto value) {
    std::vector<Series> series;
    for (const LagResult* r : masters) {
      if (!r->error.empty()) continue;
      for (std::size_t i = 0; i < r->replicas.size(); ++i)
        if (const std::optional<double> v = value(*r, i))
          series.push_back(Series{
              master_labels(*r) + ",replica=\"" + escape_label(r->replicas[i].name) + "\"", *v});
    }
    prometheus_family(out, name, help, series);
  };
  each("redis_repl_replica_status", "Replica status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
       [](const LagResult& r, std::size_t i) -> std::optional<double> {
         return static_cast<double>(r.verdicts[i].status);
       });
  each("redis_repl_replica_lag_bytes", "Master offset minus the replica's offset.",
       [](const LagResult& r, std::size_t i) -> std::optional<double> {
         if (!r.replicas[i].lag_bytes) return std::nullopt;
         return static_cast<double>(*r.replicas[i].lag_bytes);
       });
  each("redis_repl_replica_lag_seconds",
       "Slowest probe delivery, or the time waited for one that never arrived.",
       [](const LagResult& r, std::size_t i) -> std::optional<double> {
         const core::ReplicaLag& x = r.replicas[i];
         if (x.probe_waited_s) return *x.probe_waited_s;
         if (const auto st = core::probe_stats(x.probe_seconds)) return st->max;
         return std::nullopt;
       });
  each("redis_repl_replica_probes_delivered_ratio", "Share of the probes that arrived.",
       [](const LagResult& r, std::size_t i) -> std::optional<double> {
         const core::ReplicaLag& x = r.replicas[i];
         if (!x.probes_sent || !x.reachable) return std::nullopt;
         return static_cast<double>(x.probe_seconds.size()) / x.probes_sent;
       });
  each("redis_repl_replica_link_up", "master_link_status as the replica reports it (1 up).",
       [](const LagResult& r, std::size_t i) -> std::optional<double> {
         if (!r.replicas[i].link_up) return std::nullopt;
         return *r.replicas[i].link_up ? 1.0 : 0.0;
       });
}

void write_prometheus(std::string& out, const LagResult& r) {
  const std::string m = master_labels(r);
  prometheus_family(out, "redis_repl_up",
                    "1 when the master answered and was measured, 0 when not.",
                    {{m, r.error.empty() ? 1.0 : 0.0}});
  prometheus_family(out, "redis_repl_lag_check_status",
                    "Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                    {{m, static_cast<double>(r.status)}});
  prometheus_family(out, "redis_repl_last_sample_timestamp_seconds",
                    "When the sample began, in seconds since the Unix epoch.",
                    {{m, static_cast<double>(r.unix_ms) / 1000.0}});
  prometheus_family(out, "redis_repl_check_duration_seconds", "How long the sample took.",
                    {{m, r.duration_s}});
  if (!r.error.empty()) return;
  prometheus_masters(out, {&r}, true);
}

// --cluster: the check's own families carry no label (one cluster per file); the masters' carry
// shard and master, the replicas' shard, master and replica.
void write_cluster_prometheus(std::string& out, const ClusterLagResult& r) {
  prometheus_family(out, "redis_repl_cluster_up",
                    "1 when the cluster's shards were discovered, 0 when not.",
                    {{"", r.error.empty() ? 1.0 : 0.0}});
  prometheus_family(out, "redis_repl_lag_check_status",
                    "Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                    {{"", static_cast<double>(r.status)}});
  prometheus_family(out, "redis_repl_last_sample_timestamp_seconds",
                    "When the sample began, in seconds since the Unix epoch.",
                    {{"", static_cast<double>(r.unix_ms) / 1000.0}});
  prometheus_family(out, "redis_repl_check_duration_seconds", "How long the sample took.",
                    {{"", r.duration_s}});
  if (!r.error.empty()) return;
  prometheus_family(out, "redis_repl_cluster_shards", "Master shards found.",
                    {{"", static_cast<double>(r.shards.size())}});
  prometheus_family(out, "redis_repl_min_replicas",
                    "Fewer replicas in a shard than this is CRITICAL (--min-replicas).",
                    {{"", static_cast<double>(r.min_replicas)}});
  std::vector<Series> up, status;
  std::vector<const LagResult*> masters;
  for (const LagResult& s : r.shards) {
    up.push_back(Series{master_labels(s), s.error.empty() ? 1.0 : 0.0});
    status.push_back(Series{master_labels(s), static_cast<double>(s.status)});
    masters.push_back(&s);
  }
  prometheus_family(out, "redis_repl_up",
                    "1 when the master answered and was measured, 0 when not.", up);
  prometheus_family(out, "redis_repl_shard_status",
                    "A shard's status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", status);
  prometheus_masters(out, masters, false);
}

std::string cluster_summary(const ClusterLagResult& r) {
  if (!r.error.empty()) return r.error;
  if (!r.reasons.empty()) return join(r.reasons, "; ");
  std::size_t replicas = 0, inspectors = 0;
  for (const LagResult& s : r.shards) {
    replicas += s.replicas.size();
    inspectors += s.inspectors;
  }
  const std::size_t n = r.shards.size();
  std::string s = std::to_string(n) + (n == 1 ? " shard, " : " shards, ") +
                  std::to_string(replicas) + (replicas == 1 ? " replica" : " replicas") +
                  " in step";
  if (inspectors)
    s += " (" + std::to_string(inspectors) +
         (inspectors == 1 ? " replication client" : " replication clients") +
         " without a port, not measured)";
  return s;
}

// "shard 3f2a... master 127.0.0.1:7000 (node 9c1d...), offset 1234: OK"
std::string shard_heading(const LagResult& s) {
  std::string h = "shard " + s.shard + " master " + s.master;
  if (!s.node.empty()) h += " (node " + s.node + ")";
  if (s.error.empty()) h += ", offset " + std::to_string(s.master_offset);
  h += ": " + std::string(core::status_name(s.status));
  if (s.status != core::Status::ok) h += " - " + summary(s);
  return h;
}

// Not discovered: the status line alone, "UNKNOWN: <why>".
void write_cluster_human(std::string& out, const ClusterLagResult& r) {
  if (r.error.empty())
    out += "cluster " + terminal_safe(r.seeds) + ", " + std::to_string(r.shards.size()) +
           (r.shards.size() == 1 ? " shard\n" : " shards\n");
  for (const LagResult& s : r.shards) {
    out += terminal_safe(shard_heading(s)) + "\n";
    write_human_rows(out, s);
  }
  out += std::string(core::status_name(r.status)) + ": " + terminal_safe(cluster_summary(r)) + "\n";
}

// --watch: "2026-11-24T03:20:00.123Z OK shard a1b2: 127.0.0.1:7003 0 B 0.001 s; shard ..."
void write_cluster_human_line(std::string& out, const ClusterLagResult& r) {
  append_time_ms(out, r.unix_ms);
  out += " " + std::string(core::status_name(r.status));
  if (!r.error.empty() || !r.reasons.empty()) {
    out += " " + terminal_safe(cluster_summary(r)) + "\n";
    return;
  }
  for (std::size_t i = 0; i < r.shards.size(); ++i) {
    out += (i ? "; shard " : " shard ") + terminal_safe(r.shards[i].shard) + ":";
    if (r.shards[i].replicas.empty()) out += " no replicas";
    write_human_line_replicas(out, r.shards[i]);
  }
  out += "\n";
}

void write_cluster_json(std::string& out, const ClusterLagResult& r) {
  JsonWriter w(out);
  w.begin_object();
  w.key("kind");
  w.ascii("lag_check");
  w.key("cluster");
  w.boolean(true);
  w.key("status");
  w.ascii(core::status_name(r.status));
  w.key("time_ms");
  w.number(r.unix_ms);
  w.key("duration_seconds");
  w.real(r.duration_s);
  w.key("summary");
  w.bytes(cluster_summary(r));
  w.key("seeds");
  w.bytes(r.seeds);
  w.key("error");
  bytes_or_null(w, r.error);
  w.key("min_replicas");
  w.number(r.min_replicas);
  w.key("shards");
  w.begin_array();
  for (const LagResult& s : r.shards) {
    w.begin_object();
    w.key("shard");
    w.bytes(s.shard);
    w.key("node");
    w.bytes(s.node);
    w.key("status");
    w.ascii(core::status_name(s.status));
    w.key("summary");
    w.bytes(summary(s));
    write_json_master_and_replicas(w, s);
    w.end();
  }
  w.end();
  w.end();
  out += "\n";
}

void write_cluster_nagios(std::string& out, const ClusterLagResult& r, const core::Thresholds& t) {
  out += "REDIS CLUSTER REPLICATION " + std::string(core::status_name(r.status)) + " - " +
         cluster_summary(r);
  std::string perf;
  for (const LagResult& s : r.shards) perf += nagios_perf(s, t, "shard " + s.shard + " ");
  if (r.error.empty()) perf += " 'shards'=" + std::to_string(r.shards.size()) + ";;;0;";
  if (!perf.empty()) out += " |" + perf;
  out += "\n";
}

}  // namespace

bool parse_lag_format(std::string_view name, LagFormat& out) noexcept {
  if (name == "human") {
    out = LagFormat::human;
  } else if (name == "json") {
    out = LagFormat::json;
  } else if (name == "nagios") {
    out = LagFormat::nagios;
  } else if (name == "prometheus") {
    out = LagFormat::prometheus;
  } else {
    return false;
  }
  return true;
}

void write_lag(std::string& out, const LagResult& r, LagFormat f, const core::Thresholds& t,
               bool watch) {
  switch (f) {
    case LagFormat::human:
      return watch ? write_human_line(out, r) : write_human(out, r);
    case LagFormat::json:
      return write_json(out, r);
    case LagFormat::nagios:
      return write_nagios(out, r, t);
    case LagFormat::prometheus:
      return write_prometheus(out, r);
  }
}

void write_cluster_lag(std::string& out, const ClusterLagResult& r, LagFormat f,
                       const core::Thresholds& t, bool watch) {
  switch (f) {
    case LagFormat::human:
      return watch ? write_cluster_human_line(out, r) : write_cluster_human(out, r);
    case LagFormat::json:
      return write_cluster_json(out, r);
    case LagFormat::nagios:
      return write_cluster_nagios(out, r, t);
    case LagFormat::prometheus:
      return write_cluster_prometheus(out, r);
  }
}

}  // namespace redis_repl::formats
