// --sentinel against real processes: three redis-sentinel (support/sentinel_set.hpp) over a
// redis-server master with one real replica (support/replica_set.hpp), all on loopback.
// * tail finds the master through the sentinels and follows a SENTINEL FAILOVER: every write made
//   before it (to the old master), during it (to the new master, from the moment the sentinels
//   name it) and after it appears exactly once and in order, with one failover line; and the
//   failover after the master crashed (SIGKILL) the same way;
// * lag-check --sentinel judges the new topology and never judges tail's link; with --watch it
//   moves from the old master to the new one across a crash and failover;
// * Sentinel does not take tail's link for a replica: after tail exits, no sentinel lists a
//   replica it left behind, nor wrote one into its configuration;
// * dump-rdb finds the master the same way, also over TLS (sentinels and master alike);
// * an unknown master name, sentinels that cannot be reached and a wrong sentinel password give
//   one clear line and the documented exit code.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/background_process.hpp"
#include "support/redis_server.hpp"
#include "support/replica_set.hpp"
#include "support/replication.hpp"
#include "support/sentinel_set.hpp"
#include "support/server_test.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using redis_repl::test::BackgroundProcess;
using redis_repl::test::HarnessError;
using redis_repl::test::info_field;
using redis_repl::test::must;
using redis_repl::test::of_kind;
using redis_repl::test::parse_json_lines;
using redis_repl::test::ReplicaSet;
using redis_repl::test::RespClient;
using redis_repl::test::run_program;
using redis_repl::test::SentinelOptions;
using redis_repl::test::SentinelSet;
using redis_repl::test::TempDir;
using redis_repl::test::unused_loopback_port;
using redis_repl::test::wait_until;

const std::string binary = REDIS_REPL_BINARY;

std::vector<std::string> cmd(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

auto kind_is(const std::string& kind) {
  return [kind](std::string_view line) {
    const json j = json::parse(line, nullptr, false);
    return j.is_object() && j.value("kind", "") == kind;
  };
}

// The line of the SET of key w:<n>.
auto set_of(int n) {
  const std::string key = "w:" + std::to_string(n);
  return [key](std::string_view line) {
    const json j = json::parse(line, nullptr, false);
    return j.is_object() && j.value("kind", "") == "command" && j.value("command", "") == "set" &&
           j["args"].size() == 2 && j["args"][0] == key;
  };
}

// The values of the SETs of keys w:<n> in tail's output, in the order seen.
std::vector<int> writes_seen(const std::vector<json>& lines) {
  std::vector<int> seen;
  for (const json& j : of_kind(lines, "command"))
    if (j["command"] == "set" && j["args"][0].get<std::string>().starts_with("w:"))
      seen.push_back(std::stoi(j["args"][1].get<std::string>()));
  return seen;
}

// 0, 1, ..., n - 1: every write once and in order.
std::vector<int> first_writes(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

// A lag-check JSON sample judging the master at this port.
auto sample_of_master(int port) {
  const std::string address = "127.0.0.1:" + std::to_string(port);
  return [address](std::string_view line) {
    const json j = json::parse(line, nullptr, false);
    return j.is_object() && j.contains("master") && j["master"].is_object() &&
           j["master"].value("address", "") == address;
  };
}

// Every line of stderr is one message: no more than `lines` of them, and none empty.
std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// A CA and a certificate for 127.0.0.1 signed by it, made with openssl in dir.
void make_certificates(const TempDir& dir) {
  {
    std::ofstream ext(dir / "ext.cnf");
    ext << "subjectAltName=IP:127.0.0.1\n";
  }
  const std::string d = dir.path().string() + "/";
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                 "-keyout", d + "ca.key", "-out", d + "ca.pem", "-days", "2",
                                 "-subj", "/CN=redis-repl test CA"},
        {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "server.key", "-out",
         d + "server.csr", "-subj", "/CN=127.0.0.1"},
        {"openssl", "x509", "-req", "-in", d + "server.csr", "-CA", d + "ca.pem", "-CAkey",
         d + "ca.key", "-CAcreateserial", "-out", d + "server.pem", "-days", "2", "-extfile",
         d + "ext.cnf"},
        // A second CA, that signed nothing here.
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "other.key",
         "-out", d + "other.pem", "-days", "2", "-subj", "/CN=another CA"}}) {
    const auto r = run_program(argv, 60s);
    if (r.exit_code != 0) throw HarnessError("openssl failed: " + r.err);
  }
}

}  // namespace

