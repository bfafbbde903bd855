// Every file redis-repl writes (dump-rdb -o, tail --state) follows one set of rules
// (cli/output_file.hpp), checked here with the built binary against a scripted master
// (support/fake_master.hpp) that serves a small snapshot:
// * a character device and a FIFO are written through, streamed, with no temporary file, and
//   stay what they were; `-o -` streams to standard output;
// * a regular file (or none yet) is replaced whole, through a temporary file, nothing left beside;
// * a symbolic link is never written through: the rename replaces the link, its target is kept;
//   nor is a link planted under a temporary file's name;
// * a directory or a block device is refused with exit 10 before anything connects, and so is a
//   state file in a directory that does not exist.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_master.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"
#include "support/redis_server.hpp"
#include "support/replication.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using redis_repl::test::FakeMaster;
using redis_repl::test::ProgramResult;
using redis_repl::test::quote_bytes;
using redis_repl::test::RdbBuilder;
using redis_repl::test::read_file;
using redis_repl::test::run_program;
using redis_repl::test::TempDir;

const std::string binary = REDIS_REPL_BINARY;
const std::string replid = "da0ed49aae9150cf9f6cb5f0a119dbf02bf42777";

std::string snapshot() {
  return RdbBuilder(10)
      .byte(0xfa)
      .str("repl-id")
      .str(replid)
      .byte(0xfa)
      .str("repl-offset")
      .str("0")
      .byte(0xfe)
      .len(0)
      .byte(0)
      .str("greeting")
      .str("hello")
      .finish();
}

// Serves the snapshot in the disk form ($<len>), then one command, to every connection.
FakeMaster::Script serve() {
  return [](FakeMaster::Link& link) {
    link.answer_handshake();
    const std::string rdb = snapshot();
    link.send("+FULLRESYNC " + replid + " 0\r\n$" + std::to_string(rdb.size()) + "\r\n" + rdb +
              redis_repl::test::encode_command({"SET", "a", "1"}));
    link.drain();
  };
}

std::string shown(const ProgramResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstderr: " + quote_bytes(r.err, 2000) +
         "\nstdout: " + quote_bytes(r.out, 400);
}

ProgramResult dump_to(const FakeMaster& m, const std::string& out) {
  return run_program({binary, "dump-rdb", "-p", std::to_string(m.port()), "-o", out, "--quiet"},
                     30s);
}

ProgramResult tail_with_state(const FakeMaster& m, const std::string& state) {
  return run_program({binary, "tail", "-p", std::to_string(m.port()), "--state", state, "--count",
                      "1", "--timeout", "10"},
                     30s);
}

fs::file_type type_of(const fs::path& p) { return fs::symlink_status(p).type(); }

// A character device that discards what is written: a private one made with mknod as root (so a
// test run by root never writes near the real /dev/null); else /dev/null, which only root could
// replace.
std::string null_device(const TempDir& dir) {
  if (::geteuid() != 0) return "/dev/null";
  const fs::path node = dir / "null";
  REQUIRE(::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  return node.string();
}

std::string json_state() { return "{\"replid\":\"" + replid + "\",\"offset\":"; }

}  // namespace

TEST_CASE("output file: a character device is written through and stays a device") {
  FakeMaster m(serve());
  TempDir dir;
  const std::string node = null_device(dir);
  SUBCASE("dump-rdb -o") {
    const ProgramResult r = dump_to(m, node);
    INFO(shown(r));
    CHECK(r.exit_code == 0);
  }
  SUBCASE("tail --state") {
    const ProgramResult r = tail_with_state(m, node);
    INFO(shown(r));
    CHECK(r.exit_code == 0);
  }
  CHECK(type_of(node) == fs::file_type::character);
  CHECK(type_of("/dev/null") == fs::file_type::character);
  if (node != "/dev/null") CHECK(dir.list() == std::vector<std::string>{"null"});
}

TEST_CASE("output file: a FIFO is written through, streamed, and stays a FIFO") {
  FakeMaster m(serve());
  TempDir dir;
  const fs::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Read and write ends of our own: redis-repl's open never waits, and a FIFO it does not
  // write (it replaced the path) shows as missing bytes instead of a reader waiting for ever.
  const int fd = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const std::string want = snapshot();
  std::string got;
  std::thread reader([&] {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    char buf[4096];
    while (got.size() < want.size() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    }
  });
  const ProgramResult r = dump_to(m, fifo.string());
  reader.join();
  ::close(fd);
  INFO(shown(r));
  CHECK(r.exit_code == 0);
  CHECK(got == want);
  CHECK(type_of(fifo) == fs::file_type::fifo);
  CHECK(dir.list() == std::vector<std::string>{"pipe"});  // no temporary file was made
}

