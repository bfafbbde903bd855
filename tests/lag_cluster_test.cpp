// `redis-repl lag-check --cluster` against a real cluster (support/cluster_set.hpp: three masters
// with one replica each, of the server under test):
// 1. all healthy: OK (exit 0) in every format, every shard listed with its replica and its lag
//    figures (bytes, probes delivered), the probes timed by offsets with a write of their own in
//    each shard (the probe key, with its expiry, on every master, none on another);
// 2. one replica stopped with SIGSTOP (always resumed): CRITICAL naming that shard and only that
//    shard; --min-replicas 2 on this one-replica cluster: CRITICAL for every shard;
// 3. a seed nothing listens on: UNKNOWN (exit 3), one line.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/background_process.hpp"
#include "support/cluster_set.hpp"
#include "support/redis_server.hpp"
#include "support/replica_set.hpp"
#include "support/server_test.hpp"

namespace {

using json = nlohmann::json;
using redis_repl::test::ClusterSet;
using redis_repl::test::RedisServer;
using redis_repl::test::run_program;
using redis_repl::test::SigstopGuard;
using std::chrono::milliseconds;

struct Run {
  int code = -1;
  std::string out, err;
};

std::string shown(const Run& r) {
  return "exit " + std::to_string(r.code) + "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

Run lag_check(int seed, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {REDIS_REPL_BINARY, "lag-check", "--cluster",         "-h",
                                   "127.0.0.1",       "-p",        std::to_string(seed)};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto p = run_program(argv, milliseconds(60000));
  return Run{p.exit_code, p.out, p.err};
}

std::string addr(int port) { return "127.0.0.1:" + std::to_string(port); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

SERVER_TEST_CASE(
    "lag_check cluster: every shard healthy is OK, listed with its replica, in every format") {
  ClusterSet set;
  const std::vector<std::size_t> m = set.masters();
  REQUIRE(m.size() == 3);
  const int seed = set.node(m[0]).port();
  for (int i = 0; i < 300; ++i) set.write("lagk:" + std::to_string(i), "v");

  const Run j = lag_check(seed, {"--format", "json", "--probes", "3"});
  INFO(shown(j));
  CHECK(j.code == 0);
  CHECK(j.err.empty());  // no note: the probe key was written in every shard
  const json doc = json::parse(j.out);
  CHECK(doc["cluster"] == true);
  CHECK(doc["status"] == "OK");
  REQUIRE(doc["shards"].size() == 3);
  std::set<std::string> ids, masters, replicas;
  std::set<std::string> expected_masters, expected_replicas;
  for (const std::size_t i : m) {
    expected_masters.insert(addr(set.node(i).port()));
    REQUIRE(set.replicas_of(i).size() == 1);
    expected_replicas.insert(addr(set.node(set.replicas_of(i)[0]).port()));
  }
  for (const json& s : doc["shards"]) {
    CHECK(s["status"] == "OK");
    ids.insert(s["shard"].get<std::string>());
    CHECK(s["node"].get<std::string>().size() == 40);
    masters.insert(s["master"]["address"].get<std::string>());
    CHECK(s["master"]["offset"].get<std::int64_t>() > 0);
    REQUIRE(s["replicas"].size() == 1);
    const json& r = s["replicas"][0];
    replicas.insert(r["address"].get<std::string>());
    CHECK(r["status"] == "OK");
    CHECK(r["link_up"] == true);
    CHECK(r["lag_bytes"].is_number_integer());
    CHECK(r["probes"]["sent"] == 3);
    CHECK(r["probes"]["delivered"] == 3);
    CHECK(r["probes"]["max_seconds"].get<double>() >= 0);
    CHECK(r["probes"]["max_seconds"].get<double>() < 1);
  }
  CHECK(ids.size() == 3);
  MESSAGE("3 shards, 3 probes each: " << doc["duration_seconds"].get<double>()
                                      << " s; slowest probe " <<
          [&] {
            double w = 0;
            for (const json& s : doc["shards"])
              w = std::max(w, s["replicas"][0]["probes"]["max_seconds"].get<double>());
            return w;
          }() << " s");
  CHECK(masters == expected_masters);
  CHECK(replicas == expected_replicas);

  // The probes wrote in each shard, a key of its own slots, with an expiry.
  for (const std::size_t i : m) {
    auto c = set.node(i).client();
    const auto keys = c.command({"KEYS", "__redis-repl:lag:*"});
    CAPTURE(i);
    REQUIRE(keys.elements.size() == 1);
    const auto ttl = c.command({"PTTL", keys.elements[0].str});
    CHECK(ttl.integer > 0);
    CHECK(ttl.integer <= 10000);
  }

  const Run h = lag_check(seed, {"--probes", "2"});
  {
    INFO(shown(h));
    CHECK(h.code == 0);
    for (const std::string& id : ids)
      CHECK(h.out.find("shard " + id + " master ") != std::string::npos);
    for (const std::string& r : replicas) CHECK(h.out.find(r + " ") != std::string::npos);
    CHECK(lines_of(h.out).back() == "OK: 3 shards, 3 replicas in step");
  }
  const Run n = lag_check(seed, {"--format", "nagios", "--probes", "2"});
  {
    INFO(shown(n));
    CHECK(n.code == 0);
    CHECK(n.out.starts_with("REDIS CLUSTER REPLICATION OK - 3 shards, 3 replicas in step |"));
    for (const std::string& id : ids) {
      CHECK(n.out.find("'shard " + id + " replicas'=1;;1:;0;") != std::string::npos);
    }
    for (const std::string& r : replicas) CHECK(n.out.find(r + " bytes'=") != std::string::npos);
  }
  const Run p = lag_check(seed, {"--format", "prometheus", "--probes", "2"});
  {
    INFO(shown(p));
    CHECK(p.code == 0);
    std::set<std::string> series;
    std::map<std::string, int> families;
    for (const std::string& l : lines_of(p.out)) {
      if (l.starts_with("#")) continue;
      const std::string key = l.substr(0, l.rfind(' '));
      CHECK_MESSAGE(series.insert(key).second, "repeated: " << key);
      ++families[key.substr(0, key.find('{'))];
    }
    CHECK(p.out.find("redis_repl_lag_check_status 0\n") != std::string::npos);
    CHECK(p.out.find("redis_repl_cluster_shards 3\n") != std::string::npos);
    CHECK(families["redis_repl_shard_status"] == 3);
    CHECK(families["redis_repl_replica_lag_seconds"] == 3);
    CHECK(families["redis_repl_replica_lag_bytes"] == 3);
    for (const std::string& id : ids)
      CHECK(p.out.find("redis_repl_shard_status{shard=\"" + id + "\",") != std::string::npos);
  }
}

SERVER_TEST_CASE("lag_check cluster: a stopped replica is CRITICAL naming its shard alone") {
  ClusterSet set;
  const std::vector<std::size_t> m = set.masters();
  REQUIRE(m.size() == 3);
  const int seed = set.node(m[0]).port();
  RedisServer& victim = set.node(set.replicas_of(m[1]).at(0));
  // Which shard is master 1's: its id, from an OK run.
  const Run before = lag_check(seed, {"--format", "json", "--probes", "1"});
  REQUIRE_MESSAGE(before.code == 0, shown(before));
  std::string victim_shard;
  std::vector<std::string> others;
  const json first = json::parse(before.out);
  for (const json& s : first["shards"]) {
    if (s["master"]["address"] == addr(set.node(m[1]).port())) {
      victim_shard = s["shard"];
    } else {
      others.push_back(s["shard"]);
    }
  }
  REQUIRE(!victim_shard.empty());
  REQUIRE(others.size() == 2);
  {
    SigstopGuard frozen(victim.pid());
    const Run j = lag_check(
        seed, {"--format", "json", "--probes", "2", "--crit-seconds", "1", "--probe-timeout", "1"});
    INFO(shown(j));
    CHECK(j.code == 2);
    const json doc = json::parse(j.out);
    CHECK(doc["status"] == "CRITICAL");
    const std::string summary = doc["summary"];
    CHECK(summary.starts_with("shard " + victim_shard + ": " + addr(victim.port()) + ": "));
    for (const std::string& o : others) CHECK(summary.find(o) == std::string::npos);
    for (const json& s : doc["shards"])
      CHECK(s["status"] == (s["shard"] == victim_shard ? "CRITICAL" : "OK"));
    const Run h = lag_check(seed, {"--probes", "1", "--crit-seconds", "1", "--probe-timeout", "1"});
    INFO(shown(h));
    CHECK(h.code == 2);
    CHECK(lines_of(h.out).back().starts_with("CRITICAL: shard " + victim_shard + ": "));
    frozen.resume();
  }
  // --min-replicas 2 on a cluster of one replica per shard: every shard CRITICAL, named.
  const Run few = lag_check(seed, {"--min-replicas", "2", "--probes", "1", "--format", "nagios"});
  {
    INFO(shown(few));
    CHECK(few.code == 2);
    CHECK(few.out.starts_with("REDIS CLUSTER REPLICATION CRITICAL - "));
    CHECK(few.out.find("shard " + victim_shard + ": 1 replica, --min-replicas asks for 2") !=
          std::string::npos);
    for (const std::string& o : others)
      CHECK(few.out.find("shard " + o + ": 1 replica, --min-replicas asks for 2") !=
            std::string::npos);
  }
}

TEST_CASE("lag_check cluster: a seed nothing listens on is UNKNOWN, one line") {
  const int nowhere = redis_repl::test::unused_loopback_port();
  const Run r = lag_check(nowhere, {"--probes", "1"});
  INFO(shown(r));
  CHECK(r.code == 3);
  REQUIRE(lines_of(r.out).size() == 1);
  CHECK(r.out.starts_with("UNKNOWN: "));
  CHECK(r.out.find(addr(nowhere)) != std::string::npos);
  const Run j = lag_check(nowhere, {"--format", "json"});
  CHECK(j.code == 3);
  CHECK(json::parse(j.out)["status"] == "UNKNOWN");
}

TEST_CASE("lag_check cluster: --replica and --self are refused with --cluster, before connecting") {
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--replica", "127.0.0.1:2"}, std::vector<std::string>{"--self"}}) {
    const Run r = lag_check(redis_repl::test::unused_loopback_port(), extra);
    INFO(shown(r));
    CHECK(r.code == 3);  // lag-check's usage errors are UNKNOWN
    CHECK(r.out.empty());
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find(extra[0]) != std::string::npos);
    CHECK(r.err.find("--cluster") != std::string::npos);
  }
}

// --watch discovers the cluster again at every sample: after a failover in one shard, the same
// shard (same id) is judged with its promoted replica as the master, OK again.
SERVER_TEST_CASE("lag_check cluster: --watch follows a failover, the shard keeps its id") {
  ClusterSet set;
  const std::vector<std::size_t> m = set.masters();
  REQUIRE(m.size() == 3);
  const std::size_t promoted = set.replicas_of(m[1]).at(0);
  const int seed = set.node(m[0]).port();
  redis_repl::test::BackgroundProcess watch(
      {REDIS_REPL_BINARY, "lag-check", "--cluster", "-h", "127.0.0.1", "-p", std::to_string(seed),
       "--format", "json", "--probes", "1", "--watch", "0.5", "--count", "200"});
  const json first = json::parse(watch.wait_for_line([](std::string_view) { return true; },
                                                     milliseconds(30000), "a first sample"));
  REQUIRE(first["status"] == "OK");
  std::string shard;
  for (const json& s : first["shards"])
    if (s["master"]["address"] == addr(set.node(m[1]).port())) shard = s["shard"];
  REQUIRE(!shard.empty());
  set.failover(promoted);
  // A sample after the failover: the shard's master is the promoted node, every shard OK.
  std::size_t from = watch.lines().size();
  bool seen = false;
  for (int attempt = 0; attempt < 40 && !seen; ++attempt) {
    std::size_t at = 0;
    const json doc = json::parse(watch.wait_for_line([](std::string_view) { return true; },
                                                     milliseconds(30000), "a sample", from, &at));
    from = at + 1;
    if (doc["status"] != "OK") continue;  // the moment of the failover itself
    for (const json& s : doc["shards"])
      if (s["shard"] == shard && s["master"]["address"] == addr(set.node(promoted).port())) {
        seen = true;
        CHECK(s["node"] == set.node_id(promoted));
        REQUIRE(s["replicas"].size() == 1);
        CHECK(s["replicas"][0]["address"] == addr(set.node(m[1]).port()));
      }
  }
  CHECK(seen);
  watch.signal(SIGTERM);
  watch.wait(milliseconds(10000));
}