SERVER_TEST_CASE("sentinel: tail through SENTINEL FAILOVER, lag-check after it, no replica left") {
  ReplicaSet set(1);
  const int old_port = set.master().port();
  const int promoted = set.replica(0).port();
  SentinelSet sentinels(old_port);
  sentinels.wait_ready(1, 30s);

  BackgroundProcess tail(cmd({binary, "tail", "--line-buffered"}, sentinels.flags()));
  tail.wait_for_line(kind_is("sync"), 20s, "tail's sync line");
  const auto joined = std::chrono::steady_clock::now();
  CHECK(tail.err().find("is at 127.0.0.1:" + std::to_string(old_port)) != std::string::npos);

  // Before: to the old master, every one through to the replica.
  int written = 0;
  {
    RespClient m = set.master().client();
    for (; written < 20; ++written)
      must(m, {"SET", "w:" + std::to_string(written), std::to_string(written)});
    set.wait_in_step(10s);
  }
  tail.wait_for_line(set_of(written - 1), 10s, "the writes before the failover");
  // Every sentinel has seen the master list tail's link (up to 10 s): a replica it made of it
  // would be carried over to the new master's.
  sentinels.wait_info_since(joined, 15s);

  // During: from the moment the sentinels name the new master, writes go there, until tail has
  // followed (and at least a few of them were made).
  std::atomic<bool> stop{false};
  std::atomic<int> next{written};
  std::string writer_error;
  std::thread writer([&] {
    try {
      if (!wait_until([&] { return sentinels.master_port(0) == promoted; }, 30s, 10ms)) return;
      RespClient c(promoted);
      while (!stop || next < written + 5) {
        const int n = next;
        must(c, {"SET", "w:" + std::to_string(n), std::to_string(n)});
        next = n + 1;
        std::this_thread::sleep_for(10ms);
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
    }
  });
  int now_master = 0;
  try {
    now_master = sentinels.failover(old_port, 30s);
    tail.wait_for_line(kind_is("failover"), 30s, "the failover line");
  } catch (...) {
    stop = true;
    writer.join();
    throw;
  }
  stop = true;
  writer.join();
  REQUIRE(writer_error == "");
  CHECK(now_master == promoted);
  written = next;
  CHECK(written >= 25);

  // After: more writes to the new master.
  {
    RespClient m(promoted);
    for (const int end = written + 20; written < end; ++written)
      must(m, {"SET", "w:" + std::to_string(written), std::to_string(written)});
  }
  tail.wait_for_line(set_of(written - 1), 20s, "the writes after the failover");

  // lag-check --sentinel: the new master, its replica (the old master, once an operator points
  // it there), and tail's link counted as an inspector, never judged.
  {
    RespClient old = set.master().client();
    must(old, {"REPLICAOF", "127.0.0.1", std::to_string(promoted)});
    RespClient m(promoted);
    REQUIRE(wait_until(
        [&] {
          const std::string s =
              info_field(m, "replication", "slave0") + info_field(m, "replication", "slave1");
          return s.find("port=" + std::to_string(old_port) + ",state=online") != std::string::npos;
        },
        20s, 50ms));
  }
  const auto lag = run_program(
      cmd({binary, "lag-check", "--format", "json", "--probe-timeout", "3"}, sentinels.flags()),
      60s);
  INFO("lag-check: " << lag.out << lag.err);
  CHECK(lag.exit_code == 0);
  const json report = json::parse(lag.out, nullptr, false);
  REQUIRE(report.is_object());
  CHECK(report["master"]["address"] == "127.0.0.1:" + std::to_string(promoted));
  REQUIRE(report["replicas"].size() == 1);
  CHECK(report["replicas"][0]["address"] == "127.0.0.1:" + std::to_string(old_port));
  CHECK(report["inspectors"] == 1);

  tail.signal(SIGINT);
  CHECK(tail.wait(10s) == 130);
  INFO("tail's stderr: " << tail.err());

  // Each write exactly once, in order; one failover line, from the old master to the new.
  const std::vector<json> lines = parse_json_lines(tail.lines());
  CHECK(writes_seen(lines) == first_writes(written));
  // The sentinels' hellos (a PUBLISH every 2 s) went through the feed, hidden as housekeeping.
  for (const json& j : of_kind(lines, "command")) CHECK(j["command"] != "publish");
  const std::vector<json> failovers = of_kind(lines, "failover");
  REQUIRE(failovers.size() == 1);
  CHECK(failovers[0]["master_name"] == sentinels.master_name());
  CHECK(failovers[0]["from"] == "127.0.0.1:" + std::to_string(old_port));
  CHECK(failovers[0]["to"] == "127.0.0.1:" + std::to_string(promoted));
  CHECK(failovers[0]["ts"].is_number_integer());
  // The failover line comes between the old master's writes and the new one's sync.
  bool after_failover_sync = false;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i]["kind"] == "failover")
      after_failover_sync = i + 1 < lines.size() && lines[i + 1]["kind"] == "sync" &&
                            lines[i + 1]["mode"] == "partial";
  CHECK(after_failover_sync);

  // No sentinel took tail for a replica: the only replica any of them knows is the old master.
  for (std::size_t i = 0; i < sentinels.size(); ++i) {
    CAPTURE(i);
    for (const std::string& r : sentinels.replicas(i))
      CHECK(r == "127.0.0.1:" + std::to_string(old_port));
    const std::string conf = sentinels.config(i);
    CHECK(conf.find("redis-repl.invalid") == std::string::npos);
    std::istringstream in(conf);
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("sentinel known-replica "))
        CHECK(line.ends_with(" 127.0.0.1 " + std::to_string(old_port)));
  }
}

