// `redis-repl dump-rdb --cluster -o DIR` against a real cluster of three masters and three
// replicas (support/cluster_set.hpp), for both servers, run as the built binary: keys over all
// 16384 slots; one file per master whose key counts add up to the cluster's DBSIZE, each loading
// into a fresh standalone server with its DBSIZE; a manifest that agrees with the files and with
// CLUSTER SLOTS; a shard that fails leaves the others written; seeds that fail.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/cluster.hpp"
#include "core/rdb_parser.hpp"
#include "formats/out_buffer.hpp"
#include "formats/sink.hpp"
#include "support/cluster_set.hpp"
#include "support/rdb_builder.hpp"
#include "support/replica_set.hpp"
#include "support/replication.hpp"
#include "support/server_test.hpp"

namespace redis_repl::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string binary = REDIS_REPL_BINARY;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One key in every slot (found by trying names), plus `extra` more; written to their masters.
std::size_t fill_every_slot(ClusterSet& cluster, std::size_t extra) {
  std::vector<bool> seen(core::cluster_slots, false);
  std::size_t covered = 0;
  std::map<int, std::vector<std::vector<std::string>>> by_port;
  std::map<std::uint16_t, int> port_of_slot;
  for (const SlotsEntry& e : cluster.slots())
    for (std::uint32_t s = e.first; s <= e.last; ++s)
      port_of_slot[static_cast<std::uint16_t>(s)] = e.master_port;
  std::size_t written = 0;
  for (std::size_t i = 0; covered < core::cluster_slots || extra > 0; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::uint16_t slot = core::key_slot(key);
    if (seen[slot]) {
      if (extra == 0) continue;
      --extra;
    } else {
      seen[slot] = true;
      ++covered;
    }
    by_port[port_of_slot.at(slot)].push_back({"SET", key, "value:" + std::to_string(i)});
    ++written;
  }
  for (auto& [port, commands] : by_port) {
    RespClient c(port);
    for (std::size_t at = 0; at < commands.size(); at += 1000) {
      const std::vector<std::vector<std::string>> batch(
          commands.begin() + static_cast<std::ptrdiff_t>(at),
          commands.begin() + static_cast<std::ptrdiff_t>(std::min(at + 1000, commands.size())));
      for (const Reply& r : c.pipeline(batch))
        if (r.is_error()) throw HarnessError("SET: " + r.describe());
    }
  }
  return written;
}

std::size_t count_lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

