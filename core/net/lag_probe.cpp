#include "core/net/lag_probe.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include "core/bytes.hpp"
#include "core/net/client.hpp"
#include "core/net/session.hpp"
#include "core/replica.hpp"

namespace redis_repl::core::net {
namespace {

template <class T>
std::optional<T> number(const std::map<std::string, std::string, std::less<>>& info,
                        std::string_view key) {
  const auto it = info.find(key);
  T v{};
  if (it == info.end() || !parse_decimal(it->second, v)) return std::nullopt;
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

// How long a diskless master waits before it forks for a new replica: its
// repl-diskless-sync-delay when CONFIG GET may read it, else Redis's default (5 s). Zero for a
// master that syncs from disk. The wait is told in a note.
std::chrono::milliseconds diskless_delay(Client& master, Deadline deadline,
                                         std::vector<std::string>& notes) {
  Reply r;
  const std::string err = master.command({"CONFIG", "GET", "repl-diskless-sync*"}, r, deadline);
  std::map<std::string, std::string, std::less<>> config;
  if (err.empty() && r.type == Reply::Type::array)
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
      config[r.elements[i].str] = r.elements[i + 1].str;
  const auto diskless = config.find("repl-diskless-sync");
  const auto delay = number<std::int64_t>(config, "repl-diskless-sync-delay");
  if (diskless == config.end() || !delay) {
    notes.push_back(
        "--self: cannot read the master's repl-diskless-sync-delay; allowing 5 s (its default) "
        "more to join");
    return std::chrono::seconds(5);
  }
  if (diskless->second != "yes" || *delay <= 0) return std::chrono::milliseconds(0);
  notes.push_back("--self: the master waits repl-diskless-sync-delay (" + std::to_string(*delay) +
                  " s) before it syncs a new replica; waiting for it");
  return std::chrono::seconds(std::min<std::int64_t>(*delay, 3600));
}

// The index of a probe ("0", "1", ...) that has not arrived yet: its arrival time is recorded.
void record_arrival(std::string_view payload, Clock::time_point at,
                    std::vector<std::optional<Clock::time_point>>& arrivals) {
  std::size_t i = 0;
  if (parse_decimal(payload, i) && i < arrivals.size() && !arrivals[i]) arrivals[i] = at;
}

// Our own replica link (core/net/session.hpp) in the same io_context, watching its feed for the
// probes.
class SelfLink final : public SessionHandler {
 public:
  SelfLink(asio::io_context& io, const LagProbeConfig& config, const std::string& channel,
           std::chrono::milliseconds join_timeout)
      : io_(io), channel_(channel), server_(config.master) {
    server_.timeout = join_timeout;
    replica_ = std::make_unique<Replica>(replica_config(server_, ReplicaConfig::Snapshot::empty),
                                         discard_, Clock::now());
    arrivals.assign(static_cast<std::size_t>(config.probes), std::nullopt);
  }
  // Connects and runs the handshake until the feed flows. Empty on success.
  std::string start(Deadline deadline) {
    link_ = std::make_unique<Link>(io_, server_, *replica_, *this);
    link_->start();
    if (!run_until(io_, deadline,
                   [&] { return replica_->streaming() || !error.empty() || link_->finished(); }))
      return "timed out joining as a replica";
    if (error.empty() && link_->finished()) error = link_->result().error;
    return error;
  }
  void stop() {
    if (link_) link_->stop();
  }
  // True once a command has come through the feed: the master streams to us.
  bool flowing() const { return flowing_; }

  bool on_event(const Event& e) override {
    if (e.kind == Event::Kind::failed) {
      error = e.error.message;
      return false;
    }
    if (e.kind != Event::Kind::command) return true;
    flowing_ = true;
    confirmed_ = e.end_offset;
    if (e.args.size() == 3 && e.args[1] == channel_)
      record_arrival(e.args[2], Clock::now(), arrivals);
    return true;
  }
  std::int64_t on_batch_end() override { return confirmed_; }

  std::vector<std::optional<Clock::time_point>> arrivals;
  std::string error;

 private:
  struct Discard : RdbVisitor {
    Flow on_key_begin(const KeyInfo&) override { return Flow::skip; }
  };

  asio::io_context& io_;
  std::string channel_;
  Server server_;
  Discard discard_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<Link> link_;
  bool flowing_ = false;
  std::int64_t confirmed_ = -1;
};

struct Target {
  Endpoint endpoint;
  ReplicaLag lag;
  std::unique_ptr<Client> client;
  std::vector<std::optional<Clock::time_point>> arrivals;  // Timing::publish
  OffsetProbes offsets;                                    // Timing::offset
};

// Timing::offset: each probe reads the master's offset (after a write of our own when nothing
// else moved it), then the replicas are polled until their own offsets reach it. Empty, or why
// the master could not be asked.
std::string offset_probes(asio::io_context& io, Client& master, const LagProbeConfig& config,
                          std::vector<Target>& targets, LagReport& report) {
  auto step = [&] { return Clock::now() + config.query_timeout; };
  auto master_offset = [&](std::int64_t& out) {
    std::map<std::string, std::string, std::less<>> info;
    std::string e = info_replication(master, info, step());
    if (e.empty()) {
      const auto o = number<std::int64_t>(info, "master_repl_offset");
      if (!o) e = "INFO has no master_repl_offset";
      out = o.value_or(0);
    }
    return e.empty() ? e : report.master + ": " + e;
  };
  auto pending = [&](const Target& t) { return t.client && !t.offsets.complete(); };
  // One round: INFO replication on every replica still behind a probe.
  auto poll_round = [&] {
    for (Target& t : targets) {
      if (!pending(t)) continue;
      std::map<std::string, std::string, std::less<>> rinfo;
      const std::string e = info_replication(*t.client, rinfo, step());
      const Clock::time_point at = Clock::now();
      if (!e.empty()) {
        t.lag.error = "INFO while polling its offset: " + e;
        t.client.reset();  // its probes stay missing: judged as not delivered
        continue;
      }
      if (const auto o = number<std::int64_t>(rinfo, "slave_repl_offset")) t.offsets.seen(*o, at);
    }
  };
  auto poll_until = [&](Deadline until, bool stop_when_done) {
    for (;;) {
      poll_round();
      const bool done = std::none_of(targets.begin(), targets.end(), pending);
      if ((stop_when_done && done) || Clock::now() >= until) return;
      run_until(io, std::min(until, Clock::now() + config.poll_interval), [] { return false; });
    }
  };
  std::optional<std::int64_t> last = report.master_offset;
  bool may_write = !config.write_key.empty();
  for (int i = 0; i < config.probes; ++i) {
    if (i) poll_until(Clock::now() + config.interval, false);
    const Clock::time_point t0 = Clock::now();
    std::int64_t offset = 0;
    if (std::string e = master_offset(offset); !e.empty()) return e;
    if (may_write && probe_needs_write(last, offset)) {
      Reply r;
      const std::string e = master.command(
          {"SET", config.write_key, "lag-check probe " + std::to_string(i), "PX", "10000"}, r,
          step());
      if (!e.empty()) return report.master + ": SET " + config.write_key + ": " + e;
      if (r.is_error()) {
        // Not allowed to write (ACL, a read-only user) or the slot moved: the probes go on
        // timing whatever is in flight, which may be nothing.
        report.notes.push_back(report.master + ": cannot write the probe key " + config.write_key +
                               " (" + r.str + "); timing without writes");
        may_write = false;
      } else if (std::string m = master_offset(offset); !m.empty()) {
        return m;
      }
    }
    last = offset;
    for (Target& t : targets) {
      ++t.lag.probes_sent;
      if (t.client) t.offsets.sent(t0, offset);
    }
  }
  poll_until(Clock::now() + config.timeout, true);
  const Clock::time_point end = Clock::now();
  for (Target& t : targets) {
    if (t.offsets.size() == 0) continue;  // never polled: its error says why
    t.lag.probe_seconds = t.offsets.seconds();
    t.lag.probe_waited_s = t.offsets.waited(end);
  }
  return {};
}

}  // namespace

LagReport measure_lag(const LagProbeConfig& config) {
  LagReport report;
  report.master = config.master.endpoint.name();
  asio::io_context io(1);
  auto step = [&] { return Clock::now() + config.query_timeout; };

  // 1. The master: reachable, a master, and its offset.
  Client master(io);
  std::string err = connect_and_auth(master, config.master, step());
  std::map<std::string, std::string, std::less<>> info;
  if (err.empty() && !(err = info_replication(master, info, step())).empty())
    err = report.master + ": " + err;
  if (!err.empty()) {
    report.error = err;
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
  for (const ListedReplica& l : listed)
    if (is_inspector(l)) ++report.inspectors;
  if (config.replicas.empty()) {
    for (const ListedReplica& l : listed) {
      if (is_inspector(l)) continue;
      Endpoint e = config.master.endpoint;  // reached as the master is (TLS or not)
      e.unix_path.clear();
      e.host = l.ip;
      e.port = l.port;
      targets.push_back(Target{e, {}, {}, {}});
    }
  } else {
    for (const Endpoint& e : config.replicas) targets.push_back(Target{e, {}, {}, {}});
  }
  const std::string channel = private_channel("lag");

  for (Target& t : targets) {
    ReplicaLag& r = t.lag;
    r.name = t.endpoint.name();
    for (const ListedReplica& l : listed) {
      if (l.ip == t.endpoint.host && l.port == t.endpoint.port) {
        r.state = l.state;
        r.acked_offset = l.offset;
        r.ack_age_s = l.ack_age_s;
        r.sync_in_progress = r.sync_in_progress || l.two_connection_sync;
      }
    }
    t.client = std::make_unique<Client>(io);
    if (const ConnectError ce = t.client->connect(t.endpoint, step())) {
      r.error = ce.message;  // refused, unresolvable: not measured (UNKNOWN)
      t.client.reset();
      continue;
    }
    const Clock::time_point asked = Clock::now();
    std::string e = authenticate(*t.client, config.master, step());
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
    r.sync_in_progress = r.sync_in_progress || rinfo["master_sync_in_progress"] == "1";
    r.replica_offset = number<std::int64_t>(rinfo, "slave_repl_offset");
    r.sync_attempts = number<std::int64_t>(rinfo, "repl_current_sync_attempts");
    if (config.timing == LagProbeConfig::Timing::offset) continue;  // polled, not subscribed
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
      record_arrival(m.elements[2].str, at, tp->arrivals);
    });
  }
  for (Target& t : targets) derive_lag_bytes(t.lag, report.master_offset);