SERVER_TEST_CASE("sentinel: tail follows the failover that follows a master's crash") {
  ReplicaSet set(1);
  const int old_port = set.master().port();
  const int promoted = set.replica(0).port();
  SentinelSet sentinels(old_port);
  sentinels.wait_ready(1, 30s);

  BackgroundProcess tail(cmd({binary, "tail", "--line-buffered"}, sentinels.flags()));
  tail.wait_for_line(kind_is("sync"), 20s, "tail's sync line");
  // lag-check --watch finds the master again for every sample: it judges the old master, then
  // (once the sentinels have promoted the replica) the new one, without being restarted.
  BackgroundProcess watch(cmd({binary, "lag-check", "--watch", "0.5", "--format", "json",
                               "--probe-timeout", "1", "--min-replicas", "0"},
                              sentinels.flags()));
  watch.wait_for_line(sample_of_master(old_port), 20s, "a sample of the old master");
  int written = 0;
  {
    RespClient m = set.master().client();
    for (; written < 10; ++written)
      must(m, {"SET", "w:" + std::to_string(written), std::to_string(written)});
    set.wait_in_step(10s);
  }
  tail.wait_for_line(set_of(written - 1), 10s, "the writes before the crash");

  // The link ends with the master; the sentinels see it down, agree, and promote the replica.
  REQUIRE(::kill(set.master().pid(), SIGKILL) == 0);
  sentinels.wait_master(promoted, 30s);
  {
    RespClient m(promoted);
    for (const int end = written + 10; written < end; ++written)
      must(m, {"SET", "w:" + std::to_string(written), std::to_string(written)});
  }
  tail.wait_for_line(set_of(written - 1), 30s, "the writes after the failover");
  watch.wait_for_line(sample_of_master(promoted), 30s, "a sample of the new master");
  watch.signal(SIGTERM);
  CHECK(watch.wait(10s) == 143);
  INFO("lag-check's stderr: " << watch.err());
  // One JSON document per line throughout: the samples while no master could be reached are
  // UNKNOWN in the same format, never a crash or a stray line.
  for (const std::string& line : watch.lines()) {
    CAPTURE(line);
    CHECK(json::parse(line, nullptr, false).is_object());
  }
  tail.signal(SIGTERM);
  CHECK(tail.wait(10s) == 143);
  INFO("tail's stderr: " << tail.err());

  const std::vector<json> lines = parse_json_lines(tail.lines());
  CHECK(writes_seen(lines) == first_writes(written));
  const std::vector<json> failovers = of_kind(lines, "failover");
  REQUIRE(failovers.size() == 1);
  CHECK(failovers[0]["from"] == "127.0.0.1:" + std::to_string(old_port));
  CHECK(failovers[0]["to"] == "127.0.0.1:" + std::to_string(promoted));
}

