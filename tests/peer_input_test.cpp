// What a peer sends is not trusted: the built binary against a scripted master
// (support/fake_master.hpp) that does what no real server does.
// * A flood of keep-alive newlines (before the reply to PSYNC, before the $ line, in the stream)
//   ends with exit 6 and a message saying so, at once and in bounded memory; newlines at a
//   master's pace keep a quiet link alive past --timeout.
// * Error replies carrying terminal escapes (ESC, BEL, invalid UTF-8) reach stderr escaped, as
//   \x1b: in errors and in warnings.
// * The human format escapes the control bytes of keys, values and command arguments, from a
//   master and from a file; lag-check's human report escapes what servers reported.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "formats/lag_report.hpp"
#include "formats/terminal_text.hpp"
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
// What a hostile peer would have a terminal do: clear the screen, set the window title, ring.
const std::string hostile = "\x1b[2J\x1b]0;PWNED\x07 \xff\xfe gotcha"s;

std::string shown(const ProgramResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstderr: " + quote_bytes(r.err, 2000) +
         "\nstdout: " + quote_bytes(r.out, 2000);
}

// No byte a terminal would act on: C0 controls but the newline, DEL, and bytes that are not
// UTF-8 (0x80-0xff stand-alone, C1 controls among them).
bool no_control_bytes(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n') || c >= 0x7f) return false;
  }
  return true;
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
    std::atomic<int> syncs{0};
    FakeMaster master([&](FakeMaster::Link& link) {
      link.answer_handshake();
      ++syncs;
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
    CHECK(r.max_rss_kb < 100 * 1024);
    CHECK(syncs == 1);  // a protocol error is not retried
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

TEST_CASE("peer: error replies reach stderr with their control bytes escaped") {
  SUBCASE("a reply to PSYNC, tail and dump-rdb") {
    FakeMaster master([&](FakeMaster::Link& link) {
      link.answer_handshake();
      link.send("-ERR " + hostile + "\r\n");
    });
    for (const char* sub : {"tail", "dump-rdb"}) {
      CAPTURE(sub);
      const ProgramResult r = run_program({binary, sub, "-p", std::to_string(master.port())}, 30s);
      INFO(shown(r));
      CHECK(r.exit_code == 6);
      CHECK(no_control_bytes(r.err));
      CHECK(r.err.find("unexpected reply to PSYNC: '-ERR \\x1b[2J\\x1b]0;PWNED\\a \\xff\\xfe "
                       "gotcha'") != std::string::npos);
    }
  }
  SUBCASE("a reply to AUTH") {
    FakeMaster master([&](FakeMaster::Link& link) {
      link.read_command();
      link.send("+PONG\r\n");
      link.read_command();  // AUTH
      link.send("-ERR " + hostile + "\r\n");
      link.drain();
    });
    const ProgramResult r = run_program(
        {binary, "tail", "-p", std::to_string(master.port()), "-a", "secret", "--no-auth-warning"},
        30s);
    INFO(shown(r));
    CHECK(r.exit_code == 4);
    CHECK(no_control_bytes(r.err));
    CHECK(r.err.find("AUTH failed: ERR \\x1b[2J") != std::string::npos);
  }
  SUBCASE("a transient refusal: the warnings while retrying, then the error") {
    FakeMaster master([&](FakeMaster::Link& link) {
      link.answer_handshake();
      link.send("-LOADING " + hostile + "\r\n");
    });
    const ProgramResult r = run_program(
        {binary, "dump-rdb", "-p", std::to_string(master.port()), "--timeout", "1"}, 30s);
    INFO(shown(r));
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("redis-repl: warning: ") != std::string::npos);
    CHECK(no_control_bytes(r.err));
    CHECK(r.err.find("PSYNC: LOADING \\x1b[2J") != std::string::npos);
  }
}

TEST_CASE("peer: the human format escapes control bytes of keys, values and commands") {
  const std::string rdb = hostile_rdb();
  SUBCASE("tail --snapshot: the snapshot, then the feed") {
    FakeMaster master([&](FakeMaster::Link& link) {
      link.answer_handshake();
      link.send("+FULLRESYNC " + replid + " 0\r\n$" + std::to_string(rdb.size()) + "\r\n" + rdb +
                resp({"SET", "\x1b[31mred",
                      "\x1b]0;PWNED\x07\x9b"
                      "2J"}));
      link.drain();
    });
    const ProgramResult r = run_program({binary, "tail", "-p", std::to_string(master.port()),
                                         "--snapshot", "--format", "human", "--count", "1"},
                                        30s);
    INFO(shown(r) << "\nfake master: " << master.error());
    CHECK(r.exit_code == 0);
    CHECK(no_control_bytes(r.out));
    CHECK(r.out.find(R"(string "key\x1b[2J" (string) = "\x1b]0;PWNED\a")") != std::string::npos);
    CHECK(r.out.find(R"("f\x1b[31m" => "v\x9b2J\x7f")") != std::string::npos);
    CHECK(r.out.find(R"("m\x1b\b\r")") != std::string::npos);
    CHECK(r.out.find(R"(db0 "SET" "\x1b[31mred" "\x1b]0;PWNED\a\x9b2J")") != std::string::npos);
  }
  SUBCASE("dump-rdb --file") {
    TempDir dir;
    const std::string path = (dir / "hostile.rdb").string();
    std::ofstream(path, std::ios::binary) << rdb;
    const ProgramResult r =
        run_program({binary, "dump-rdb", "--file", path, "--format", "human"}, 30s);
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(no_control_bytes(r.out));
    CHECK(r.out.find(R"(hash "h\x1b" (hashtable))") != std::string::npos);
  }
}

TEST_CASE("peer: terminal_safe escapes control bytes and invalid UTF-8, and keeps text") {
  using redis_repl::formats::terminal_safe;
  CHECK(terminal_safe("plain text, é ✓ 日本") == "plain text, é ✓ 日本");
  CHECK(terminal_safe("\x1b[2J\x1b]0;t\x07") == R"(\x1b[2J\x1b]0;t\a)");
  CHECK(terminal_safe("a\nb\rc\td\be\x01 \x7f"s + '\0') == R"(a\nb\rc\td\be\x01 \x7f\x00)");
  CHECK(terminal_safe("\xc2\x9b"
                      "2J") == R"(\xc2\x9b2J)");                      // U+009B is CSI, a C1 control
  CHECK(terminal_safe("\x9b\xff\xc0\xaf") == R"(\x9b\xff\xc0\xaf)");  // not UTF-8
  CHECK(terminal_safe("cut \xe2\x9c") == R"(cut \xe2\x9c)");          // a sequence cut short
}

TEST_CASE("peer: lag-check's human report escapes what servers reported") {
  using redis_repl::formats::LagFormat;
  using redis_repl::formats::LagResult;
  LagResult r;
  r.master = "127.0.0.1:6379";
  redis_repl::core::ReplicaLag x;
  x.name = "10.0.0.9\x1b[2J:6380";
  x.error = "ERR \x1b]0;PWNED\x07";
  r.replicas.push_back(x);
  r.verdicts.push_back({redis_repl::core::Status::unknown, {"unreachable: " + x.error}});
  r.status = redis_repl::core::Status::unknown;
  for (const bool watch : {false, true}) {
    std::string out;
    redis_repl::formats::write_lag(out, r, LagFormat::human, {}, watch);
    CAPTURE(out);
    CHECK(no_control_bytes(out));
    CHECK(out.find(R"(10.0.0.9\x1b[2J:6380)") != std::string::npos);
  }
  r.replicas.clear();
  r.verdicts.clear();
  r.error = "-ERR \x1b[2J";
  std::string out;
  redis_repl::formats::write_lag(out, r, LagFormat::human, {});
  CHECK(no_control_bytes(out));
  CHECK(out.find(R"(-ERR \x1b[2J)") != std::string::npos);
}
