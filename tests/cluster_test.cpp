// Redis Cluster against real servers: a cluster of three masters and three replicas on loopback
// (support/cluster_set.hpp), found from a seed by core::net::discover_cluster, compared with the
// harness's own view (CLUSTER SLOTS); shard ids across a failover; seeds that fail; and the
// --cluster flags' usage errors.
#include "core/net/cluster.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>

#include "support/cluster_set.hpp"
#include "support/fake_master.hpp"
#include "support/replica_set.hpp"
#include "support/server_test.hpp"

namespace redis_repl::test {
namespace {

using std::chrono::milliseconds;

core::net::Server node_server() {
  core::net::Server s;
  s.timeout = milliseconds(10000);
  return s;
}

core::net::ClusterDiscovery discover(const std::vector<int>& ports) {
  std::vector<core::HostPort> seeds;
  for (const int p : ports) seeds.push_back({"127.0.0.1", static_cast<std::uint16_t>(p)});
  return core::net::discover_cluster(seeds, node_server(), milliseconds(5000));
}

// The topology against the harness's CLUSTER SLOTS: the same masters (id and port), ranges and
// replicas; every slot exactly once.
void check_matches(const core::Topology& t, ClusterSet& cluster) {
  bool overlap = true;
  CHECK(core::slots_covered(t, &overlap) == 16384);
  CHECK_FALSE(overlap);
  const std::vector<SlotsEntry> expected = cluster.slots();
  std::vector<SlotsEntry> got;
  for (const core::Shard& s : t.shards) {
    std::vector<std::string> replicas;
    for (const core::ClusterNode& r : s.replicas) replicas.push_back(r.id);
    std::sort(replicas.begin(), replicas.end());
    CHECK(s.master.address.host == "127.0.0.1");
    CHECK(s.master.healthy);
    for (const core::SlotRange& r : s.slots)
      got.push_back({r.first, r.last, s.master.id, s.master.address.port, replicas});
  }
  std::sort(got.begin(), got.end(),
            [](const SlotsEntry& a, const SlotsEntry& b) { return a.first < b.first; });
  CHECK(got == expected);
}

}  // namespace

SERVER_TEST_CASE(
    "cluster: discovery from one seed matches the cluster, shard ids survive a failover") {
  ClusterSet cluster;
  const std::size_t seed = cluster.replicas_of(cluster.masters()[0]).at(0);  // a replica will do
  const core::net::ClusterDiscovery d = discover({cluster.node(seed).port()});
  INFO(d.error);
  REQUIRE(d.found);
  REQUIRE(d.topology.shards.size() == 3);
  for (const core::Shard& s : d.topology.shards) {
    CHECK(s.replicas.size() == 1);
    CHECK(s.master.offset >= 0);  // CLUSTER SHARDS gives it (7.0+)
    CHECK(s.id.size() == 40);
    CHECK(core::net::server_for(node_server(), s.master).endpoint.port == s.master.address.port);
  }
  check_matches(d.topology, cluster);

  // A failover inside the second shard: a new master id, the same shard id.
  const core::Shard& second = d.topology.shards[1];
  const std::size_t promoted = cluster.index_of(second.replicas[0].id);
  cluster.failover(promoted);
  core::net::ClusterDiscovery after = discover({cluster.node(0).port()});
  INFO(after.error);
  REQUIRE(after.found);
  REQUIRE(after.topology.shards.size() == 3);
  check_matches(after.topology, cluster);
  CHECK(after.topology.shards[1].master.id == cluster.node_id(promoted));
  core::assign_shard_ids(d.topology, after.topology);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(after.topology.shards[i].id == d.topology.shards[i].id);
    CHECK(after.topology.shards[i].id_from_server == d.topology.shards[i].id_from_server);
  }

  // Resharding 100 slots from the first shard to the third: the topology follows, ids stay.
  const std::string from = after.topology.shards[0].master.id;
  const std::string to = after.topology.shards[2].master.id;
  cluster.write("{a}x", "1");  // a key in a moved slot or not: the move must carry keys along
  const std::int64_t keys_before = cluster.total_keys();
  cluster.reshard(from, to, 100);
  core::net::ClusterDiscovery moved = discover({cluster.node(0).port()});
  INFO(moved.error);
  REQUIRE(moved.found);
  check_matches(moved.topology, cluster);
  core::assign_shard_ids(after.topology, moved.topology);
  std::map<std::string, std::size_t> slots_of;  // shard id -> slots
  for (const core::Shard& s : moved.topology.shards)
    for (const core::SlotRange& r : s.slots) slots_of[s.id] += r.last - r.first + 1u;
  CHECK(slots_of[d.topology.shards[0].id] == 5461 - 100);
  CHECK(slots_of[d.topology.shards[2].id] == 5461 + 100);
  CHECK(cluster.total_keys() == keys_before);
}