SERVER_TEST_CASE("sentinel: dump-rdb finds the master") {
  ReplicaSet set(1);
  {
    RespClient m = set.master().client();
    must(m, {"SET", "found", "yes"});
  }
  SentinelSet sentinels(set.master().port());
  TempDir dir;
  const auto r = run_program(
      cmd({binary, "dump-rdb", "-o", (dir / "dump.rdb").string()}, sentinels.flags()), 60s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::file_size(dir / "dump.rdb") > 0);
}

SERVER_TEST_CASE(
    "sentinel: a master user allowed to replicate but not ROLE is taken at their word") {
  ReplicaSet set(0);
  {
    RespClient m = set.master().client();
    must(m, {"ACL", "SETUSER", "repl", "on", ">pw", "+psync", "+replconf", "+ping"});
  }
  SentinelSet sentinels(set.master().port(), SentinelOptions{.count = 1, .quorum = 1});
  const auto r = run_program(
      cmd({binary, "dump-rdb", "-o", "-", "--user", "repl", "-a", "pw", "--no-auth-warning"},
          sentinels.flags()),
      60s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.starts_with("REDIS"));
}

SERVER_TEST_CASE("sentinel: what cannot lead to a master is one line and its exit code") {
  ReplicaSet set(0);
  SentinelSet sentinels(set.master().port(), SentinelOptions{.count = 1, .quorum = 1});
  const std::string s = "127.0.0.1:" + std::to_string(sentinels.port(0));

  SUBCASE("an unknown master name: exit 3 for tail and dump-rdb, UNKNOWN for lag-check") {
    for (const std::vector<std::string>& sub :
         {std::vector<std::string>{"tail"}, {"dump-rdb", "-o", "-"}, {"lag-check"}}) {
      CAPTURE(sub[0]);
      const auto r = run_program(
          cmd(cmd({binary}, sub), {"--sentinel", s, "--master-name", "no-such-master"}), 30s);
      CHECK(r.exit_code == 3);
      // lag-check reports it as it reports an unreachable master: in its output.
      const std::string said = sub[0] == "lag-check" ? r.out : r.err;
      CHECK(said.find("no sentinel knows a master named 'no-such-master'") != std::string::npos);
      CHECK(said.find(s) != std::string::npos);
      if (sub[0] != "lag-check") CHECK(line_count(r.err) == 1);
    }
  }
  SUBCASE("no sentinel reachable: exit 3, naming each") {
    const std::string a = "127.0.0.1:" + std::to_string(unused_loopback_port());
    const std::string b = "127.0.0.1:" + std::to_string(unused_loopback_port());
    const auto r = run_program(
        {binary, "tail", "--sentinel", a, "--sentinel", b, "--master-name", "mymaster"}, 30s);
    CHECK(r.exit_code == 3);
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find("no sentinel reachable") != std::string::npos);
    CHECK(r.err.find(a + " unreachable") != std::string::npos);
    CHECK(r.err.find(b + " unreachable") != std::string::npos);
  }
  SUBCASE("flags that do not go together: exit 2") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--sentinel", s},
          {"--master-name", "mymaster"},
          {"--sentinel", "localhost", "--master-name", "mymaster"},
          {"--sentinel", s, "--master-name", "mymaster", "-p", "6379"},
          {"--sentinel", s, "--master-name", "mymaster", "--sentinel-user", "u"}}) {
      const auto r = run_program(cmd({binary, "tail"}, args), 30s);
      CAPTURE(r.err);
      CHECK(r.exit_code == 2);
      CHECK(line_count(r.err) == 1);
    }
  }
}

