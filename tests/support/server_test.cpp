// run_with_server and installed_version: see server_test.hpp.
#include "support/server_test.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>

namespace redis_repl::test {
namespace {

bool under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

}  // namespace

std::string installed_version(const ServerKind& kind) {
  static std::mutex mutex;
  static std::map<std::string_view, std::string> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto found = cache.find(kind.server);
  if (found != cache.end()) return found->second;
  std::string version;
  if (!find_program(std::string(kind.server)).empty()) {
    try {
      // "Redis server v=7.0.15 sha=...", "Valkey server v=8.0.1 sha=..."
      const ProgramResult r = run_program({std::string(kind.server), "--version"});
      const std::size_t v = r.out.find(" v=");
      if (r.exit_code == 0 && v != std::string::npos)
        version = r.out.substr(v + 3, r.out.find(' ', v + 3) - (v + 3));
    } catch (const HarnessError&) {
    }
  }
  cache[kind.server] = version;
  return version;
}

void run_with_server(const ServerKind& kind, const char* test_name,
                     void (*body)(const ServerKind& flavour)) {
  if (find_program(std::string(kind.server)).empty()) {
    const std::string why =
        std::string(kind.server) + " is not in PATH (" + std::string(kind.packages) + ")";
    if (under_ci()) FAIL("CI=true: ", std::string(test_name), " cannot run: ", why);
    std::printf("skipped: %s: %s\n", test_name, why.c_str());
    std::fflush(stdout);
    return;
  }
  const std::string version = installed_version(kind);
  INFO("server: ", kind.server, " ", version.empty() ? "(version unknown)" : version,
       version == kind.version
           ? ""
           : " (the suites were written for " + std::string(kind.version) + ")");
  const ServerKindScope scope(kind);
  body(kind);
}

}  // namespace redis_repl::test
