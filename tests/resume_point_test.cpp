// tail's state file read back: what write_state writes, and nothing else, is a resume point.
#include "cli/resume_point.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cli/commands.hpp"
#include "core/replica.hpp"

namespace {

std::string temp_path() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/redis-repl-state-XXXXXX";
  const int fd = ::mkstemp(templ.data());
  REQUIRE(fd >= 0);
  ::close(fd);
  return templ;
}

}  // namespace

TEST_CASE("resume point: the state file written is read back, anything else is refused") {
  using redis_repl::cli::ResumePoint;
  const std::string path = temp_path();
  const std::string replid(40, 'a');
  redis_repl::cli::write_state(path, ResumePoint{replid, 12345, 3}, false);
  ResumePoint p = redis_repl::cli::read_state(path);
  CHECK(p.replid == replid);
  CHECK(p.offset == 12345);
  CHECK(p.db == 3);
  redis_repl::cli::write_state(path, ResumePoint{replid, 7, redis_repl::core::unknown_db}, false);
  CHECK(redis_repl::cli::read_state(path).db == redis_repl::core::unknown_db);

  const std::string hex(40, 'f');
  for (const std::string& bad :
       {std::string("not json"), std::string("{}"),
        "{\"replid\":\"" + hex + "\",\"offset\":-1,\"db\":0}",
        "{\"replid\":\"" + hex + "\",\"offset\":\"5\",\"db\":0}",
        "{\"replid\":\"" + hex + "\",\"offset\":5}",
        "{\"replid\":\"" + hex + "\",\"offset\":5,\"db\":-2}",
        "{\"replid\":\"" + std::string(40, 'X') + "\",\"offset\":5,\"db\":0}",
        "{\"replid\":\"" + hex.substr(1) + "\",\"offset\":5,\"db\":0}", "[\"" + hex + "\",5,0]"}) {
    std::ofstream(path) << bad;
    CAPTURE(bad);
    try {
      redis_repl::cli::read_state(path);
      FAIL("accepted");
    } catch (const redis_repl::cli::Fatal& e) {
      CHECK(e.code() == redis_repl::cli::ExitCode::usage);
      CHECK(std::string(e.what()).find("is not one redis-repl wrote") != std::string::npos);
    }
  }
  // Key order and spaces do not matter: it is JSON.
  std::ofstream(path) << "{ \"db\": 2, \"offset\": 9, \"replid\": \"" << hex << "\" }\n";
  p = redis_repl::cli::read_state(path);
  CHECK(p.offset == 9);
  CHECK(p.db == 2);
  ::unlink(path.c_str());
}