SERVER_TEST_CASE("sentinel: over TLS, the sentinels as the master") {
  TempDir certs;
  make_certificates(certs);
  const std::string d = certs.path().string() + "/";
  const std::vector<std::string> tls = {
      "--tls-cert-file",    d + "server.pem", "--tls-key-file",     d + "server.key",
      "--tls-ca-cert-file", d + "ca.pem",     "--tls-auth-clients", "no"};
  // The master answers TLS on one port (the one the sentinels monitor and we use) and plain TCP
  // on the harness's.
  const int master_tls = unused_loopback_port();
  redis_repl::test::ServerOptions mo;
  mo.extra_args = cmd({"--tls-port", std::to_string(master_tls)}, tls);
  redis_repl::test::RedisServer master(mo);
  {
    RespClient m = master.client();
    must(m, {"SET", "over", "tls"});
  }
  std::vector<int> sentinel_tls;
  SentinelOptions so;
  so.count = 1;
  so.quorum = 1;
  so.extra_config = [&](std::size_t) {
    sentinel_tls.push_back(unused_loopback_port());
    return std::vector<std::string>{"tls-port " + std::to_string(sentinel_tls.back()),
                                    "tls-cert-file " + d + "server.pem",
                                    "tls-key-file " + d + "server.key",
                                    "tls-ca-cert-file " + d + "ca.pem",
                                    "tls-auth-clients no",
                                    "tls-replication yes"};
  };
  SentinelSet sentinels(master_tls, so);
  const std::vector<std::string> base = {binary,
                                         "dump-rdb",
                                         "-o",
                                         "-",
                                         "--tls",
                                         "--sentinel",
                                         "127.0.0.1:" + std::to_string(sentinel_tls.at(0)),
                                         "--master-name",
                                         "mymaster"};

  SUBCASE("the CA that signed them: the snapshot") {
    const auto r = run_program(cmd(base, {"--cacert", d + "ca.pem"}), 60s);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.starts_with("REDIS"));
  }
  SUBCASE("another CA: exit 11, one line naming the sentinel") {
    const auto r = run_program(cmd(base, {"--cacert", d + "other.pem"}), 60s);
    CHECK(r.exit_code == 11);
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find("127.0.0.1:" + std::to_string(sentinel_tls.at(0))) != std::string::npos);
  }
  SUBCASE("without --tls: no sentinel answers") {
    const auto r = run_program(
        {binary, "dump-rdb", "-o", "-", "--sentinel",
         "127.0.0.1:" + std::to_string(sentinel_tls.at(0)), "--master-name", "mymaster"},
        60s);
    CHECK(r.exit_code == 3);
    CHECK(line_count(r.err) == 1);
  }
}

SERVER_TEST_CASE("sentinel: the sentinels' own password") {
  ReplicaSet set(0);
  SentinelSet sentinels(set.master().port(),
                        SentinelOptions{.count = 1, .quorum = 1, .requirepass = "s3cret"});
  const std::vector<std::string> base = {binary,
                                         "dump-rdb",
                                         "-o",
                                         "-",
                                         "--sentinel",
                                         "127.0.0.1:" + std::to_string(sentinels.port(0)),
                                         "--master-name",
                                         "mymaster",
                                         "--no-auth-warning"};
  SUBCASE("wrong: exit 4, one line") {
    const auto r = run_program(cmd(base, {"--sentinel-pass", "wrong"}), 30s);
    CHECK(r.exit_code == 4);
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find("refused our credentials") != std::string::npos);
  }
  SUBCASE("missing: exit 4") {
    const auto r = run_program(base, 30s);
    CHECK(r.exit_code == 4);
    CHECK(line_count(r.err) == 1);
  }
  SUBCASE("right: the snapshot") {
    const auto r = run_program(cmd(base, {"--sentinel-pass", "s3cret"}), 30s);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.starts_with("REDIS"));
  }
}