SERVER_TEST_CASE("cluster: seeds that fail, and a server not in cluster mode") {
  const int dead1 = unused_loopback_port(), dead2 = unused_loopback_port();
  const core::net::ClusterDiscovery none = discover({dead1, dead2});
  CHECK_FALSE(none.found);
  CHECK(none.failure == core::Failure::connect);
  CHECK(none.error.find("127.0.0.1:" + std::to_string(dead1)) != std::string::npos);
  CHECK(none.error.find("127.0.0.1:" + std::to_string(dead2)) != std::string::npos);
  CHECK(none.error.find('\n') == std::string::npos);

  RedisServer plain;
  const core::net::ClusterDiscovery standalone = discover({plain.port()});
  CHECK_FALSE(standalone.found);
  CHECK(standalone.failure == core::Failure::protocol);
  CHECK(standalone.error.find("not in cluster mode") != std::string::npos);
}

SERVER_TEST_CASE("cluster: an unreachable seed is passed over for the next one") {
  ClusterSet cluster(3, 0);
  const core::net::ClusterDiscovery d = discover({unused_loopback_port(), cluster.node(2).port()});
  INFO(d.error);
  REQUIRE(d.found);
  CHECK(d.seed == "127.0.0.1:" + std::to_string(cluster.node(2).port()));
  CHECK(d.topology.shards.size() == 3);
  for (const core::Shard& s : d.topology.shards) CHECK(s.replicas.empty());
  check_matches(d.topology, cluster);
}

// A hostile seed announces a 1 GiB reply to CLUSTER SHARDS and sends it: the request/reply
// client refuses any reply over 64 MiB at its header, so discovery fails at once with a message,
// having read next to nothing of it (memory stays bounded).
TEST_CASE("cluster: a seed that floods a huge reply is refused at its header") {
  std::atomic<std::uint64_t> sent{0};
  core::net::ClusterDiscovery d;
  std::chrono::steady_clock::duration took{};
  int port = 0;
  {
    FakeMaster seed([&](FakeMaster::Link& link) {
      std::vector<std::string> cmd = link.read_command();
      while (!cmd.empty() && cmd[0] != "CLUSTER") {
        link.send("+OK\r\n");
        cmd = link.read_command();
      }
      link.send("$1073741824\r\n");
      sent = link.flood(std::string(1 << 20, 'x'), milliseconds(0), 1ull << 30);
    });
    port = seed.port();
    const auto started = std::chrono::steady_clock::now();
    d = discover({port});
    took = std::chrono::steady_clock::now() - started;
  }  // the helper has stopped: the flood is over and its count final
  INFO(d.error);
  CHECK_FALSE(d.found);
  CHECK(d.error.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(d.error.find('\n') == std::string::npos);
  CHECK(took < std::chrono::seconds(4));  // refused, not waited out (the step timeout is 5 s)
  CHECK(sent < (64ull << 20));
}

TEST_CASE("cluster flags: usage errors before anything connects") {
  const std::string bin = REDIS_REPL_BINARY;
  struct Case {
    std::vector<std::string> args;
    std::string message;
    int code = 2;  // lag-check: 3 (UNKNOWN), as for its other usage errors
  };
  const std::vector<Case> cases{
      {{"tail", "--cluster", "--sentinel", "127.0.0.1:1", "--master-name", "m"}, "--sentinel"},
      {{"lag-check", "--cluster-node", "127.0.0.1:1", "--sentinel", "127.0.0.1:2", "--master-name",
        "m"},
       "--sentinel",
       3},
      {{"dump-rdb", "--cluster-node", "nonsense", "-o", "x"}, "HOST:PORT"},
      {{"dump-rdb", "--cluster-node", "127.0.0.1:0", "-o", "x"}, "HOST:PORT"},
      {{"tail", "--cluster", "-s", "/nonexistent.sock"}, "Unix socket"},
      {{"dump-rdb", "--cluster", "--file", "x.rdb"}, "--file"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv{bin};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const ProgramResult r = run_program(argv, milliseconds(10000));
    INFO(r.err);
    CHECK(r.exit_code == c.code);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

}  // namespace redis_repl::test
