// lag-check --cluster without a server: one verdict from the shards' verdicts, the offset probes'
// arithmetic (what arrived when, what was waited for), when a probe must write, and the four
// formats of a cluster result.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/cluster.hpp"
#include "core/lag.hpp"
#include "formats/lag_report.hpp"

namespace redis_repl::test {
namespace {

using core::Status;
using std::chrono::milliseconds;

core::ShardVerdict shard(std::string id, Status s, std::vector<std::string> reasons = {}) {
  return core::ShardVerdict{std::move(id), core::Verdict{s, std::move(reasons)}};
}

}  // namespace

TEST_CASE("lag cluster: the worst shard decides, and only shards not OK are named") {
  CHECK(core::combine_shards({}).status == Status::ok);
  CHECK(core::combine_shards({}).reasons.empty());

  const auto all_ok = core::combine_shards({shard("a", Status::ok), shard("b", Status::ok)});
  CHECK(all_ok.status == Status::ok);
  CHECK(all_ok.reasons.empty());

  const auto one = core::combine_shards(
      {shard("a", Status::ok), shard("b", Status::critical, {"127.0.0.1:7004: link down"}),
       shard("c", Status::ok)});
  CHECK(one.status == Status::critical);
  CHECK(one.reasons == std::vector<std::string>{"shard b: 127.0.0.1:7004: link down"});

  // CRITICAL outranks UNKNOWN outranks WARNING, whatever the order of the shards.
  const auto mixed = core::combine_shards({shard("a", Status::warning, {"slow"}),
                                           shard("b", Status::unknown, {"unreachable"}),
                                           shard("c", Status::critical, {"x", "y"})});
  CHECK(mixed.status == Status::critical);
  CHECK(mixed.reasons ==
        std::vector<std::string>{"shard a: slow", "shard b: unreachable", "shard c: x; y"});
  CHECK(core::combine_shards({shard("a", Status::warning), shard("b", Status::unknown)}).status ==
        Status::unknown);
  // A shard not OK with no reason is still named.
  CHECK(core::combine_shards({shard("a", Status::warning)}).reasons ==
        std::vector<std::string>{"shard a: WARNING"});
}

TEST_CASE("lag cluster: --min-replicas is judged per shard") {
  // Two shards with one replica each, --min-replicas 2: both CRITICAL, both named.
  std::vector<core::ShardVerdict> shards;
  for (const char* id : {"a", "b"}) shards.push_back({id, core::judge_replica_count(1, 2)});
  const auto v = core::combine_shards(shards);
  CHECK(v.status == Status::critical);
  CHECK(v.reasons == std::vector<std::string>{"shard a: 1 replica, --min-replicas asks for 2",
                                              "shard b: 1 replica, --min-replicas asks for 2"});
}

TEST_CASE("lag cluster: an offset probe arrives at the first poll that reaches its offset") {
  const core::Clock::time_point t = core::Clock::now();
  core::OffsetProbes p;
  CHECK(p.complete());  // nothing sent, nothing missing
  CHECK_FALSE(p.waited(t));
  p.sent(t, 1000);
  p.sent(t + milliseconds(100), 1050);
  CHECK_FALSE(p.complete());
  p.seen(999, t + milliseconds(5));  // one byte short: nothing arrives
  CHECK(p.seconds().empty());
  CHECK(p.waited(t + milliseconds(40)) == doctest::Approx(0.040));
  p.seen(1000, t + milliseconds(10));
  REQUIRE(p.seconds().size() == 1);
  CHECK(p.seconds()[0] == doctest::Approx(0.010));
  // The second is now the first missing: waited counts from its own t0.
  CHECK(p.waited(t + milliseconds(300)) == doctest::Approx(0.200));
  // A later poll does not move an arrival already seen.
  p.seen(2000, t + milliseconds(130));
  CHECK(p.complete());
  const auto s = p.seconds();
  REQUIRE(s.size() == 2);
  CHECK(s[0] == doctest::Approx(0.010));
  CHECK(s[1] == doctest::Approx(0.030));
  CHECK_FALSE(p.waited(t + milliseconds(500)));
}

TEST_CASE("lag cluster: an offset probe already reached counts from its own t0, never negative") {
  const core::Clock::time_point t = core::Clock::now();
  core::OffsetProbes p;
  // The replica was seen past the offset by a poll that began before the probe's t0 (a reply
  // read late): the arrival is the t0 itself, 0 s, never a negative delay.
  p.sent(t, 500);
  p.seen(600, t - milliseconds(3));
  REQUIRE(p.seconds().size() == 1);
  CHECK(p.seconds()[0] == 0.0);
  // A probe far behind: every poll short of it leaves it missing.
  core::OffsetProbes behind;
  behind.sent(t, 1'000'000);
  for (int i = 1; i <= 50; ++i) behind.seen(1000 + i, t + milliseconds(i * 10));
  CHECK_FALSE(behind.complete());
  CHECK(behind.waited(t + milliseconds(5000)) == doctest::Approx(5.0));
}

TEST_CASE("lag cluster: a probe writes only when the master's offset stood still") {
  CHECK(core::probe_needs_write(std::nullopt, 100));  // no earlier look: cannot tell
  CHECK(core::probe_needs_write(100, 100));           // nothing written since
  CHECK_FALSE(core::probe_needs_write(100, 250));     // writes are flowing: time those
  CHECK(core::probe_needs_write(300, 250));           // went back (a new master): write
}

TEST_CASE("lag cluster: the probe key hashes to the slot asked for, for every slot") {
  for (const int s : {0, 1, 5460, 5461, 10922, 10923, 16383}) {
    const auto slot = static_cast<std::uint16_t>(s);
    const std::string key = core::probe_key_for_slot(slot);
    CAPTURE(key);
    CHECK(key.starts_with("__redis-repl:lag:{"));
    CHECK(core::key_slot(key) == slot);
  }
  // The tags it tries (0, 1, 2, ...) reach every slot soon: the search always ends, quickly.
  std::vector<bool> reached(core::cluster_slots, false);
  std::size_t left = core::cluster_slots;
  std::uint32_t n = 0;
  for (; left && n < 1'000'000; ++n) {
    const std::uint16_t s = core::key_slot(std::to_string(n));
    if (!reached[s]) {
      reached[s] = true;
      --left;
    }
  }
  CHECK(left == 0);
  MESSAGE("every slot reached by tag " << n - 1);
}

namespace {

formats::ClusterLagResult two_shards(Status second) {
  formats::ClusterLagResult r;
  r.seeds = "127.0.0.1:7000";
  r.min_replicas = 1;
  r.unix_ms = 1'764'300'000'000;
  r.duration_s = 0.25;
  const char* ids[] = {"aaaa", "bbbb"};
  for (int i = 0; i < 2; ++i) {
    formats::LagResult s;
    s.shard = ids[i];
    s.node = std::string(40, static_cast<char>('1' + i));
    s.master = "127.0.0.1:700" + std::to_string(i);
    s.master_offset = 5000;
    s.min_replicas = 1;
    core::ReplicaLag x;
    x.name = "127.0.0.1:710" + std::to_string(i);
    x.reachable = true;
    x.role = "slave";
    x.link_up = true;
    x.state = "online";
    x.replica_offset = 5000;
    x.lag_bytes = 0;
    x.probes_sent = 2;
    x.probe_seconds = {0.001, 0.002};
    s.replicas.push_back(x);
    s.replicas_found = 1;
    core::Verdict v;
    if (i == 1 && second != Status::ok) {
      v.status = second;
      v.reasons = {"probe not delivered after 2.000 s"};
      s.replicas[0].probe_seconds.clear();
      s.replicas[0].probe_waited_s = 2.0;
    }
    s.verdicts.push_back(v);
    s.status = v.status;
    r.shards.push_back(s);
  }
  std::vector<core::ShardVerdict> sv;
  for (const formats::LagResult& s : r.shards)
    sv.push_back({s.shard, core::Verdict{s.status,
                                         s.status == Status::ok
                                             ? std::vector<std::string>{}
                                             : std::vector<std::string>{formats::lag_summary(s)}}});
  const core::Verdict all = core::combine_shards(sv);
  r.status = all.status;
  r.reasons = all.reasons;
  return r;
}

std::string written(const formats::ClusterLagResult& r, formats::LagFormat f, bool watch = false) {
  std::string out;
  formats::write_cluster_lag(out, r, f, core::Thresholds{{}, {}, {}, 1.0}, watch);
  return out;
}

}  // namespace

TEST_CASE("lag cluster: every format labels each shard, and names the one not OK") {
  const auto ok = two_shards(Status::ok);
  const std::string human = written(ok, formats::LagFormat::human);
  CHECK(human.find("shard aaaa master 127.0.0.1:7000") != std::string::npos);
  CHECK(human.find("shard bbbb master 127.0.0.1:7001") != std::string::npos);
  CHECK(human.find("127.0.0.1:7101") != std::string::npos);
  CHECK(human.find("OK: 2 shards, 2 replicas in step") != std::string::npos);
  const std::string line = written(ok, formats::LagFormat::human, true);
  CHECK(line.find(" OK shard aaaa: 127.0.0.1:7100 0 B 0.002 s; shard bbbb: 127.0.0.1:7101") !=
        std::string::npos);

  const auto bad = two_shards(Status::critical);
  const std::string bad_human = written(bad, formats::LagFormat::human);
  CHECK(
      bad_human.find("CRITICAL: shard bbbb: 127.0.0.1:7101: probe not delivered after 2.000 s\n") !=
      std::string::npos);
  CHECK(bad_human.find("CRITICAL: shard aaaa") == std::string::npos);

  const std::string json = written(bad, formats::LagFormat::json);
  CHECK(json.find("\"cluster\":true") != std::string::npos);
  CHECK(json.find("\"shard\":\"aaaa\"") != std::string::npos);
  CHECK(json.find("\"shard\":\"bbbb\"") != std::string::npos);
  CHECK(json.find("\"status\":\"CRITICAL\"") != std::string::npos);
  CHECK(json.back() == '\n');
  CHECK(json.find('\n') == json.size() - 1);  // one line

  const std::string nagios = written(bad, formats::LagFormat::nagios);
  CHECK(nagios.starts_with("REDIS CLUSTER REPLICATION CRITICAL - shard bbbb: "));
  CHECK(nagios.find("'shard aaaa 127.0.0.1:7100 bytes'=0B") != std::string::npos);
  CHECK(nagios.find("'shard bbbb replicas'=1;;1:;0;") != std::string::npos);
}

TEST_CASE("lag cluster: prometheus has every family once, every series once, shard labels") {
  const std::string text = written(two_shards(Status::critical), formats::LagFormat::prometheus);
  std::istringstream in(text);
  std::set<std::string> series, helps;
  std::map<std::string, int> per_family;
  for (std::string l; std::getline(in, l);) {
    if (l.starts_with("# HELP ")) {
      CHECK(helps.insert(l.substr(7, l.find(' ', 7) - 7)).second);
      continue;
    }
    if (l.starts_with("#")) continue;
    const std::string key = l.substr(0, l.rfind(' '));
    CHECK_MESSAGE(series.insert(key).second, "repeated: " << key);
    ++per_family[key.substr(0, key.find('{'))];
  }
  CHECK(series.count("redis_repl_lag_check_status") == 1);
  CHECK(text.find("redis_repl_lag_check_status 2\n") != std::string::npos);
  CHECK(text.find("redis_repl_cluster_shards 2\n") != std::string::npos);
  CHECK(text.find("redis_repl_shard_status{shard=\"bbbb\",master=\"127.0.0.1:7001\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("redis_repl_replica_lag_seconds{shard=\"aaaa\",master=\"127.0.0.1:7000\","
                  "replica=\"127.0.0.1:7100\"} ") != std::string::npos);
  CHECK(per_family["redis_repl_replica_lag_bytes"] == 2);
  CHECK(per_family["redis_repl_up"] == 2);

  // Discovery failed: the check's own families only, UNKNOWN.
  formats::ClusterLagResult none;
  none.seeds = "127.0.0.1:1";
  none.error = "127.0.0.1:1: Connection refused";
  none.status = Status::unknown;
  const std::string down = written(none, formats::LagFormat::prometheus);
  CHECK(down.find("redis_repl_cluster_up 0\n") != std::string::npos);
  CHECK(down.find("redis_repl_lag_check_status 3\n") != std::string::npos);
  CHECK(down.find("shard=") == std::string::npos);
  CHECK(written(none, formats::LagFormat::human) == "UNKNOWN: 127.0.0.1:1: Connection refused\n");
}

}  // namespace redis_repl::test
