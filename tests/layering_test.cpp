// Dependencies run one way, cli → formats → core, and core/ uses the standard library only.
// Headers of every dependency live in /usr/include, so the compiler alone would not catch a
// stray include: this test reads them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "support/redis_server.hpp"

namespace redis_repl::test {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> standard_headers = {
    "algorithm",        "cctype",      "array",         "bit",         "cerrno",
    "charconv",         "chrono",      "cmath",         "cstddef",     "cstdint",
    "cstdio",           "cstdlib",     "cstring",       "ctime",       "functional",
    "initializer_list", "limits",      "memory",        "optional",    "span",
    "stdexcept",        "string",      "string_view",   "utility",     "variant",
    "vector",           "csignal",     "sstream",       "map",         "set",
    "iosfwd",           "deque",       "unordered_map", "type_traits", "random",
    "thread",           "system_error"};

// Every #include of the files under dir (but not its subfolders named in `except`), as written.
std::set<std::string> includes_under(const std::string& dir, std::string& where,
                                     const std::set<std::string>& except = {}) {
  std::set<std::string> out;
  for (const auto& e :
       fs::recursive_directory_iterator(std::string(REDIS_REPL_SOURCE_DIR) + "/" + dir)) {
    if (!e.is_regular_file()) continue;
    if (except.count(e.path().parent_path().filename().string())) continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("#include ", 0) != 0) continue;
      const std::string inc = line.substr(9, line.find_first_of(">\"", 10) - 9 + 1);
      if (out.insert(inc).second) where += inc + " in " + e.path().filename().string() + "\n";
    }
  }
  return out;
}

}  // namespace

TEST_CASE("layering: core/ includes only the standard library and core/") {
  std::string where;
  for (const std::string& inc : includes_under("core", where, {"net", "codec"})) {
    CAPTURE(inc);
    if (inc.front() == '"') {
      CHECK(inc.rfind("\"core/", 0) == 0);
    } else {
      CHECK(standard_headers.count(inc.substr(1, inc.size() - 2)) == 1);
    }
  }
}

TEST_CASE("layering: core/codec/ is the one place with liblz4") {
  std::string where;
  for (const std::string& inc : includes_under("core/codec", where)) {
    CAPTURE(inc);
    if (inc.front() == '"') {
      CHECK(inc.rfind("\"core/", 0) == 0);
    } else {
      const std::string name = inc.substr(1, inc.size() - 2);
      CHECK((standard_headers.count(name) == 1 || name == "lz4frame.h"));
    }
  }
}

TEST_CASE("layering: core/net/ is the one place with asio, and transport.cpp with TLS") {
  std::string where;
  for (const std::string& inc : includes_under("core/net", where)) {
    CAPTURE(inc);
    if (inc.front() == '"') {
      CHECK(inc.rfind("\"core/", 0) == 0);
    } else {
      const std::string name = inc.substr(1, inc.size() - 2);
      const bool tls = name == "asio/ssl.hpp" || name.rfind("openssl/", 0) == 0;
      CHECK((standard_headers.count(name) == 1 || name == "asio.hpp" || tls));
    }
  }
  // OpenSSL's headers are heavy: one translation unit pays for them, and no header passes them on.
  for (const auto& e : fs::directory_iterator(std::string(REDIS_REPL_SOURCE_DIR) + "/core/net")) {
    if (e.path().filename() == "transport.cpp") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      CAPTURE(e.path().filename().string());
      CHECK(line.find("#include <asio/ssl") == std::string::npos);
      CHECK(line.find("#include <openssl/") == std::string::npos);
    }
  }
}

TEST_CASE("layering: formats/ includes core/, formats/ and the standard library, never cli/") {
  std::string where;
  for (const std::string& inc : includes_under("formats", where)) {
    CAPTURE(inc);
    if (inc.front() == '"') {
      CHECK((inc.rfind("\"core/", 0) == 0 || inc.rfind("\"formats/", 0) == 0));
    } else {
      const std::string name = inc.substr(1, inc.size() - 2);
      // POSIX file calls for the output and the spool of long values, nothing else.
      CHECK((standard_headers.count(name) == 1 || name == "unistd.h" || name == "fcntl.h" ||
             name == "poll.h" || name == "sys/stat.h"));
    }
  }
}

// ctest learns the test names from --list-test-cases and keeps them in a CMake list, where a ';'
// splits one name into two that match no test: such a test would pass without ever running.
TEST_CASE("tests: no test case name has a semicolon, which would make ctest run nothing for it") {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const ProgramResult r = run_program({self, "--list-test-cases"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("layering: core/ includes only") != std::string::npos);
  std::size_t start = 0;
  while (start < r.out.size()) {
    std::size_t end = r.out.find('\n', start);
    if (end == std::string::npos) end = r.out.size();
    const std::string name = r.out.substr(start, end - start);
    CHECK_MESSAGE(name.find(';') == std::string::npos, name);
    start = end + 1;
  }
}

}  // namespace redis_repl::test
