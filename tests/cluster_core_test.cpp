// Reading a Redis Cluster's shape without a server (core/cluster.hpp): CLUSTER SHARDS and CLUSTER
// NODES as the real servers answer them, malformed and hostile replies, shard ids across a
// failover, and the slot of a key.
//
// The replies below were captured from clusters of three masters and three replicas on loopback,
// created with `<cli> --cluster create ... --cluster-replicas 1`: redis-server 7.0.15 (Debian 12)
// and valkey-server 8.0.1 (Debian 12 backports). Neither version sends a shard-id in CLUSTER
// SHARDS. "after failover" is the Redis cluster's CLUSTER SHARDS a moment after CLUSTER FAILOVER
// on the replica 3b6f...: the old master still says "master", with no slots, in a shard of its own.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "core/cluster.hpp"
#include "core/resp_reader.hpp"

namespace redis_repl::test {
namespace {

using core::Reply;
using core::Topology;

std::string node_resp(std::string_view id, int port, std::string_view role, int offset) {
  const std::string p = std::to_string(port), o = std::to_string(offset);
  return "*14\r\n$2\r\nid\r\n$40\r\n" + std::string(id) + "\r\n$4\r\nport\r\n:" + p +
         "\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$" +
         std::to_string(role.size()) + "\r\n" + std::string(role) +
         "\r\n$18\r\nreplication-offset\r\n:" + o + "\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";
}

// Byte for byte what redis-server 7.0.15 answered (the node maps are all alike: node_resp writes
// them as captured).
const std::string redis_shards =
    "*3\r\n"
    "*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("cc1ddd69f58c1b7086f88b11487ed7d689ec0457", 17102, "master", 14) +
    node_resp("3b6ffd6dd47767c334e77cb616d608b9dc27ed4f", 17104, "replica", 14) +
    "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("301b80537f4d50482650aa9efe5bc80be8e3a2e9", 17101, "master", 14) +
    node_resp("e98bfa67abb6dc616d6b7d7f17a20028ee60798e", 17106, "replica", 14) +
    "*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("ab2a800e358ebcdd4aab6a45977496255b00928d", 17103, "master", 14) +
    node_resp("dda4397ceeb3f316c370469f2f0201deef8ef933", 17105, "replica", 14);

const std::string redis_shards_after_failover =
    "*4\r\n"
    "*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n" +
    node_resp("cc1ddd69f58c1b7086f88b11487ed7d689ec0457", 17102, "master", 336) +
    "*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*1\r\n" +
    node_resp("3b6ffd6dd47767c334e77cb616d608b9dc27ed4f", 17104, "master", 350) +
    "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("301b80537f4d50482650aa9efe5bc80be8e3a2e9", 17101, "master", 350) +
    node_resp("e98bfa67abb6dc616d6b7d7f17a20028ee60798e", 17106, "replica", 350) +
    "*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("ab2a800e358ebcdd4aab6a45977496255b00928d", 17103, "master", 336) +
    node_resp("dda4397ceeb3f316c370469f2f0201deef8ef933", 17105, "replica", 350);

const std::string valkey_shards =
    "*3\r\n"
    "*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("093407763cc50226f36ec081da17a655ae89f384", 17203, "master", 14) +
    node_resp("a3a4c60aae7795d04ccf6ab1f47190bc3059c045", 17205, "replica", 14) +
    "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("eb6653150be310fc0a6997d77ce54e7ce60d968d", 17201, "master", 14) +
    node_resp("4263cbebd729bdb98e4fcbf988f1448e9da71a6f", 17206, "replica", 14) +
    "*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n" +
    node_resp("c828f0541d077edabb3547351ad45e926bcff143", 17202, "master", 14) +
    node_resp("b846dd57b57bf1c9cb25edd4f14cd6950c60bcc4", 17204, "replica", 14);

// CLUSTER NODES of redis-server 7.0.15, with slot 100 set migrating to cc1d... (CLUSTER SETSLOT
// 100 MIGRATING / IMPORTING); the importing side's own line as 17102 printed it.
const std::string redis_nodes =
    "cc1ddd69f58c1b7086f88b11487ed7d689ec0457 127.0.0.1:17102@27102 master - 0 1795863210000 2 "
    "connected 5461-10922 [100-<-301b80537f4d50482650aa9efe5bc80be8e3a2e9]\n"
    "e98bfa67abb6dc616d6b7d7f17a20028ee60798e 127.0.0.1:17106@27106 slave "
    "301b80537f4d50482650aa9efe5bc80be8e3a2e9 0 1795863210000 1 connected\n"
    "3b6ffd6dd47767c334e77cb616d608b9dc27ed4f 127.0.0.1:17104@27104 slave "
    "cc1ddd69f58c1b7086f88b11487ed7d689ec0457 0 1795863210962 2 connected\n"
    "dda4397ceeb3f316c370469f2f0201deef8ef933 127.0.0.1:17105@27105 slave "
    "ab2a800e358ebcdd4aab6a45977496255b00928d 0 1795863211970 3 connected\n"
    "301b80537f4d50482650aa9efe5bc80be8e3a2e9 127.0.0.1:17101@27101 myself,master - 0 "
    "1795863207000 1 connected 0-5460 [100->-cc1ddd69f58c1b7086f88b11487ed7d689ec0457]\n"
    "ab2a800e358ebcdd4aab6a45977496255b00928d 127.0.0.1:17103@27103 master - 0 1795863210000 3 "
    "connected 10923-16383\n";

// valkey-server 8.0.1 after CLUSTER FAILOVER on b846...: c828... is its replica now.
const std::string valkey_nodes_after_failover =
    "4263cbebd729bdb98e4fcbf988f1448e9da71a6f 127.0.0.1:17206@27206 slave "
    "eb6653150be310fc0a6997d77ce54e7ce60d968d 0 1795863217410 1 connected\n"
    "a3a4c60aae7795d04ccf6ab1f47190bc3059c045 127.0.0.1:17205@27205 slave "
    "093407763cc50226f36ec081da17a655ae89f384 0 1795863219430 3 connected\n"
    "b846dd57b57bf1c9cb25edd4f14cd6950c60bcc4 127.0.0.1:17204@27204 master - 0 1795863218000 7 "
    "connected 5461-10922\n"
    "eb6653150be310fc0a6997d77ce54e7ce60d968d 127.0.0.1:17201@27201 myself,master - 0 0 1 "
    "connected 0-5460\n"
    "c828f0541d077edabb3547351ad45e926bcff143 127.0.0.1:17202@27202 slave "
    "b846dd57b57bf1c9cb25edd4f14cd6950c60bcc4 0 1795863218422 7 connected\n"
    "093407763cc50226f36ec081da17a655ae89f384 127.0.0.1:17203@27203 master - 0 1795863219000 3 "
    "connected 10923-16383\n";

Reply parse_resp(const std::string& bytes) {
  core::RespReader r;
  r.feed(bytes);
  Reply out;
  REQUIRE(r.next(out) == core::ReadStatus::ok);
  return out;
}

Topology shards_of(const std::string& bytes, bool tls = false) {
  std::string error;
  const std::optional<Topology> t = core::read_cluster_shards(parse_resp(bytes), tls, error);
  INFO(error);
  REQUIRE(t.has_value());
  return *t;
}

std::string shards_error(const Reply& r) {
  std::string error;
  CHECK_FALSE(core::read_cluster_shards(r, false, error).has_value());
  CHECK_FALSE(error.empty());
  return error;
}

std::string nodes_error(std::string_view text) {
  std::string error;
  CHECK_FALSE(core::read_cluster_nodes(text, false, error).has_value());
  CHECK_FALSE(error.empty());
  return error;
}

Reply bulk(std::string s) {
  Reply r;
  r.type = Reply::Type::bulk;
  r.str = std::move(s);
  return r;
}
Reply integer(std::int64_t v) {
  Reply r;
  r.type = Reply::Type::integer;
  r.integer = v;
  return r;
}
Reply array(std::vector<Reply> e) {
  Reply r;
  r.type = Reply::Type::array;
  r.elements = std::move(e);
  return r;
}

const std::string id_a(40, 'a'), id_b(40, 'b'), id_c(40, 'c'), id_d(40, 'd');

Reply shards_node(const std::string& id, std::string role, std::vector<Reply> more = {}) {
  std::vector<Reply> e{bulk("id"),     bulk(id),          bulk("port"), integer(7000),
                       bulk("ip"),     bulk("127.0.0.1"), bulk("role"), bulk(std::move(role)),
                       bulk("health"), bulk("online")};
  for (Reply& m : more) e.push_back(std::move(m));
  return array(std::move(e));
}

Reply one_shard(std::vector<Reply> slots, std::vector<Reply> nodes, std::vector<Reply> more = {}) {
  std::vector<Reply> e{bulk("slots"), array(std::move(slots)), bulk("nodes"),
                       array(std::move(nodes))};
  for (Reply& m : more) e.push_back(std::move(m));
  return array({array(std::move(e))});
}

}  // namespace

TEST_CASE("CLUSTER SHARDS of redis 7.0.15 and valkey 8.0.1: three shards by first slot") {
  for (const std::string* bytes : {&redis_shards, &valkey_shards}) {
    const Topology t = shards_of(*bytes);
    REQUIRE(t.shards.size() == 3);
    CHECK(core::slots_text(t.shards[0].slots) == "0-5460");
    CHECK(core::slots_text(t.shards[1].slots) == "5461-10922");
    CHECK(core::slots_text(t.shards[2].slots) == "10923-16383");
    bool overlap = true;
    CHECK(core::slots_covered(t, &overlap) == 16384);
    CHECK_FALSE(overlap);
    for (const core::Shard& s : t.shards) {
      CHECK(s.id == s.master.id);  // no shard-id from these servers: derived
      CHECK_FALSE(s.id_from_server);
      REQUIRE(s.replicas.size() == 1);
      CHECK(s.master.healthy);
      CHECK(s.master.offset == 14);
      CHECK(s.master.address.host == "127.0.0.1");
      CHECK(s.migrating.empty());
    }
  }
  const Topology r = shards_of(redis_shards);
  CHECK(r.shards[0].master.id == "301b80537f4d50482650aa9efe5bc80be8e3a2e9");
  CHECK(r.shards[0].master.address == core::HostPort{"127.0.0.1", 17101});
  CHECK(r.shards[0].replicas[0].id == "e98bfa67abb6dc616d6b7d7f17a20028ee60798e");
  CHECK(r.shards[0].replicas[0].address.port == 17106);
}

TEST_CASE("CLUSTER SHARDS read the same at every split point of the reply") {
  const Topology whole = shards_of(redis_shards);
  for (std::size_t cut = 1; cut < redis_shards.size(); ++cut) {
    core::RespReader r;
    r.feed(std::string_view(redis_shards).substr(0, cut));
    Reply out;
    REQUIRE(r.next(out) == core::ReadStatus::need_more);
    r.feed(std::string_view(redis_shards).substr(cut));
    REQUIRE(r.next(out) == core::ReadStatus::ok);
    std::string error;
    const std::optional<Topology> t = core::read_cluster_shards(out, false, error);
    REQUIRE(t.has_value());
    REQUIRE(t->shards.size() == whole.shards.size());
    for (std::size_t i = 0; i < whole.shards.size(); ++i)
      CHECK(t->shards[i].master.id == whole.shards[i].master.id);
  }
}

TEST_CASE("CLUSTER SHARDS: shard-id, tls-port, hostname-less endpoints, unhealthy nodes") {
  SUBCASE("a shard-id is used as the shard's id") {
    const Topology t = *[&] {
      std::string e;
      return core::read_cluster_shards(
          one_shard({integer(0), integer(16383)}, {shards_node(id_a, "master")},
                    {bulk("shard-id"), bulk(id_d)}),
          false, e);
    }();
    REQUIRE(t.shards.size() == 1);
    CHECK(t.shards[0].id == id_d);
    CHECK(t.shards[0].id_from_server);
  }
  SUBCASE("the tls-port over TLS, the port otherwise; endpoint '?' falls back to the ip") {
    const Reply r =
        one_shard({integer(0), integer(16383)},
                  {shards_node(id_a, "master",
                               {bulk("tls-port"), integer(7443), bulk("endpoint"), bulk("?")})});
    std::string e;
    const auto plain = core::read_cluster_shards(r, false, e);
    const auto tls = core::read_cluster_shards(r, true, e);
    REQUIRE(plain);
    REQUIRE(tls);
    CHECK(plain->shards[0].master.address == core::HostPort{"127.0.0.1", 7000});
    CHECK(tls->shards[0].master.address == core::HostPort{"127.0.0.1", 7443});
  }
  SUBCASE("health other than online is unhealthy") {
    std::string e;
    const auto t = core::read_cluster_shards(
        one_shard({integer(0), integer(16383)},
                  {shards_node(id_a, "master"),
                   array({bulk("id"), bulk(id_b), bulk("port"), integer(7001), bulk("ip"),
                          bulk("127.0.0.1"), bulk("role"), bulk("replica"), bulk("health"),
                          bulk("fail")})}),
        false, e);
    REQUIRE(t);
    REQUIRE(t->shards[0].replicas.size() == 1);
    CHECK_FALSE(t->shards[0].replicas[0].healthy);
    CHECK(t->shards[0].master.offset == -1);  // no replication-offset given
  }
  SUBCASE("ranges sorted and merged") {
    std::string e;
    const auto t = core::read_cluster_shards(one_shard({integer(200), integer(16383), integer(0),
                                                        integer(99), integer(100), integer(199)},
                                                       {shards_node(id_a, "master")}),
                                             false, e);
    REQUIRE(t);
    CHECK(core::slots_text(t->shards[0].slots) == "0-16383");
  }
}

TEST_CASE("CLUSTER SHARDS: malformed and hostile replies are errors with a message") {
  CHECK(shards_error(bulk("x")).find("not a list") != std::string::npos);
  Reply err;
  err.type = Reply::Type::error;
  err.str = "ERR This instance has cluster support disabled";
  CHECK(shards_error(err).find("cluster support disabled") != std::string::npos);
  CHECK(shards_error(array({bulk("x")})).find("shard") != std::string::npos);
  // odd number of slot bounds, slot 16384, a range backwards, a non-integer bound
  shards_error(one_shard({integer(0)}, {shards_node(id_a, "master")}));
  shards_error(one_shard({integer(0), integer(16384)}, {shards_node(id_a, "master")}));
  shards_error(one_shard({integer(10), integer(5)}, {shards_node(id_a, "master")}));
  shards_error(one_shard({integer(-1), integer(5)}, {shards_node(id_a, "master")}));
  shards_error(one_shard({bulk("0"), integer(5)}, {shards_node(id_a, "master")}));
  // a node id that is not 40 hex digits, a role that is neither, no master for the slots
  shards_error(one_shard({integer(0), integer(5)}, {shards_node("zz", "master")}));
  shards_error(one_shard({integer(0), integer(5)}, {shards_node(std::string(40, 'g'), "master")}));
  shards_error(one_shard({integer(0), integer(5)}, {shards_node(id_a, "boss")}));
  CHECK(shards_error(one_shard({integer(0), integer(5)}, {shards_node(id_a, "replica")}))
            .find("no master") != std::string::npos);
  // a port out of range, a node that is not a map, a shard-id that is not hex
  shards_error(
      one_shard({integer(0), integer(5)}, {array({bulk("id"), bulk(id_a), bulk("port"),
                                                  integer(70000), bulk("role"), bulk("master")})}));
  shards_error(one_shard({integer(0), integer(5)}, {bulk("node")}));
  // an address with control bytes or spaces (it would reach a terminal in messages)
  CHECK(shards_error(one_shard({integer(0), integer(5)},
                               {shards_node(id_a, "master", {bulk("endpoint"), bulk("h\x1b[2J")})}))
            .find("not a host name") != std::string::npos);
  shards_error(one_shard({integer(0), integer(5)}, {shards_node(id_a, "master")},
                         {bulk("shard-id"), bulk("x\r\n")}));
  // two shards owning one slot
  Reply two = one_shard({integer(0), integer(10)}, {shards_node(id_a, "master")});
  two.elements.push_back(
      one_shard({integer(10), integer(20)}, {shards_node(id_b, "master")}).elements[0]);
  CHECK(shards_error(two).find("owned by two") != std::string::npos);
  // more nodes than the limit
  std::vector<Reply> many;
  for (std::size_t i = 0; i <= core::max_cluster_nodes; ++i) many.push_back(Reply{});
  CHECK(shards_error(one_shard({integer(0), integer(5)}, std::move(many))).find("more than") !=
        std::string::npos);
  // A master without slots is no shard; an empty reply is an empty topology.
  std::string e;
  const auto none =
      core::read_cluster_shards(one_shard({}, {shards_node(id_a, "master")}), false, e);
  REQUIRE(none);
  CHECK(none->shards.empty());
}

TEST_CASE("CLUSTER NODES of redis 7.0.15 with a slot migrating, valkey 8.0.1 after a failover") {
  std::string error;
  const auto t = core::read_cluster_nodes(redis_nodes, false, error);
  INFO(error);
  REQUIRE(t);
  REQUIRE(t->shards.size() == 3);
  CHECK(t->shards[0].master.id == "301b80537f4d50482650aa9efe5bc80be8e3a2e9");
  CHECK(t->shards[0].migrating == std::vector<std::uint16_t>{100});
  CHECK(t->shards[0].importing.empty());
  CHECK(t->shards[1].importing == std::vector<std::uint16_t>{100});
  CHECK(core::slots_text(t->shards[1].slots) == "5461-10922");
  CHECK(t->shards[1].master.address == core::HostPort{"127.0.0.1", 17102});
  REQUIRE(t->shards[1].replicas.size() == 1);
  CHECK(t->shards[1].replicas[0].id == "3b6ffd6dd47767c334e77cb616d608b9dc27ed4f");
  CHECK(t->shards[1].replicas[0].address.port == 17104);
  CHECK(t->shards[1].replicas[0].offset == -1);
  CHECK(core::slots_covered(*t) == 16384);

  const auto v = core::read_cluster_nodes(valkey_nodes_after_failover, false, error);
  REQUIRE(v);
  REQUIRE(v->shards.size() == 3);
  CHECK(v->shards[1].master.id == "b846dd57b57bf1c9cb25edd4f14cd6950c60bcc4");
  REQUIRE(v->shards[1].replicas.size() == 1);
  CHECK(v->shards[1].replicas[0].id == "c828f0541d077edabb3547351ad45e926bcff143");

  // CRLF line ends, an old-style address without @cport, a hostname, flags of failing nodes
  const std::string odd = id_a + " 10.0.0.1:7000 master,fail? - 0 0 1 connected 0-100\r\n" + id_b +
                          " :7001@17001,node-b.example master - 0 0 2 connected 101-16383\r\n" +
                          id_c + " 127.0.0.1:7002@17002 slave,fail " + id_a +
                          " 0 0 1 disconnected\r\n";
  const auto o = core::read_cluster_nodes(odd, false, error);
  INFO(error);
  REQUIRE(o);
  REQUIRE(o->shards.size() == 2);
  CHECK_FALSE(o->shards[0].master.healthy);
  CHECK(o->shards[0].master.address == core::HostPort{"10.0.0.1", 7000});
  CHECK(o->shards[1].master.address == core::HostPort{"node-b.example", 7001});
  CHECK(o->shards[1].master.healthy);
  REQUIRE(o->shards[0].replicas.size() == 1);
  CHECK_FALSE(o->shards[0].replicas[0].healthy);
}

TEST_CASE("CLUSTER NODES: malformed and hostile text is an error with a message") {
  CHECK(nodes_error("abc 127.0.0.1:1 master").find("fewer than 8") != std::string::npos);
  nodes_error("xyz 127.0.0.1:7000@17000 master - 0 0 1 connected 0-16383\n");
  nodes_error(id_a + " 127.0.0.1@17000 master - 0 0 1 connected 0-16383\n");
  nodes_error(id_a + " 127.0.0.1:99999@17000 master - 0 0 1 connected 0-16383\n");
  nodes_error(id_a + " 127.0.0.1:7000@17000 noflags - 0 0 1 connected 0-16383\n");
  nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected 0-16384\n");
  CHECK(nodes_error(id_a + " 127.0.0.1:7000@17000,h\x1b[2J master - 0 0 1 connected 0-5\n")
            .find("not a host name") != std::string::npos);
  nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected 10-5\n");
  nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected x\n");
  nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected [5->-zz]\n");
  nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected [5-?-" + id_b + "]\n");
  nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected [5->-" + id_b + "\n");
  nodes_error(id_a + " 127.0.0.1:7000@17000 slave - 0 0 1 connected\n");  // names no master
  nodes_error(id_a + " 127.0.0.1:7000@17000 slave " + id_b + " 0 0 1 connected 1-2\n");
  CHECK(nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected 0-10\n" + id_b +
                    " 127.0.0.1:7001@17001 master - 0 0 1 connected 5-20\n")
            .find("owned by two") != std::string::npos);
  nodes_error(id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected 0-10\n" + id_a +
              " 127.0.0.1:7000@17000 master - 0 0 1 connected 20-30\n");
  // Every prefix of a real reply is either a topology or an error, never a crash.
  for (std::size_t cut = 0; cut <= redis_nodes.size(); ++cut) {
    std::string error;
    const auto t =
        core::read_cluster_nodes(std::string_view(redis_nodes).substr(0, cut), false, error);
    CHECK((t.has_value() || !error.empty()));
  }
  // Bounded: a line with more slot fields than there are slots.
  std::string huge = id_a + " 127.0.0.1:7000@17000 master - 0 0 1 connected";
  for (int i = 0; i < 40000; ++i) huge += " 1";
  CHECK(nodes_error(huge).find("more slots") != std::string::npos);
}

TEST_CASE("assign_shard_ids: a failover keeps the shard's id, a new shard gets its master's") {
  const Topology before = shards_of(redis_shards);
  Topology after = shards_of(redis_shards_after_failover);
  REQUIRE(after.shards.size() == 3);  // the demoted master without slots is no shard
  CHECK(after.shards[1].id == "3b6ffd6dd47767c334e77cb616d608b9dc27ed4f");  // before assigning
  core::assign_shard_ids(before, after);
  for (std::size_t i = 0; i < 3; ++i) CHECK(after.shards[i].id == before.shards[i].id);
  CHECK(after.shards[1].id == "cc1ddd69f58c1b7086f88b11487ed7d689ec0457");
  // and once more: the promoted master's shard keeps the id it was given
  Topology again = shards_of(redis_shards_after_failover);
  core::assign_shard_ids(after, again);
  CHECK(again.shards[1].id == "cc1ddd69f58c1b7086f88b11487ed7d689ec0457");

  // Valkey 8.0.1, CLUSTER NODES before and after its failover.
  std::string error;
  Topology vk_before = shards_of(valkey_shards);
  auto vk_after = core::read_cluster_nodes(valkey_nodes_after_failover, false, error);
  REQUIRE(vk_after);
  core::assign_shard_ids(vk_before, *vk_after);
  CHECK(vk_after->shards[1].id == "c828f0541d077edabb3547351ad45e926bcff143");
  CHECK(vk_after->shards[1].master.id == "b846dd57b57bf1c9cb25edd4f14cd6950c60bcc4");

  // A shard with no node in common is new: its master's id. An id from the server stays.
  Topology known;
  known.shards.push_back(core::Shard{.id = "old", .slots = {{0, 16383}}, .master = {.id = id_a}});
  Topology fresh;
  fresh.shards.push_back(core::Shard{.id = id_b, .slots = {{0, 8000}}, .master = {.id = id_b}});
  fresh.shards.push_back(core::Shard{
      .id = id_d, .id_from_server = true, .slots = {{8001, 16383}}, .master = {.id = id_a}});
  core::assign_shard_ids(known, fresh);
  CHECK(fresh.shards[0].id == id_b);
  CHECK(fresh.shards[1].id == id_d);
  // Two fresh shards that both share a node with one known shard: only one takes its id.
  Topology split;
  split.shards.push_back(core::Shard{.slots = {{0, 10}}, .master = {.id = id_a}});
  split.shards.push_back(
      core::Shard{.slots = {{11, 20}}, .master = {.id = id_b}, .replicas = {{.id = id_a}}});
  core::assign_shard_ids(known, split);
  CHECK(split.shards[0].id == "old");
  CHECK(split.shards[1].id == id_b);
}

TEST_CASE("key_slot: CLUSTER KEYSLOT's answers (redis 7.0.15), hash tags") {
  // Recorded with `redis-cli cluster keyslot <key>`.
  CHECK(core::key_slot("foo") == 12182);
  CHECK(core::key_slot("bar") == 5061);
  CHECK(core::key_slot("{user1000}.following") == 3443);
  CHECK(core::key_slot("user1000") == 3443);
  CHECK(core::key_slot("") == 0);
  CHECK(core::key_slot("a{}b") == 13694);  // an empty tag: the whole key
  CHECK(core::key_slot("{}{x}") == 3257);  // only the first '{' counts
  CHECK(core::key_slot("{{x}}") == 11068);
  CHECK(core::key_slot("123456789") == 12739);  // CRC16-XMODEM check value 0x31C3
}

TEST_CASE("shard_for_slot: the owner of every slot, none for an unowned one") {
  const Topology t = shards_of(redis_shards);
  CHECK(core::shard_for_slot(t, 0) == &t.shards[0]);
  CHECK(core::shard_for_slot(t, 5460) == &t.shards[0]);
  CHECK(core::shard_for_slot(t, 5461) == &t.shards[1]);
  CHECK(core::shard_for_slot(t, 16383) == &t.shards[2]);
  Topology part;
  part.shards.push_back(core::Shard{.slots = {{0, 10}, {20, 30}}});
  CHECK(core::shard_for_slot(part, 15) == nullptr);
  CHECK(core::shard_for_slot(part, 25) == &part.shards[0]);
}

}  // namespace redis_repl::test
