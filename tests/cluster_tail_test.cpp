// tail --cluster: the labels of each shard's lines, the state file holding a point per shard, and
// (with a real cluster) the merged feed of every shard.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/resume_point.hpp"
#include "core/replica.hpp"
#include "formats/sink.hpp"

namespace redis_repl::test {
namespace {

std::string state_path() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/redis-repl-cstate-XXXXXX";
  const int fd = ::mkstemp(templ.data());
  REQUIRE(fd >= 0);
  ::close(fd);
  return templ;
}

// A command event as a replica hands it out.
std::string render(formats::Format f, const formats::Origin* origin) {
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_sink(f, buf);
  sink->set_origin(origin);
  const std::vector<std::string_view> args{"SET", "k", "v"};
  core::Event e;
  e.kind = core::Event::Kind::command;
  e.offset = 101;
  e.end_offset = 131;
  e.db = 0;
  e.ts_ms = 1795492000417;
  e.args = args;
  sink->on_replication(e);
  sink->on_failover(formats::Failover{"", "aa 127.0.0.1:7000", "bb 127.0.0.1:7003", 5});
  buf.flush();
  return out;
}

}  // namespace

TEST_CASE("cluster tail: each line says its shard and node, migration records say so") {
  formats::Origin origin{"0123456789abcdef", "bb 127.0.0.1:7003", false};
  CHECK(render(formats::Format::json, &origin) ==
        "{\"kind\":\"command\",\"shard\":\"0123456789abcdef\",\"node\":\"bb 127.0.0.1:7003\","
        "\"offset\":101,\"end_offset\":131,\"db\":0,\"ts\":1795492000417,\"command\":\"set\","
        "\"args\":[\"k\",\"v\"]}\n"
        "{\"kind\":\"failover\",\"shard\":\"0123456789abcdef\",\"node\":\"bb 127.0.0.1:7003\","
        "\"from\":\"aa 127.0.0.1:7000\",\"to\":\"bb 127.0.0.1:7003\",\"ts\":5}\n");
  origin.migration = true;
  const std::string json = render(formats::Format::json, &origin);
  CHECK(json.find("\"args\":[\"k\",\"v\"],\"migration\":true}\n") != std::string::npos);
  const std::string human = render(formats::Format::human, &origin);
  CHECK(human.starts_with("[01234567] "));
  CAPTURE(human);
  CHECK(human.find(" 101 db0 \"SET\" \"k\" \"v\"  [migration]\n") != std::string::npos);
  CHECK(human.find(" failover: shard 0123456789abcdef moved from aa 127.0.0.1:7000 to bb "
                   "127.0.0.1:7003\n") != std::string::npos);
  // Without an origin (one master): no label at all.
  const std::string plain = render(formats::Format::json, nullptr);
  CHECK(plain.find("shard") == std::string::npos);
  CHECK(plain.find("migration") == std::string::npos);
}

TEST_CASE("cluster tail: the state file keeps a resume point per shard, and no other shape") {
  using cli::ClusterState;
  using cli::ResumePoint;
  const std::string path = state_path();
  ::unlink(path.c_str());
  CHECK(cli::read_cluster_state(path).empty());  // a first run
  const std::string a(40, 'a'), b(40, 'b');
  ClusterState state{{"shard-1", {ResumePoint{a, 10, 0}, {"m1", "r1", "r2"}}},
                     {"e\"x", {ResumePoint{b, 20, core::unknown_db}, {}}}};
  cli::write_cluster_state(path, state, false);
  const ClusterState back = cli::read_cluster_state(path);
  REQUIRE(back.size() == 2);
  CHECK(back.at("shard-1").point.replid == a);
  CHECK(back.at("shard-1").point.offset == 10);
  CHECK(back.at("shard-1").point.db == 0);
  CHECK(back.at("shard-1").nodes == std::vector<std::string>{"m1", "r1", "r2"});
  CHECK(back.at("e\"x").point.offset == 20);
  CHECK(back.at("e\"x").point.db == core::unknown_db);
  CHECK(back.at("e\"x").nodes.empty());
  // One master's state file is not a cluster's, and the other way round: each says so.
  try {
    cli::read_state(path);
    FAIL("accepted");
  } catch (const cli::Fatal& e) {
    CHECK(e.code() == cli::ExitCode::usage);
    CHECK(std::string(e.what()).find("cluster") != std::string::npos);
  }
  cli::write_state(path, ResumePoint{a, 7, 0}, false);
  try {
    cli::read_cluster_state(path);
    FAIL("accepted");
  } catch (const cli::Fatal& e) {
    CHECK(e.code() == cli::ExitCode::usage);
    CHECK(std::string(e.what()).find("one master's") != std::string::npos);
  }
  for (const std::string& bad :
       {std::string("{\"shards\":[]}"), std::string("{\"shards\":{\"x\":{}}}"),
        std::string("{\"shards\":{},\"extra\":1}"), std::string("not json"),
        "{\"shards\":{\"x\":{\"replid\":\"" + a + "\",\"offset\":1,\"db\":0,\"nodes\":[1]}}}",
        "{\"shards\":{\"x\":{\"replid\":\"" + a + "\",\"offset\":1,\"db\":0,\"nodes\":\"m\"}}}",
        "{\"shards\":{\"\":{\"replid\":\"" + a + "\",\"offset\":1,\"db\":0}}}"}) {
    std::ofstream(path) << bad;
    CAPTURE(bad);
    try {
      cli::read_cluster_state(path);
      FAIL("accepted");
    } catch (const cli::Fatal& e) {
      CHECK(e.code() == cli::ExitCode::usage);
    }
  }
  std::ofstream(path) << "{\"shards\":{}}";
  CHECK(cli::read_cluster_state(path).empty());
  ::unlink(path.c_str());
}

}  // namespace redis_repl::test
