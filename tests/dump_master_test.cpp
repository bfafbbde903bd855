// `redis-repl dump-rdb` from real masters (each test against Redis 7.0.15 and against
// Valkey 8.0.1), run as the built binary:
// * -o FILE from a disk-based ($<len>) and a diskless ($EOF) sync holds what the master's own
//   SAVE holds (both parsed with dump-rdb --file, key lines compared), loads into a fresh
//   server with the same DEBUG DIGEST, and is the only file in its directory;
// * --format json holds every key as the server has it; --check prints totals that add up;
// * a transfer cut or stalled mid-way (support/tcp_proxy.hpp) exits 3 and leaves neither FILE
//   nor a temporary file beside it;
// * authentication failures exit 4.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/background_process.hpp"
#include "support/redis_server.hpp"
#include "support/replication.hpp"
#include "support/server_test.hpp"
#include "support/tcp_proxy.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using redis_repl::test::BackgroundProcess;
using redis_repl::test::dataset_diff;
using redis_repl::test::dataset_from_key_lines;
using redis_repl::test::dump_file_json;
using redis_repl::test::key_lines_text;
using redis_repl::test::master_args;
using redis_repl::test::must;
using redis_repl::test::of_kind;
using redis_repl::test::parse_json_lines;
using redis_repl::test::ProgramResult;
using redis_repl::test::RedisServer;
using redis_repl::test::RespClient;
using redis_repl::test::run_program;
using redis_repl::test::ServerOptions;
using redis_repl::test::TcpProxy;
using redis_repl::test::TempDir;

const std::string binary = REDIS_REPL_BINARY;

std::vector<std::string> dump_args(int port, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {binary, "dump-rdb", "-p", std::to_string(port)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string listing(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items)
    s += "  " + (i.size() > 300 ? i.substr(0, 300) + "..." : i) + "\n";
  return s.empty() ? "  (none)\n" : s;
}

// The first difference between two sorted lists of lines, or "".
std::string first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < a.size() || i < b.size(); ++i) {
    const std::string x = i < a.size() ? a[i] : "(end)";
    const std::string y = i < b.size() ? b[i] : "(end)";
    if (x != y)
      return "line " + std::to_string(i) + ":\n  " + x.substr(0, 400) + "\n  " + y.substr(0, 400);
  }
  return {};
}

void load_function(RespClient& c) {
  must(c, {"FUNCTION", "LOAD",
           "#!lua name=testlib\nredis.register_function('answer', function() return 42 end)"});
}

std::vector<std::string> lines_of_kind_text(const std::vector<json>& lines, std::string_view kind) {
  std::vector<std::string> out;
  for (const json& l : of_kind(lines, kind)) out.push_back(l.dump());
  return out;
}

std::string random_payload(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed;
  for (char& ch : s) {
    x = x * 1664525u + 1013904223u;
    ch = static_cast<char>(x >> 24);
  }
  return s;
}

// About 2 MB of incompressible values in 200 keys.
void populate_big(RespClient& c) {
  std::vector<std::vector<std::string>> cmds;
  for (unsigned i = 0; i < 200; ++i)
    cmds.push_back({"SET", "big:" + std::to_string(i), random_payload(10000, i + 1)});
  for (const auto& r : c.pipeline(cmds)) REQUIRE_FALSE(r.is_error());
}

}  // namespace

