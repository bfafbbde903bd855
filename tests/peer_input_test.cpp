// What a peer sends is not trusted: the built binary against a scripted master
// (support/fake_master.hpp) that does what no real server does.
// * A flood of keep-alive newlines (before the reply to PSYNC, before the $ line, in the stream)
//   ends with exit 6 and a message saying so, at once and in bounded memory; newlines at a
//   master's pace keep a quiet link alive past --timeout.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "support/fake_master.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"
#include "support/redis_server.hpp"
#include "support/replication.hpp"

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using redis_repl::test::FakeMaster;
using redis_repl::test::ProgramResult;
using redis_repl::test::quote_bytes;
using redis_repl::test::RdbBuilder;
using redis_repl::test::run_program;
using redis_repl::test::TempDir;

const std::string binary = REDIS_REPL_BINARY;
const std::string replid = "da0ed49aae9150cf9f6cb5f0a119dbf02bf42777";

std::string shown(const ProgramResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstderr: " + quote_bytes(r.err, 2000) +
         "\nstdout: " + quote_bytes(r.out, 2000);
}

// A replication RDB holding keys, a hash and a set whose names and values carry escapes.
std::string hostile_rdb() {
  return RdbBuilder(10)
      .byte(0xfa)
      .str("repl-id")
      .str(replid)
      .byte(0xfa)
      .str("repl-offset")
      .str("0")
      .byte(0xfe)
      .len(0)
      .byte(0)  // a string
      .str("key\x1b[2J")
      .str("\x1b]0;PWNED\x07")
      .byte(4)  // a hash
      .str("h\x1b")
      .len(1)
      .str("f\x1b[31m")
      .str(
          "v\x9b"
          "2J\x7f")
      .byte(2)  // a set
      .str("s")
      .len(1)
      .str("m\x1b\x08\x0d")
      .finish();
}

std::string resp(const std::vector<std::string>& args) {
  return redis_repl::test::encode_command(args);
}

}  // namespace

TEST_CASE("peer: a flood of keep-alive newlines is a protocol error, met at once") {
  // 64 KiB of newlines every millisecond (a real master sends one a second); at most 256 MiB.
  const std::string chunk(64 * 1024, '\n');
  constexpr std::uint64_t limit = 256ULL << 20;
  struct Case {
    const char* where;
    std::string before;  // what the fake master says after the handshake
  };
  const std::string rdb = hostile_rdb();
  const Case cases[] = {
      {"before the reply to PSYNC", ""},
      {"before the $ line", "+FULLRESYNC " + replid + " 0\r\n"},
      {"in the command stream", "+FULLRESYNC " + replid + " 0\r\n$" + std::to_string(rdb.size()) +
                                    "\r\n" + rdb + resp({"PING"})},
  };
  for (const Case& c : cases) {
    CAPTURE(c.where);
    FakeMaster master([&](FakeMaster::Link& link) {
      link.answer_handshake();
      if (link.send(c.before)) link.flood(chunk, 1ms, limit);
    });
    const auto started = std::chrono::steady_clock::now();
    const ProgramResult r =
        run_program({binary, "tail", "-p", std::to_string(master.port()), "--timeout", "30"}, 60s);
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(shown(r) << "\nfake master: " << master.error());
    CHECK(r.exit_code == 6);
    CHECK(r.err.find("more than 1048576 bytes of keep-alive newlines in a row") !=
          std::string::npos);
    CHECK(r.err.find("not behaving as a Redis master") != std::string::npos);
    CHECK(took < 10s);
    // Bounded memory: the process never held the flood (the old reader kept every line read).
    CHECK(r.max_rss_kb < 200 * 1024);
    CHECK(master.connections() == 1);  // a protocol error is not retried
  }
}

TEST_CASE("peer: keep-alive newlines at a master's pace keep a quiet link past --timeout") {
  // A disk BGSAVE that takes three times --timeout, with a newline every 300 ms meanwhile.
  const std::string rdb = hostile_rdb();
  FakeMaster master([&](FakeMaster::Link& link) {
    link.answer_handshake();
    link.send("+FULLRESYNC " + replid + " 0\r\n");
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(300ms);
      if (!link.send("\n")) return;
    }
    link.send("$" + std::to_string(rdb.size()) + "\r\n" + rdb);
  });
  TempDir dir;
  const std::string out = (dir / "dump.rdb").string();
  const ProgramResult r = run_program(
      {binary, "dump-rdb", "-p", std::to_string(master.port()), "--timeout", "1", "-o", out}, 30s);
  INFO(shown(r) << "\nfake master: " << master.error());
  CHECK(r.exit_code == 0);
  CHECK(redis_repl::test::read_file(out) == rdb);
}