TEST_CASE("output file: -o - streams the snapshot to standard output") {
  FakeMaster m(serve());
  const ProgramResult r = dump_to(m, "-");
  INFO(shown(r));
  CHECK(r.exit_code == 0);
  CHECK(r.out == snapshot());
}

TEST_CASE("output file: a regular file, or none yet, is replaced whole") {
  FakeMaster m(serve());
  TempDir dir;
  const fs::path file = dir / "dump.rdb";
  SUBCASE("none yet") {}
  SUBCASE("an older file") { std::ofstream(file) << "old"; }
  const ProgramResult r = dump_to(m, file.string());
  INFO(shown(r));
  CHECK(r.exit_code == 0);
  CHECK(read_file(file.string()) == snapshot());
  CHECK(dir.list() == std::vector<std::string>{"dump.rdb"});
}

TEST_CASE("output file: a symbolic link is replaced, never written through") {
  FakeMaster m(serve());
  TempDir dir;
  const fs::path target = dir / "precious";
  const fs::path link = dir / "link";
  SUBCASE("dump-rdb -o, a link to a file") {
    std::ofstream(target) << "precious";
    fs::create_symlink(target, link);
    const ProgramResult r = dump_to(m, link.string());
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(read_file(link.string()) == snapshot());
    CHECK(read_file(target.string()) == "precious");
    CHECK(dir.list() == std::vector<std::string>{"link", "precious"});
  }
  SUBCASE("tail --state, a link to nothing yet") {
    fs::create_symlink(target, link);
    const ProgramResult r = tail_with_state(m, link.string());
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(read_file(link.string()).starts_with(json_state()));
    CHECK(dir.list() == std::vector<std::string>{"link"});  // the target was never made
  }
  CHECK(type_of(link) == fs::file_type::regular);
}

TEST_CASE("output file: a link planted where the state's temporary file goes is not followed") {
  // The state was written through "<state>.tmp", opened with O_TRUNC: a link planted under that
  // name had root overwrite its target.
  FakeMaster m(serve());
  TempDir dir;
  const fs::path victim = dir / "victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, dir / "state.json.tmp");
  const ProgramResult r = tail_with_state(m, (dir / "state.json").string());
  INFO(shown(r));
  CHECK(r.exit_code == 0);
  CHECK(read_file(victim.string()) == "precious");
  CHECK(read_file((dir / "state.json").string()).starts_with(json_state()));
}

TEST_CASE("output file: a directory or a block device is refused before connecting") {
  FakeMaster m(serve());
  TempDir dir;
  std::vector<std::string> refused = {(dir / "sub").string()};
  fs::create_directory(refused[0]);
  if (::geteuid() == 0) {
    const fs::path block = dir / "block";
    REQUIRE(::mknod(block.c_str(), S_IFBLK | 0600, makedev(7, 0)) == 0);
    refused.push_back(block.string());
  } else {
    MESSAGE("not root: no block device of our own to test with");
  }
  for (const std::string& path : refused) {
    CAPTURE(path);
    const bool block = path.ends_with("block");
    for (const bool state : {false, true}) {
      const ProgramResult r = state ? tail_with_state(m, path) : dump_to(m, path);
      INFO(shown(r));
      CHECK(r.exit_code == 10);
      const std::string what = state ? "state file" : "output file";
      CHECK(r.err ==
            "redis-repl: error: cannot write " + what + " '" + path + "': " +
                (block ? "it is a block device, never written over" : "it is a directory") + "\n");
    }
    CHECK(type_of(path) == (block ? fs::file_type::block : fs::file_type::directory));
  }
  CHECK(m.connections() == 0);
}

TEST_CASE("output file: a state file that cannot be written fails before connecting") {
  FakeMaster m(serve());
  TempDir dir;
  const std::string path = (dir / "missing" / "state.json").string();
  const ProgramResult r = tail_with_state(m, path);
  INFO(shown(r));
  CHECK(r.exit_code == 10);
  CHECK(r.err.starts_with("redis-repl: error: cannot create a temporary file beside state file '" +
                          path + "': No such file or directory"));
  CHECK(m.connections() == 0);
}
