#include "core/lag.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/bytes.hpp"
#include "core/cluster.hpp"

namespace redis_repl::core {

std::map<std::string, std::string, std::less<>> parse_info(std::string_view text) {
  std::map<std::string, std::string, std::less<>> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

std::vector<ListedReplica> listed_replicas(
    const std::map<std::string, std::string, std::less<>>& info) {
  std::vector<ListedReplica> out;
  for (int i = 0;; ++i) {
    const auto it = info.find("slave" + std::to_string(i));
    if (it == info.end()) break;
    ListedReplica r;
    std::string_view rest = it->second;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view kv = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const std::size_t eq = kv.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "ip") {
        r.ip = std::string(v);
      } else if (k == "port") {
        parse_decimal(v, r.port);
      } else if (k == "state") {
        r.state = std::string(v);
      } else if (k == "offset") {
        parse_decimal(v, r.offset);
      } else if (k == "lag") {
        parse_decimal(v, r.ack_age_s);
      } else if (k == "type") {
        r.type = std::string(v);
      }
    }
    out.push_back(std::move(r));
  }
  // A dual-channel sync's rdb-channel is folded into its main-channel (the offset and state that
  // go on after the snapshot); alone, it stands for the replica, in full sync all the same.
  for (auto it = out.begin(); it != out.end();) {
    if (it->type != "rdb-channel") {
      ++it;
      continue;
    }
    const auto main = std::find_if(out.begin(), out.end(), [&](const ListedReplica& m) {
      return m.type == "main-channel" && m.ip == it->ip && m.port == it->port;
    });
    if (main == out.end()) {
      it->two_connection_sync = true;
      ++it;
    } else {
      main->two_connection_sync = true;
      it = out.erase(it);
    }
  }
  return out;
}

std::string format_seconds(double s) {
  int decimals = 3;
  if (s > 0 && s < 0.001) decimals = 2 - static_cast<int>(std::floor(std::log10(s)));
  char buf[64];
  const auto r =
      std::to_chars(buf, buf + sizeof buf, s, std::chars_format::fixed, std::min(decimals, 12));
  return std::string(buf, r.ptr);
}

std::string format_decimal(double v) {
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (r.ec != std::errc{}) return "0";
  return std::string(buf, r.ptr);
}

Verdict judge_replica_count(std::int64_t found, std::int64_t min_replicas) {
  Verdict v;
  if (found < min_replicas) {
    v.status = Status::critical;
    v.reasons.push_back(std::to_string(found) + (found == 1 ? " replica" : " replicas") +
                        ", --min-replicas asks for " + std::to_string(min_replicas));
  }
  return v;
}