SERVER_TEST_CASE(
    "dump_master: -o FILE holds what the master's own SAVE holds, disk-based and diskless") {
  for (const std::string diskless : {"no", "yes"}) {
    CAPTURE(diskless);
    RedisServer m(ServerOptions{.extra_args = master_args({"--repl-diskless-sync", diskless})});
    RespClient c = m.client();
    redis_repl::test::populate_all_types(c);
    load_function(c);
    const auto expected = redis_repl::test::server_dataset(c);

    TempDir dir;
    const fs::path out = dir / "snapshot.rdb";
    const ProgramResult r = run_program(dump_args(m.port(), {"-o", out.string()}), 60s);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.out.empty());
    CHECK(dir.list() == std::vector<std::string>{"snapshot.rdb"});  // no temporary file left
    REQUIRE(fs::exists(out));
    CHECK(read_text(out).substr(0, 9) == flavour.rdb_header);
    CHECK_MESSAGE(
        r.err.find("wrote " + std::to_string(fs::file_size(out)) + " bytes") != std::string::npos,
        r.err);
    const std::string log = m.log_tail(20000);
    CHECK_MESSAGE(log.find(std::string("Starting BGSAVE for SYNC with target: ") +
                           (diskless == "yes" ? "replicas sockets" : "disk")) != std::string::npos,
                  log);

    // The fork that served us may not have been reaped yet: SAVE would be refused.
    REQUIRE(redis_repl::test::wait_until(
        [&] {
          return redis_repl::test::info_field(c, "persistence", "rdb_bgsave_in_progress") == "0";
        },
        10s));
    must(c, {"SAVE"});
    const std::vector<json> mine = dump_file_json(out);
    const std::vector<json> theirs = dump_file_json(m.dir() / "dump.rdb");
    const std::vector<std::string> mine_keys = key_lines_text(mine);
    const std::vector<std::string> their_keys = key_lines_text(theirs);
    CHECK(mine_keys.size() == expected.size());
    CHECK_MESSAGE(mine_keys == their_keys, "key lines of -o FILE vs SAVE differ at ",
                  first_difference(mine_keys, their_keys));
    CHECK(lines_of_kind_text(mine, "function") == lines_of_kind_text(theirs, "function"));
    CHECK(lines_of_kind_text(mine, "function").size() == 1);
    CHECK(lines_of_kind_text(mine, "db") == lines_of_kind_text(theirs, "db"));
    const std::string diff = dataset_diff(expected, dataset_from_key_lines(mine));
    CHECK_MESSAGE(diff.empty(), "-o FILE vs the server's data:\n", diff);

    // What Redis itself makes of the file: the same data set.
    RedisServer loaded(ServerOptions{.rdb_file = out, .extra_args = master_args()});
    RespClient lc = loaded.client();
    CHECK(must(lc, {"DEBUG", "DIGEST"}).str == must(c, {"DEBUG", "DIGEST"}).str);
    CHECK(must(lc, {"FUNCTION", "LIST"}).elements.size() == 1);
  }
}

SERVER_TEST_CASE("dump_master: --format json and --check from a master") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  redis_repl::test::populate_all_types(c);
  const auto expected = redis_repl::test::server_dataset(c);

  const ProgramResult j = run_program(dump_args(m.port(), {"--format", "json", "--quiet"}), 60s);
  REQUIRE_MESSAGE(j.exit_code == 0, j.err);
  std::vector<json> lines;
  REQUIRE_NOTHROW(lines = parse_json_lines(j.out));
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.front().value("kind", "") == "header");
  CHECK(lines.back().value("kind", "") == "end");
  CHECK(lines.back().value("checksum", "") == "ok");
  const std::string diff = dataset_diff(expected, dataset_from_key_lines(lines));
  CHECK_MESSAGE(diff.empty(), "--format json vs the server's data:\n", diff);
  // The snapshot only: no replication lines, nothing after the RDB.
  CHECK(of_kind(lines, "command").empty());
  CHECK(of_kind(lines, "sync").empty());

  std::uint64_t db0 = 0, db1 = 0, db5 = 0;
  for (const auto& [k, v] : expected) {
    if (k.rfind("db:0 ", 0) == 0) ++db0;
    if (k.rfind("db:1 ", 0) == 0) ++db1;
    if (k.rfind("db:5 ", 0) == 0) ++db5;
  }
  const ProgramResult cj =
      run_program(dump_args(m.port(), {"--check", "--format", "json", "--quiet"}), 60s);
  REQUIRE_MESSAGE(cj.exit_code == 0, cj.err);
  std::vector<json> check_lines;
  REQUIRE_NOTHROW(check_lines = parse_json_lines(cj.out));
  REQUIRE(check_lines.size() == 1);
  const json& end = check_lines.back();
  CHECK(end.value("kind", "") == "end");
  CHECK(end.value("checksum", "") == "ok");
  CHECK(end.at("keys").get<std::uint64_t>() == expected.size());
  CHECK(end.at("expires").get<std::uint64_t>() == 2);  // str:ttl and db1:hash
  REQUIRE(end.at("dbs").size() == 3);
  CHECK(end.at("dbs").at(0).at("keys").get<std::uint64_t>() == db0);
  CHECK(end.at("dbs").at(1).at("keys").get<std::uint64_t>() == db1);
  CHECK(end.at("dbs").at(2).at("keys").get<std::uint64_t>() == db5);
  CHECK(end.at("dbs").at(0).at("types").at("stream").get<std::uint64_t>() == 2);
  CHECK(end.at("bytes").get<std::uint64_t>() > 300000);

  const ProgramResult ch = run_program(dump_args(m.port(), {"--check", "--quiet"}), 60s);
  REQUIRE_MESSAGE(ch.exit_code == 0, ch.err);
  CHECK_MESSAGE(ch.out.find(std::to_string(expected.size()) + " keys") != std::string::npos,
                ch.out);
}

