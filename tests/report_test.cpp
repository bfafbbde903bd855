// --format report: golden reports of fixed corpus RDBs (human tables and the JSON document), the
// prefix table's bound, a hostile key name, the flags that go with it, and a real server: the
// biggest key of each type is what `redis-cli --bigkeys` finds, and the report of a live master
// (dump-rdb and tail --snapshot) is the report of the same data saved to a file.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/rdb_parser.hpp"
#include "formats/sink.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"
#include "support/redis_server.hpp"
#include "support/server_test.hpp"

namespace redis_repl::test {
namespace {

std::string fixture(const char* name) {
  const std::string path = fixtures_dir() + "/" + name;
  if (!file_exists(path)) {
    MESSAGE("skipped: the shared RDB corpus is absent (" << name << " not found)");
    return {};
  }
  return path;
}

nlohmann::json report_of(std::string_view rdb, formats::ReportOptions o) {
  o.json = true;
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_report_sink(buf, o);
  core::RdbParser p(*sink);
  REQUIRE(p.feed(rdb) == core::Step::done);
  buf.flush();
  return nlohmann::json::parse(out);
}

}  // namespace

TEST_CASE("report: golden tables for people, of a corpus RDB with expiries") {
  const std::string path = fixture("generated/redis-7.0.15/expire.rdb");
  if (path.empty()) return;
  const auto r = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", path, "--format", "report",
                              "--top", "4", "--prefix-separators", ":-", "--prefix-depth", "3"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // Checked by hand against the memory CSV of the same file (key_size_test): e:already-expired*
  // expire 71 ms into the second the file was saved in (ctime 1717200000), so they count as
  // expired at save; e:set-ex expires an hour after that.
  CHECK(r.out ==
        R"(Key-space report: RDB version 10, written by "7.0.15", saved 2024-06-01T00:00:00.000Z
memory is the estimated server memory (see the man page); bytes the size in the RDB

Totals
  db   keys  expires  bytes  memory
  db0    12       10    374    5920
  all    12       10    374    5920

By type and encoding
  type    encoding   keys  expires  bytes  memory
  string  (all)         6        4    125     536
          embstr        6        4    125     536
  list    (all)         2        2     83     360
          quicklist     2        2     83     360
  set     (all)         1        1     29      88
          intset        1        1     29      88
  zset    (all)         1        1     30      88
          listpack      1        1     30      88
  hash    (all)         1        1     31      88
          listpack      1        1     31      88
  stream  (all)         1        1     76    4760
          stream        1        1     76    4760

Top 4 keys by memory
  memory  bytes  elements  largest  db  type    encoding   key
    4760     76         1        1   0  stream  stream     "e:stream"
     192     50         1        5   0  list    quicklist  "e:already-expired-list"
     168     33         2        1   0  list    quicklist  "e:list"
     112     34         5        5   0  string  embstr     "e:already-expired"

Top 4 keys by elements (lists, sets, sorted sets, hashes, streams)
  memory  bytes  elements  largest  db  type    encoding   key
      88     29         2        1   0  set     intset     "e:set"
     168     33         2        1   0  list    quicklist  "e:list"
      88     30         1        1   0  zset    listpack   "e:zset"
    4760     76         1        1   0  stream  stream     "e:stream"

Biggest key of each type (as redis-cli --bigkeys)
  type    size  unit     key
  string     5  bytes    "e:already-expired"
  list       2  items    "e:list"
  set        2  members  "e:set"
  zset       1  members  "e:zset"
  hash       1  fields   "e:hash"
  stream     1  entries  "e:stream"

Top 4 keys by largest element
  memory  bytes  elements  largest  db  type    encoding   key
     112     34         5        5   0  string  embstr     "e:already-expired"
     192     50         1        5   0  list    quicklist  "e:already-expired-list"
      88     30         1        1   0  zset    listpack   "e:zset"
      72     15         1        1   0  string  embstr     "e:no-expire"

Top 4 key prefixes by memory (separators ":-", depth 3)
  memory  bytes  keys  prefix
    5920    374    12  "e:"
     304     84     2  "e:already-"
     192     50     1  "e:already-expired-"
      96     21     1  "e:set-"
       0      0     0  (keys without a separator)

Expiry (relative to the end of the second the RDB was saved in)
  expires          keys  memory
  no expiry           2     144
  expired at save     2     304
  within 1 hour       1      96
  within 1 day        0       0
  within 1 week       0       0
  later               7    5376

Checksum: ok
)");
}

TEST_CASE("report: golden JSON document, of a corpus RDB with four databases") {
  const std::string path = fixture("generated/redis-7.0.15/multidb.rdb");
  if (path.empty()) return;
  const auto r = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", path, "--format", "report",
                              "--report-format", "json", "--top", "2", "--prefix-depth", "1"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // The memory CSV of the file (per key) adds up to these: db7 holds 96 + 88 + 72 + 152; the
  // four "same-name" keys (72 each) have no prefix; db0:, db1: and db15: tie at 240 and are
  // ordered by name; ties between keys keep the file's order.
  CHECK(r.out ==
        R"({"kind":"report","rdb_version":10,"redis_ver":"7.0.15","saved_at_ms":1717200000000,)"
        R"("total":{"keys":13,"expires":1,"bytes":269,"memory":1344},)"
        R"("dbs":[{"db":0,"keys":3,"expires":0,"bytes":60,"memory":312},)"
        R"({"db":1,"keys":3,"expires":0,"bytes":60,"memory":312},)"
        R"({"db":7,"keys":4,"expires":1,"bytes":85,"memory":408},)"
        R"({"db":15,"keys":3,"expires":0,"bytes":64,"memory":312}],)"
        R"("types":[{"type":"string","keys":9,"expires":1,"bytes":180,"memory":736},)"
        R"({"type":"list","keys":4,"expires":0,"bytes":89,"memory":608}],)"
        R"("encodings":[{"type":"string","encoding":"embstr","keys":9,"expires":1,"bytes":180,)"
        R"("memory":736},{"type":"list","encoding":"quicklist","keys":4,"expires":0,"bytes":89,)"
        R"("memory":608}],)"
        R"("top_memory":[{"db":0,"key":"db0:list","type":"list","encoding":"quicklist",)"
        R"("memory":152,"bytes":22,"len":1,"max_element":1},)"
        R"({"db":1,"key":"db1:list","type":"list","encoding":"quicklist","memory":152,"bytes":22,)"
        R"("len":1,"max_element":1}],)"
        R"("top_elements":[{"db":0,"key":"db0:list","type":"list","encoding":"quicklist",)"
        R"("memory":152,"bytes":22,"len":1,"max_element":1},)"
        R"({"db":1,"key":"db1:list","type":"list","encoding":"quicklist","memory":152,"bytes":22,)"
        R"("len":1,"max_element":1}],)"
        R"("top_element_size":[{"db":15,"key":"db15:key","type":"string","encoding":"embstr",)"
        R"("memory":88,"bytes":25,"len":14,"max_element":14},)"
        R"({"db":0,"key":"db0:key","type":"string","encoding":"embstr","memory":88,"bytes":23,)"
        R"("len":13,"max_element":13}],)"
        R"("biggest":[{"db":15,"key":"db15:key","type":"string","encoding":"embstr","memory":88,)"
        R"("bytes":25,"len":14,"max_element":14},)"
        R"({"db":0,"key":"db0:list","type":"list","encoding":"quicklist","memory":152,"bytes":22,)"
        R"("len":1,"max_element":1}],)"
        R"("prefixes":{"separators":":","depth":1,"top":[{"prefix":"db7:","keys":3,"bytes":70,)"
        R"("memory":336},{"prefix":"db0:","keys":2,"bytes":45,"memory":240}],)"
        R"("without_prefix":{"keys":4,"memory":288},"dropped":{"prefixes":0,"keys":0,"memory":0}},)"
        R"("expiry":{"reference_ms":1717200001000,"none":{"keys":12,"memory":1248},)"
        R"("expired":{"keys":0,"memory":0},"under_1h":{"keys":0,"memory":0},)"
        R"("under_1d":{"keys":0,"memory":0},"under_1w":{"keys":0,"memory":0},)"
        R"("later":{"keys":1,"memory":96}},"checksum":"ok"})"
        "\n");
}

TEST_CASE("report: the prefix table stays within its cap and says what fell out") {
  // Five keys under "big:" with large values, then 200 one-key prefixes with small ones.
  RdbBuilder b(10);
  b.byte(0xfe).len(0);
  for (int i = 0; i < 5; ++i) b.byte(0).str("big:" + std::to_string(i)).str(std::string(5000, 'v'));
  for (int i = 0; i < 200; ++i) b.byte(0).str("p" + std::to_string(i) + ":x").str("v");
  const std::string rdb = b.finish();
  formats::ReportOptions o;
  o.prefix_cap = 16;
  o.top = 1000;
  const nlohmann::json j = report_of(rdb, o);
  const auto& top = j["prefixes"]["top"];
  CHECK(top.size() <= 16);
  REQUIRE(top.size() >= 1);
  CHECK(top[0]["prefix"] == "big:");
  CHECK(top[0]["keys"] == 5);
  std::uint64_t kept = 0;
  for (const auto& p : top) kept += p["keys"].get<std::uint64_t>();
  const auto& dropped = j["prefixes"]["dropped"];
  CHECK(dropped["prefixes"].get<std::uint64_t>() > 0);
  // Every key has one prefix: it is either in the table or counted as dropped.
  CHECK(kept + dropped["keys"].get<std::uint64_t>() == 205);

  // Without the cap nothing falls out; depth and several separators.
  RdbBuilder c(10);
  c.byte(0xfe).len(0);
  c.byte(0).str("a:b/c:d").str("1");
  c.byte(0).str("a:b/e").str("2");
  c.byte(0).str("plain").str("3");
  o = formats::ReportOptions{};
  o.separators = ":/";
  o.prefix_depth = 3;
  const nlohmann::json k = report_of(c.finish(), o);
  std::map<std::string, std::uint64_t> keys;
  for (const auto& p : k["prefixes"]["top"]) keys[p["prefix"]] = p["keys"];
  CHECK(keys == std::map<std::string, std::uint64_t>{{"a:", 2}, {"a:b/", 2}, {"a:b/c:", 1}});
  CHECK(k["prefixes"]["without_prefix"]["keys"] == 1);
  CHECK(k["prefixes"]["dropped"]["prefixes"] == 0);
}

TEST_CASE("report: a key name of 2 MB is kept to 512 bytes, with its length") {
  RdbBuilder b(10);
  b.byte(0xfe).len(0);
  const std::string huge(2'000'000, 'k');
  b.byte(0).str(huge).str("value");
  const nlohmann::json j = report_of(b.finish(), formats::ReportOptions{});
  const auto& row = j["top_memory"][0];
  CHECK(row["key"].get<std::string>() == huge.substr(0, 512));
  CHECK(row["key_length"] == 2'000'000);
  CHECK(row["len"] == 5);
}

TEST_CASE("report: its flags go with --format report only") {
  const std::string path = fixture("generated/redis-7.0.15/mixed.rdb");
  if (path.empty()) return;
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--top", "3"},
                                                {"--prefix-depth", "2"},
                                                {"--report-format", "json"},
                                                {"--prefix-separators", "/"}}) {
    std::vector<std::string> argv = {REDIS_REPL_BINARY, "dump-rdb", "--file", path};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = run_program(argv);
    CAPTURE(extra[0]);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(extra[0] + " goes with --format report") != std::string::npos);
    CHECK(r.out.empty());
  }
  for (const char* bad : {"0", "-1", "x", "100001"}) {
    const auto r = run_program(
        {REDIS_REPL_BINARY, "dump-rdb", "--file", path, "--format", "report", "--top", bad});
    CAPTURE(bad);
    CHECK(r.exit_code == 2);
  }
  // tail reports a snapshot only: --snapshot is wanted, and no resume.
  const auto t = run_program({REDIS_REPL_BINARY, "tail", "-p", "1", "--format", "report"});
  CHECK(t.exit_code == 2);
  CHECK(t.err.find("--snapshot") != std::string::npos);
  const auto m = run_program({REDIS_REPL_BINARY, "tail", "-p", "1", "--format", "memory"});
  CHECK(m.exit_code == 2);
}