  if (config.timing == LagProbeConfig::Timing::offset) {
    report.error = offset_probes(io, master, config, targets, report);
    for (Target& t : targets) {
      if (t.client) t.client->close();
      report.replicas.push_back(std::move(t.lag));
    }
    master.close();
    return report;
  }

  // Our own link, joined before the probes go out.
  std::unique_ptr<SelfLink> self;
  ReplicaLag self_lag;
  if (config.self) {
    self_lag.name = "redis-repl (self)";
    self_lag.self_link = true;
    // A diskless master waits repl-diskless-sync-delay (5 s by default) for more replicas before
    // it forks, even for the empty snapshot we ask for: the join is given that long on top.
    const std::chrono::milliseconds delay = diskless_delay(master, step(), report.notes);
    self = std::make_unique<SelfLink>(io, config, channel, config.query_timeout + delay);
    std::string e = self->start(Clock::now() + config.query_timeout + delay);
    if (e.empty()) {
      // A first message through our feed shows it flows: only then are probes timed fairly.
      Reply r;
      e = master.command({"PUBLISH", channel, "warm-up"}, r, step());
      if (e.empty() && !run_until(io, step(), [&] { return self->flowing(); }))
        e = "the master does not stream to us";
    }
    if (e.empty()) {
      self_lag.reachable = true;
      self_lag.role = "slave";
      self_lag.link_up = true;
      self_lag.state = "online";
    } else {
      self_lag.error = e;
      self.reset();
    }
  }

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
    if (self)
      for (const auto& a : self->arrivals)
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
  if (config.self) {
    self_lag.probes_sent = static_cast<std::uint32_t>(config.probes);
    if (self) {
      for (std::size_t i = 0; i < self->arrivals.size(); ++i) {
        if (self->arrivals[i]) {
          self_lag.probe_seconds.push_back(
              std::chrono::duration<double>(*self->arrivals[i] - sent[i]).count());
        } else if (!self_lag.probe_waited_s) {
          self_lag.probe_waited_s = std::chrono::duration<double>(end - sent[i]).count();
        }
      }
      self->stop();
      run_until(io, Clock::now() + std::chrono::milliseconds(100), [] { return false; });
    }
    report.replicas.push_back(std::move(self_lag));
  }
  master.close();
  return report;
}

}  // namespace redis_repl::core::net