SERVER_TEST_CASE("dump_master: a transfer cut or stalled mid-way exits 3 and leaves no file") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  populate_big(c);
  TcpProxy proxy(m.port());
  TempDir dir;
  const fs::path out = dir / "snapshot.rdb";

  SUBCASE("-o FILE, disk-based and diskless: exit 3, nothing left") {
    for (const std::string diskless : {"no", "yes"}) {
      CAPTURE(diskless);
      must(c, {"CONFIG", "SET", "repl-diskless-sync", diskless});
      const int cuts = proxy.cuts();
      proxy.cut_after(TcpProxy::Direction::to_client, 500000);
      const ProgramResult r = run_program(dump_args(proxy.port(), {"-o", out.string()}), 30s);
      CHECK_MESSAGE(r.exit_code == 3, r.err);
      CHECK(proxy.cuts() == cuts + 1);
      CHECK_MESSAGE(dir.list().empty(), "left behind: ", listing(dir.list()));
    }
  }

  SUBCASE("--format json: exit 3, every line well-formed, no end line") {
    proxy.cut_after(TcpProxy::Direction::to_client, 500000);
    const ProgramResult r = run_program(dump_args(proxy.port(), {"--format", "json"}), 30s);
    CHECK_MESSAGE(r.exit_code == 3, r.err);
    std::vector<json> lines;
    CHECK_NOTHROW(lines = parse_json_lines(r.out));
    CHECK(of_kind(lines, "end").empty());
  }

  SUBCASE("stalled: --timeout ends it") {
    // Slow the fork down so that the transfer is still running when the link stalls.
    must(c, {"CONFIG", "SET", "rdb-key-save-delay", "20000"});
    TcpProxy slow(m.port());
    BackgroundProcess d(dump_args(slow.port(), {"-o", out.string(), "--timeout", "1"}));
    REQUIRE_MESSAGE(
        redis_repl::test::wait_until(
            [&] { return slow.forwarded(TcpProxy::Direction::to_client) > 30000; }, 15s),
        d.describe());
    slow.stall();
    const auto stalled_at = std::chrono::steady_clock::now();
    CHECK_MESSAGE(d.wait(15s) == 3, d.describe());
    CHECK(std::chrono::steady_clock::now() - stalled_at >= 800ms);
    CHECK_MESSAGE(dir.list().empty(), "left behind: ", listing(dir.list()));
    must(c, {"CONFIG", "SET", "rdb-key-save-delay", "0"});
  }
}

SERVER_TEST_CASE("dump_master: authentication failures exit 4, a good password works") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  must(c, {"SET", "k", "v"});
  must(c, {"CONFIG", "SET", "requirepass", "test-dump-pw"});
  TempDir dir;
  const fs::path out = dir / "snapshot.rdb";

  BackgroundProcess wrong(dump_args(m.port(), {"-o", out.string()}),
                          {{"REDISCLI_AUTH", "wrong-pw"}});
  CHECK_MESSAGE(wrong.wait(20s) == 4, wrong.describe());
  BackgroundProcess none(dump_args(m.port(), {"--check"}));
  CHECK_MESSAGE(none.wait(20s) == 4, none.describe());
  CHECK(dir.list().empty());

  BackgroundProcess good(dump_args(m.port(), {"-o", out.string()}),
                         {{"REDISCLI_AUTH", "test-dump-pw"}});
  CHECK_MESSAGE(good.wait(20s) == 0, good.describe());
  CHECK(dir.list() == std::vector<std::string>{"snapshot.rdb"});
  CHECK(good.err().find("test-dump-pw") == std::string::npos);
}