SERVER_TEST_CASE("report: a real server's biggest keys, as redis-cli --bigkeys finds them") {
  RedisServer server(ServerOptions{.extra_args = {"--repl-diskless-sync-delay", "0"}});
  RespClient c = server.client(std::chrono::milliseconds(60000));
  std::vector<std::vector<std::string>> cmds;
  // Every type and encoding, sizes over four orders of magnitude, no two keys of a type of the
  // same size (--bigkeys keeps the first it scans of equal ones, in its own order).
  cmds.push_back({"SET", "s:int", "1234567"});
  cmds.push_back({"SET", "s:emb", std::string(30, 'e')});
  for (int n : {100, 1000, 10000, 100000})
    cmds.push_back({"SET", "s:raw:" + std::to_string(n), std::string(std::size_t(n) + 1, 'r')});
  for (int n : {3, 30, 300, 3000, 30001}) {
    const std::string s = std::to_string(n);
    std::vector<std::string> l = {"RPUSH", "l:" + s}, set = {"SADD", "set:" + s},
                             z = {"ZADD", "z:" + s}, h = {"HSET", "h:" + s};
    for (int i = 0; i < n; ++i) {
      const std::string is = std::to_string(i);
      l.push_back("item-" + is);
      set.push_back(n <= 300 ? std::to_string(i * 3) : "member-" + is);  // intset, hashtable
      z.push_back(is);
      z.push_back("m-" + is);
      h.push_back("f-" + is);
      h.push_back("v-" + is);
    }
    // Sizes one apart by type, so no two types tie either.
    set.push_back(n <= 300 ? "7777777" : "extra-1");
    for (int i = 0; i < 2; ++i)
      z.insert(z.end(), {std::to_string(-1 - i), "extra-" + std::to_string(i)});
    for (int i = 0; i < 3; ++i) h.insert(h.end(), {"extra-" + std::to_string(i), "x"});
    for (auto* v : {&l, &set, &z, &h}) cmds.push_back(*v);
    if (n <= 3000)
      for (int i = 0; i < n + 4; ++i)
        cmds.push_back({"XADD", "x:" + s, "*", "n", std::to_string(i)});
  }
  for (std::size_t i = 0; i < cmds.size(); i += 500) {
    const std::vector<std::vector<std::string>> batch(
        cmds.begin() + static_cast<std::ptrdiff_t>(i),
        cmds.begin() + static_cast<std::ptrdiff_t>(std::min(cmds.size(), i + 500)));
    for (const auto& reply : c.pipeline(batch)) REQUIRE_FALSE(reply.is_error());
  }

  const auto big =
      run_program({std::string(flavour.cli), "-p", std::to_string(server.port()), "--bigkeys"});
  REQUIRE(big.exit_code == 0);
  // "Biggest   list found '"l:30001"' has 30001 items"
  const std::regex line(R"re(Biggest +(\w+) found '"([^"]*)"' has (\d+) (\w+))re");
  std::map<std::string, std::pair<std::string, std::uint64_t>> expected;
  for (std::sregex_iterator it(big.out.begin(), big.out.end(), line), end; it != end; ++it)
    expected[(*it)[1]] = {(*it)[2], std::stoull((*it)[3])};
  REQUIRE(expected.size() == 6);

  const std::string port = std::to_string(server.port());
  const auto live = run_program({REDIS_REPL_BINARY, "dump-rdb", "-p", port, "--format", "report",
                                 "--report-format", "json", "--quiet"});
  INFO(live.err);
  REQUIRE(live.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(live.out);
  std::map<std::string, std::pair<std::string, std::uint64_t>> found;
  for (const auto& b : j["biggest"]) found[b["type"]] = {b["key"], b["len"]};
  CHECK(found == expected);
  // The top keys by elements: the biggest of each collection type, largest first.
  REQUIRE(j["top_elements"].size() >= 5);
  CHECK(j["top_elements"][0]["key"] == "h:30001");  // 30004 fields
  CHECK(j["top_elements"][1]["key"] == "z:30001");
  CHECK(j["top_elements"][2]["key"] == "set:30001");
  CHECK(j["top_elements"][3]["key"] == "l:30001");
  CHECK(j["top_memory"][0]["memory"] >= j["top_memory"][1]["memory"]);
  CHECK(j["total"]["keys"] == c.command({"DBSIZE"}).integer);

  // The same data saved to a file gives the same report (the save time aside); so does tail.
  // (The snapshot's own fork may still be finishing.)
  std::string saved;
  for (int i = 0; i < 200 && (saved = c.command({"SAVE"}).describe()) != "OK"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(saved == "OK");
  const auto file =
      run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", (server.dir() / "dump.rdb").string(),
                   "--format", "report", "--report-format", "json"});
  REQUIRE(file.exit_code == 0);
  const auto tail = run_program({REDIS_REPL_BINARY, "tail", "-p", port, "--snapshot", "--format",
                                 "report", "--report-format", "json"});
  INFO(tail.err);
  REQUIRE(tail.exit_code == 0);
  auto comparable = [](nlohmann::json d) {
    d.erase("saved_at_ms");
    d["expiry"].erase("reference_ms");
    return d;
  };
  CHECK(comparable(nlohmann::json::parse(file.out)) == comparable(j));
  CHECK(comparable(nlohmann::json::parse(tail.out)) == comparable(j));
}

}  // namespace redis_repl::test
