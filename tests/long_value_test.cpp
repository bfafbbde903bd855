// One long value end to end, with each server (Redis 7.0.15, Valkey 8.0.1): a 40 MB compressible
// text (saved with LZF) and a 24 MB binary string (saved raw) go through `dump-rdb --file` in every
// format,
// --check and a filter that rejects them, `dump-rdb -o` and --format json from the master, and
// `tail --snapshot`, each in under 64 MB of peak RSS (measured with /usr/bin/time); the JSON
// holds the values exactly and the RESP output rebuilds the same data set in an empty server.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "support/redis_server.hpp"
#include "support/replication.hpp"
#include "support/server_test.hpp"

namespace {

namespace fs = std::filesystem;
using redis_repl::test::json_bytes;
using redis_repl::test::master_args;
using redis_repl::test::must;
using redis_repl::test::of_kind;
using redis_repl::test::parse_json_lines;
using redis_repl::test::ProgramResult;
using redis_repl::test::RedisServer;
using redis_repl::test::run_program;
using redis_repl::test::ServerOptions;
using redis_repl::test::TempDir;

const std::string binary = REDIS_REPL_BINARY;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;  // ASan's shadow memory and quarantine make RSS meaningless
#else
constexpr bool sanitized = false;
#endif

// Runs `redis-repl args... > /dev/null` under /usr/bin/time; returns the exit code and the peak
// RSS in KiB.
std::pair<int, long> peak_rss(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"sh", "-c", "exec /usr/bin/time -f 'rss=%M' \"$@\" >/dev/null",
                                   "sh", binary};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProgramResult r = run_program(argv);
  const std::size_t at = r.err.rfind("rss=");
  INFO("stderr: ", r.err);
  REQUIRE(at != std::string::npos);
  return {r.exit_code, std::stol(r.err.substr(at + 4))};
}

}  // namespace

SERVER_TEST_CASE("long values: every format, --check, -o and tail --snapshot stay under 64 MB") {
  RedisServer master(ServerOptions{.extra_args = master_args({"--repl-diskless-sync", "no"})});
  auto c = master.client(std::chrono::milliseconds(60000));
  std::string text;
  while (text.size() < 40'000'000)
    text += "line " + std::to_string(text.size() % 977) + " caf\xc3\xa9\n";
  std::string bin;
  std::mt19937_64 rng(3);
  while (bin.size() < 24'000'000) bin.push_back(static_cast<char>(rng()));
  must(c, {"SET", "text", text});
  must(c, {"SET", "bin", bin});
  must(c, {"SET", "small", "value"});
  must(c, {"SAVE"});
  const fs::path rdb = master.dir() / "dump.rdb";
  REQUIRE(fs::exists(rdb));

  // The values themselves, exactly.
  const ProgramResult json =
      run_program({binary, "dump-rdb", "--file", rdb.string(), "--format", "json"});
  REQUIRE(json.exit_code == 0);
  int seen = 0;
  for (const auto& line : of_kind(parse_json_lines(json.out), "key")) {
    const std::string key = line["key"];
    if (key == "text") CHECK((line["value"].is_string() && line["value"] == text));
    if (key == "bin") CHECK(json_bytes(line["value"]) == bin);
    seen += key == "text" || key == "bin";
  }
  CHECK(seen == 2);

  // RESP rebuilds the same data set.
  RedisServer target(ServerOptions{.extra_args = master_args()});
  const ProgramResult replay = run_program(
      {"sh", "-c", "\"$1\" dump-rdb --file \"$2\" --format resp | \"$4\" -p \"$3\" --pipe", "sh",
       binary, rdb.string(), std::to_string(target.port()), std::string(flavour.cli)});
  REQUIRE(replay.exit_code == 0);
  auto t = target.client(std::chrono::milliseconds(60000));
  CHECK(must(t, {"DEBUG", "DIGEST"}).str == must(c, {"DEBUG", "DIGEST"}).str);

  TempDir dir;
  const std::vector<std::vector<std::string>> runs = {
      {"dump-rdb", "--file", rdb.string(), "--format", "json"},
      {"dump-rdb", "--file", rdb.string(), "--format", "human"},
      {"dump-rdb", "--file", rdb.string(), "--format", "resp"},
      {"dump-rdb", "--file", rdb.string(), "--format", "keys"},
      {"dump-rdb", "--file", rdb.string(), "--format", "memory"},
      {"dump-rdb", "--file", rdb.string(), "--format", "report"},
      {"dump-rdb", "--file", rdb.string(), "--check"},
      {"dump-rdb", "--file", rdb.string(), "--match", "small"},
      {"dump-rdb", "-p", std::to_string(master.port()), "-o", (dir / "out.rdb").string()},
      {"dump-rdb", "-p", std::to_string(master.port()), "--format", "json"},
      {"tail", "-p", std::to_string(master.port()), "--snapshot", "--duration", "1"},
  };
  for (const auto& args : runs) {
    std::string what;
    for (const std::string& a : args) what += a + " ";
    CAPTURE(what);
    const auto [code, rss_kib] = peak_rss(args);
    CHECK(code == 0);
    if (!sanitized) CHECK(rss_kib < 64 * 1024);
    MESSAGE(what, "peak RSS ", rss_kib, " KiB");
  }
  CHECK(fs::file_size(dir / "out.rdb") > 24'000'000);
  if (sanitized) MESSAGE("peak RSS not checked: the sanitizers' own memory would dominate it");
}