std::string_view status_name(Status s) noexcept {
  switch (s) {
    case Status::ok:
      return "OK";
    case Status::warning:
      return "WARNING";
    case Status::critical:
      return "CRITICAL";
    case Status::unknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

// CRITICAL outranks UNKNOWN outranks WARNING outranks OK, as monitoring plugins combine them.
Status worst(Status a, Status b) noexcept {
  auto rank = [](Status s) {
    switch (s) {
      case Status::ok:
        return 0;
      case Status::warning:
        return 1;
      case Status::unknown:
        return 2;
      case Status::critical:
        return 3;
    }
    return 2;
  };
  return rank(a) >= rank(b) ? a : b;
}

std::optional<ProbeStats> probe_stats(const std::vector<double>& seconds) {
  if (seconds.empty()) return std::nullopt;
  std::vector<double> s = seconds;
  std::sort(s.begin(), s.end());
  const std::size_t n = s.size();
  const double median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return ProbeStats{s.front(), median, s.back()};
}

void derive_lag_bytes(ReplicaLag& r, std::int64_t master_offset) {
  const std::optional<std::int64_t> seen = r.replica_offset ? r.replica_offset : r.acked_offset;
  if (seen) r.lag_bytes = std::max<std::int64_t>(0, master_offset - *seen);
}

Verdict judge(const ReplicaLag& r, const Thresholds& t) {
  Verdict v;
  auto raise = [&](Status s, std::string why) {
    v.status = worst(v.status, s);
    v.reasons.push_back(std::move(why));
  };
  // A replica we cannot ask is not measured: UNKNOWN, with the ACK the master holds still judged.
  if (!r.reachable) raise(Status::unknown, "unreachable: " + r.error);
  if (r.reachable && !r.role.empty() && r.role != "slave")
    raise(Status::critical, "not a replica (role " + r.role + ")");
  if (r.link_up && !*r.link_up) raise(Status::critical, "link to the master is down");
  if (r.sync_in_progress) raise(Status::critical, "full sync in progress");
  if (r.sync_attempts && *r.sync_attempts > 1)
    raise(Status::warning,
          "flapping: " + std::to_string(*r.sync_attempts) + " sync attempts since the link was up");
  if (!r.state.empty() && r.state != "online") raise(Status::critical, "state " + r.state);
  if (r.lag_bytes) {
    const std::int64_t b = *r.lag_bytes;
    if (t.crit_bytes && b >= *t.crit_bytes) {
      raise(Status::critical, std::to_string(b) + " bytes behind");
    } else if (t.warn_bytes && b >= *t.warn_bytes) {
      raise(Status::warning, std::to_string(b) + " bytes behind");
    }
  }
  // Time: a probe that never came is at least a warning, whatever the thresholds; otherwise the
  // slowest probe is judged.
  if (r.probe_waited_s) {
    const double w = *r.probe_waited_s;
    raise(t.crit_seconds && w >= *t.crit_seconds ? Status::critical : Status::warning,
          "probe not delivered after " + format_seconds(w) + " s");
  } else if (const auto st = probe_stats(r.probe_seconds)) {
    if (t.crit_seconds && st->max >= *t.crit_seconds) {
      raise(Status::critical, format_seconds(st->max) + " s behind");
    } else if (t.warn_seconds && st->max >= *t.warn_seconds) {
      raise(Status::warning, format_seconds(st->max) + " s behind");
    }
  }
  return v;
}

Verdict combine_shards(const std::vector<ShardVerdict>& shards) {
  Verdict v;
  for (const ShardVerdict& s : shards) {
    v.status = worst(v.status, s.verdict.status);
    if (s.verdict.status == Status::ok) continue;
    std::string why = "shard " + s.shard + ":";
    for (std::size_t i = 0; i < s.verdict.reasons.size(); ++i)
      why += (i ? "; " : " ") + s.verdict.reasons[i];
    if (s.verdict.reasons.empty()) why += " " + std::string(status_name(s.verdict.status));
    v.reasons.push_back(std::move(why));
  }
  return v;
}

void OffsetProbes::sent(Clock::time_point t0, std::int64_t master_offset) {
  probes_.push_back(Probe{t0, master_offset, std::nullopt});
}

void OffsetProbes::seen(std::int64_t replica_offset, Clock::time_point at) {
  for (Probe& p : probes_)
    if (!p.arrived && replica_offset >= p.target) p.arrived = std::max(at, p.t0);
}

bool OffsetProbes::complete() const noexcept {
  return std::all_of(probes_.begin(), probes_.end(), [](const Probe& p) { return p.arrived; });
}

std::vector<double> OffsetProbes::seconds() const {
  std::vector<double> out;
  for (const Probe& p : probes_)
    if (p.arrived) out.push_back(std::chrono::duration<double>(*p.arrived - p.t0).count());
  return out;
}

std::optional<double> OffsetProbes::waited(Clock::time_point end) const {
  for (const Probe& p : probes_)
    if (!p.arrived) return std::chrono::duration<double>(std::max(end, p.t0) - p.t0).count();
  return std::nullopt;
}

std::string probe_key_for_slot(std::uint16_t slot) {
  // Tags 0, 1, 2, ... hash to slots spread evenly: every slot is met within a few tens of
  // thousands of tries (CRC16 of at most 6 digits each).
  const std::uint16_t wanted = static_cast<std::uint16_t>(slot % cluster_slots);
  for (std::uint32_t n = 0;; ++n) {
    const std::string tag = std::to_string(n);
    if (key_slot(tag) == wanted) return "__redis-repl:lag:{" + tag + "}";
  }
}

bool probe_needs_write(std::optional<std::int64_t> previous, std::int64_t current) noexcept {
  return !previous || current <= *previous;
}

}  // namespace redis_repl::core
