// Dependencies run one way, cli → formats → core, and core/ uses the standard library only.
// Headers of every dependency live in /usr/include, so the compiler alone would not catch a
// stray include: this test reads them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace redis_repl::test {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> standard_headers = {
    "algorithm",     "cctype",      "array",       "bit",
    "cerrno",        "charconv",    "chrono",      "cmath",
    "cstddef",       "cstdint",     "cstdio",      "cstdlib",
    "cstring",       "ctime",       "functional",  "initializer_list",
    "limits",        "memory",      "optional",    "span",
    "stdexcept",     "string",      "string_view", "utility",
    "variant",       "vector",      "csignal",     "sstream",
    "map",           "set",         "iosfwd",      "deque",
    "unordered_map", "type_traits", "random",      "thread"};

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

TEST_CASE("layering: core/net/ is the one place with asio") {
  std::string where;
  for (const std::string& inc : includes_under("core/net", where)) {
    CAPTURE(inc);
    if (inc.front() == '"') {
      CHECK(inc.rfind("\"core/", 0) == 0);
    } else {
      const std::string name = inc.substr(1, inc.size() - 2);
      CHECK((standard_headers.count(name) == 1 || name == "asio.hpp"));
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

}  // namespace redis_repl::test
