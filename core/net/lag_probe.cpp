#include "core/net/lag_probe.hpp"

#include <charconv>
#include <memory>
#include <optional>
#include <random>

#include "core/net/client.hpp"

namespace redis_repl::core::net {
namespace {

std::string name_of(const Endpoint& e) { return e.host + ":" + std::to_string(e.port); }

template <class T>
std::optional<T> number(const std::map<std::string, std::string, std::less<>>& info,
                        std::string_view key) {
  const auto it = info.find(key);
  if (it == info.end()) return std::nullopt;
  T v{};
  const auto r = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (r.ec != std::errc{} || r.ptr != it->second.data() + it->second.size()) return std::nullopt;
  return v;
}

// INFO replication over an open, authenticated client.
std::string info_replication(Client& c, std::map<std::string, std::string, std::less<>>& out,
                             Deadline deadline) {
  Reply r;
  const std::string err = c.command({"INFO", "replication"}, r, deadline);
  if (!err.empty()) return err;
  if (r.type != Reply::Type::bulk) return "INFO: " + (r.is_error() ? r.str : "unexpected reply");
  out = parse_info(r.str);
  return {};
}

struct Target {
  Endpoint endpoint;
  ReplicaLag lag;
  std::unique_ptr<Client> client;
  std::vector<std::optional<Clock::time_point>> arrivals;
};

}  // namespace

LagReport measure_lag(const LagProbeConfig& config) {
  LagReport report;
  report.master = name_of(config.master);
  asio::io_context io(1);
  auto step = [&] { return Clock::now() + config.timeout; };

  // 1. The master: reachable, a master, and its offset.
  Client master(io);
  std::string err = master.connect(config.master, step());
  if (err.empty()) err = authenticate(master, config.user, config.password, step());
  std::map<std::string, std::string, std::less<>> info;
  if (err.empty()) err = info_replication(master, info, step());
  if (!err.empty()) {
    report.error = report.master + ": " + err;
    return report;
  }
  if (info["role"] != "master") {
    report.error = report.master + " is not a master (role " + info["role"] + ")";
    return report;
  }
  report.master_offset = number<std::int64_t>(info, "master_repl_offset").value_or(0);
  const std::vector<ListedReplica> listed = listed_replicas(info);

  // 2. The replicas to check: named ones, or every one the master lists.
  std::vector<Target> targets;
  if (config.replicas.empty()) {
    for (const ListedReplica& l : listed)
      targets.push_back(Target{Endpoint{l.ip, l.port}, {}, {}, {}});
  } else {
    for (const Endpoint& e : config.replicas) targets.push_back(Target{e, {}, {}, {}});
  }
  const std::string channel = [] {
    std::random_device rd;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    return std::string("__redis-repl:lag:") + buf;
  }();

  for (Target& t : targets) {
    ReplicaLag& r = t.lag;
    r.name = name_of(t.endpoint);
    for (const ListedReplica& l : listed) {
      if (l.ip == t.endpoint.host && l.port == t.endpoint.port) {
        r.state = l.state;
        r.acked_offset = l.offset;
        r.ack_age_s = l.ack_age_s;
      }
    }
    if (t.endpoint.port == 0) {
      r.error = "announces no port (a tool like redis-cli --replica); name it with --replica";
      continue;
    }
    t.client = std::make_unique<Client>(io);
    std::string e = t.client->connect(t.endpoint, step());
    if (!e.empty()) {  // refused, unresolvable: not measured (UNKNOWN)
      r.error = e;
      t.client.reset();
      continue;
    }
    const Clock::time_point asked = Clock::now();
    e = authenticate(*t.client, config.user, config.password, step());
    std::map<std::string, std::string, std::less<>> rinfo;
    if (e.empty()) e = info_replication(*t.client, rinfo, step());
    if (!e.empty()) {
      r.error = e;
      t.client.reset();
      if (e.starts_with("timed out")) {
        // It took the connection but answers nothing (stopped, or stuck loading): as late as a
        // probe that never came, for as long as we waited.
        r.reachable = true;
        r.probe_waited_s = std::chrono::duration<double>(Clock::now() - asked).count();
      }
      continue;
    }
    r.reachable = true;
    r.role = rinfo["role"];
    if (rinfo.count("master_link_status")) r.link_up = rinfo["master_link_status"] == "up";
    r.last_io_s = number<std::int64_t>(rinfo, "master_last_io_seconds_ago");
    r.sync_in_progress = rinfo["master_sync_in_progress"] == "1";
    r.replica_offset = number<std::int64_t>(rinfo, "slave_repl_offset");
    // 3. Subscribe, so the probes can be timed as they arrive.
    Reply sub;
    e = t.client->command({"SUBSCRIBE", channel}, sub, step());
    if (!e.empty() || sub.type != Reply::Type::array) {
      r.error = "SUBSCRIBE: " + (e.empty() ? sub.str : e);
      t.client.reset();
      continue;
    }
    t.arrivals.assign(static_cast<std::size_t>(config.probes), std::nullopt);
    Target* tp = &t;
    t.client->listen([tp](const Reply& m, Clock::time_point at) {
      if (m.type != Reply::Type::array || m.elements.size() != 3 || m.elements[0].str != "message")
        return;
      std::size_t i = 0;
      const std::string& p = m.elements[2].str;
      if (std::from_chars(p.data(), p.data() + p.size(), i).ec == std::errc{} &&
          i < tp->arrivals.size() && !tp->arrivals[i])
        tp->arrivals[i] = at;
    });
  }
  for (Target& t : targets) derive_lag_bytes(t.lag, report.master_offset);

  // 4. The probes: PUBLISH on the master, one every interval.
  std::vector<Clock::time_point> sent;
  for (int i = 0; i < config.probes; ++i) {
    if (i) run_until(io, Clock::now() + config.interval, [] { return false; });
    sent.push_back(Clock::now());
    Reply r;
    err = master.command({"PUBLISH", channel, std::to_string(i)}, r, step());
    if (!err.empty() || r.is_error()) {
      report.error = report.master + ": PUBLISH: " + (err.empty() ? r.str : err);
      return report;
    }
    for (Target& t : targets) ++t.lag.probes_sent;
  }
  auto all_in = [&] {
    for (const Target& t : targets)
      for (const auto& a : t.arrivals)
        if (!a) return false;
    return true;
  };
  run_until(io, Clock::now() + config.timeout, all_in);
  const Clock::time_point end = Clock::now();
  for (Target& t : targets) {
    for (std::size_t i = 0; i < t.arrivals.size(); ++i) {
      if (t.arrivals[i]) {
        t.lag.probe_seconds.push_back(
            std::chrono::duration<double>(*t.arrivals[i] - sent[i]).count());
      } else if (!t.lag.probe_waited_s) {
        t.lag.probe_waited_s = std::chrono::duration<double>(end - sent[i]).count();
      }
    }
    if (t.client) t.client->close();
    report.replicas.push_back(std::move(t.lag));
  }
  master.close();
  return report;
}

}  // namespace redis_repl::core::net