SERVER_TEST_CASE("dump-rdb --cluster -o DIR: one verified file per master and a manifest") {
  ClusterSet cluster;
  const std::size_t written = fill_every_slot(cluster, 2000);
  REQUIRE(cluster.total_keys() == static_cast<std::int64_t>(written));
  TempDir tmp;
  const fs::path dir = tmp / "snapshots";  // created by the tool
  const ProgramResult r =
      run_program({binary, "dump-rdb", "--cluster", "-p", std::to_string(cluster.node(0).port()),
                   "-o", dir.string(), "--parallel", "2"},
                  milliseconds(120000));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);

  const std::vector<SlotsEntry> slots = cluster.slots();
  std::map<std::string, std::vector<std::pair<int, int>>> ranges;  // master id -> slot ranges
  for (const SlotsEntry& e : slots) ranges[e.master_id].push_back({e.first, e.last});
  REQUIRE(ranges.size() == 3);
  std::vector<std::string> expected_files{"manifest.json"};
  for (const auto& [id, _] : ranges) expected_files.push_back(id + ".rdb");
  std::sort(expected_files.begin(), expected_files.end());
  std::vector<std::string> files;
  for (const auto& f : fs::directory_iterator(dir)) files.push_back(f.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == expected_files);  // nothing else: no temporary file left

  const nlohmann::json manifest = nlohmann::json::parse(read_text(dir / "manifest.json"));
  REQUIRE(manifest["shards"].size() == 3);
  std::size_t keys_in_files = 0;
  for (const nlohmann::json& s : manifest["shards"]) {
    INFO(s.dump());
    const std::string node = s["node"];
    REQUIRE(ranges.count(node) == 1);
    CHECK(s["ok"] == true);
    CHECK(s["file"] == node + ".rdb");
    CHECK(s["shard"].get<std::string>().size() == 40);
    CHECK(s["address"] ==
          "127.0.0.1:" + std::to_string(cluster.node(cluster.index_of(node)).port()));
    std::vector<std::pair<int, int>> got;
    for (const nlohmann::json& range : s["slots"]) got.push_back({range[0], range[1]});
    CHECK(got == ranges[node]);
    const fs::path file = dir / (node + ".rdb");
    CHECK(s["bytes"] == fs::file_size(file));
    CHECK(s["checksum"].get<std::string>().size() == 16);
    CHECK(s["replid"].get<std::string>().size() == 40);
    CHECK(s["offset"].get<std::int64_t>() >= 0);
    // The keys the parser finds, and what a fresh standalone server loads.
    const ProgramResult keys =
        run_program({binary, "dump-rdb", "--file", file.string(), "--format", "keys"});
    REQUIRE(keys.exit_code == 0);
    CHECK(count_lines(keys.out) == s["keys"].get<std::size_t>());
    RespClient master = cluster.node(cluster.index_of(node)).client();
    CHECK(master.command({"DBSIZE"}).integer == s["keys"].get<std::int64_t>());
    keys_in_files += count_lines(keys.out);
    ServerOptions o;
    o.rdb_file = file;
    RedisServer loaded(o);
    RespClient c = loaded.client();
    CHECK(c.command({"DBSIZE"}).integer == s["keys"].get<std::int64_t>());
    // --check agrees on the checksum's verdict
    const ProgramResult check =
        run_program({binary, "dump-rdb", "--file", file.string(), "--check"});
    CHECK(check.exit_code == 0);
  }
  CHECK(keys_in_files == written);

  // --format json without -o: one stream, every line labelled with its shard and node; each
  // shard's keys under its own label, shard by shard.
  const ProgramResult stream = run_program(
      {binary, "dump-rdb", "--cluster", "-p", std::to_string(cluster.node(0).port()), "-q"},
      milliseconds(120000));
  INFO(stream.err);
  REQUIRE(stream.exit_code == 0);
  std::map<std::string, std::size_t> keys_by_node, ends_by_node;
  std::map<std::string, std::string> shard_of_node;
  std::istringstream lines(stream.out);
  std::string line;
  std::vector<std::string> order;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    REQUIRE(j.contains("shard"));
    REQUIRE(j.contains("node"));
    const std::string node = j["node"];
    if (order.empty() || order.back() != node) order.push_back(node);
    shard_of_node[node] = j["shard"];
    if (j["kind"] == "key") ++keys_by_node[node];
    if (j["kind"] == "end") ++ends_by_node[node];
  }
  CHECK(order.size() == 3);  // one shard after the other, never interleaved
  for (const nlohmann::json& s : manifest["shards"]) {
    const std::string node = s["node"];
    CHECK(keys_by_node[node] == s["keys"].get<std::size_t>());
    CHECK(ends_by_node[node] == 1);
    CHECK(shard_of_node[node] == s["shard"].get<std::string>());
  }
}

SERVER_TEST_CASE(
    "dump-rdb --cluster: a failed shard leaves the others written, and failing seeds") {
  ClusterSet cluster(3, 0);
  fill_every_slot(cluster, 0);
  TempDir tmp;
  const std::string dead = "127.0.0.1:" + std::to_string(unused_loopback_port());
  const std::string good = "127.0.0.1:" + std::to_string(cluster.node(1).port());

  SUBCASE("an unreachable seed is passed over for the next") {
    const ProgramResult r =
        run_program({binary, "dump-rdb", "--cluster-node", dead, "--cluster-node", good, "-o",
                     (tmp / "out").string(), "-q", "--parallel", "3"},
                    milliseconds(60000));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(fs::exists(tmp / "out" / "manifest.json"));
  }
  SUBCASE("every seed unreachable: exit 3, one line naming each, nothing written") {
    const std::string dead2 = "127.0.0.1:" + std::to_string(unused_loopback_port());
    const ProgramResult r = run_program({binary, "dump-rdb", "--cluster-node", dead,
                                         "--cluster-node", dead2, "-o", (tmp / "none").string()},
                                        milliseconds(60000));
    CHECK(r.exit_code == 3);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.find(dead) != std::string::npos);
    CHECK(r.err.find(dead2) != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "none" / "manifest.json"));
  }
  SUBCASE("-o naming a file: exit 10 before connecting") {
    std::ofstream(tmp / "plain") << "x";
    const ProgramResult r =
        run_program({binary, "dump-rdb", "--cluster-node", good, "-o", (tmp / "plain").string()});
    CHECK(r.exit_code == 10);
    CHECK(count_lines(r.err) == 1);
  }
  SUBCASE("a master that does not answer: its shard fails, the others are written") {
    const std::size_t stalled = cluster.masters().at(2);
    const std::string stalled_id = cluster.node_id(stalled);
    SigstopGuard stop(cluster.node(stalled).pid());
    const ProgramResult r =
        run_program({binary, "dump-rdb", "--cluster", "-p",
                     std::to_string(cluster.node(cluster.masters()[0]).port()), "-o",
                     (tmp / "part").string(), "--timeout", "2", "--parallel", "3"},
                    milliseconds(60000));
    stop.resume();
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find(stalled_id) != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "part" / (stalled_id + ".rdb")));
    const nlohmann::json manifest =
        nlohmann::json::parse(read_text(tmp / "part" / "manifest.json"));
    REQUIRE(manifest["shards"].size() == 3);
    std::size_t ok = 0;
    for (const nlohmann::json& s : manifest["shards"]) {
      if (s["node"] == stalled_id) {
        CHECK(s["ok"] == false);
        CHECK(s["exit_code"] == 3);
        CHECK_FALSE(s["error"].get<std::string>().empty());
      } else {
        CHECK(s["ok"] == true);
        CHECK(fs::exists(tmp / "part" / s["file"].get<std::string>()));
        ++ok;
      }
    }
    CHECK(ok == 2);
  }
}

TEST_CASE("dump-rdb --cluster: usage errors") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--cluster", "-o", "d", "--format", "json"},
        {"--cluster", "-o", "-"},
        {"--cluster", "--format", "keys"},
        {"--cluster", "--check"},
        {"--cluster", "--format", "resp"},
        {"--cluster", "--parallel", "3"},
        {"--parallel", "2", "-o", "x"},
        {"--cluster", "-o", "d", "--parallel", "0"},
        {"--cluster", "-o", "d", "--parallel", "65"}}) {
    std::vector<std::string> argv{binary, "dump-rdb"};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProgramResult r = run_program(argv, milliseconds(10000));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.starts_with("redis-repl: error: "));  // one error line (CLI11 adds a --help hint)
  }
}

}  // namespace redis_repl::test

namespace redis_repl::test {

TEST_CASE("JSON lines labelled with a shard: every line, right after kind") {
  // SELECTDB 0, a string key "k" = "v", EOF.
  RdbBuilder b;
  b.byte(0xFE).len(0).byte(0).str("k").str("v");
  const std::string rdb = b.finish();
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_sink(formats::Format::json, buf);
  sink->set_shard_label(std::string(40, 'a'), std::string(40, 'b'));
  core::RdbParser p(*sink);
  REQUIRE(p.feed(rdb) == core::Step::done);
  buf.flush();
  std::istringstream lines(out);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    INFO(line);
    const std::size_t kind_end = line.find("\",");
    REQUIRE(line.starts_with("{\"kind\":\""));
    CHECK(line.substr(kind_end + 2)
              .starts_with("\"shard\":\"" + std::string(40, 'a') + "\",\"node\":\"" +
                           std::string(40, 'b') + "\""));
  }
  CHECK(n >= 4);  // header, db, key, end
  // Without a label, no such fields.
  std::string plain;
  formats::OutBuffer pbuf(&plain);
  auto psink = formats::make_sink(formats::Format::json, pbuf);
  core::RdbParser pp(*psink);
  REQUIRE(pp.feed(rdb) == core::Step::done);
  pbuf.flush();
  CHECK(plain.find("\"shard\"") == std::string::npos);
}

}  // namespace redis_repl::test
