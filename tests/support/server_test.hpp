// SERVER_TEST_CASE("name") { ... }: a test case that starts real servers, registered once per
// server kind, as "name [redis]" and "name [valkey]". The body runs with that kind as
// current_server_kind() (so a RedisServer, a ReplicaSet, ... start that server) and sees it as
// `flavour` (for its cli, its version, what it writes). Every check in it is reported with the
// kind and the version found.
// A kind whose server is not installed is skipped with one line on standard output saying why,
// except when the environment has CI=true: there it fails the test (CI installs both servers, so a
// silent skip would hide breakage).
#pragma once

#include <doctest/doctest.h>

#include "support/redis_server.hpp"

namespace redis_repl::test {

// The version `<server> --version` reports ("8.0.1"), or "" when it cannot be run. Cached.
std::string installed_version(const ServerKind& kind);

// Runs body with kind as the current server kind, or skips (fails under CI=true) as above.
void run_with_server(const ServerKind& kind, const char* test_name,
                     void (*body)(const ServerKind& flavour));

}  // namespace redis_repl::test

#define REDIS_REPL_CAT_IMPL_(a, b) a##b
#define REDIS_REPL_CAT_(a, b) REDIS_REPL_CAT_IMPL_(a, b)
#define SERVER_TEST_CASE(name) \
  REDIS_REPL_SERVER_TEST_CASE_(name, REDIS_REPL_CAT_(redis_repl_server_test_, __LINE__))
#define REDIS_REPL_SERVER_TEST_CASE_(name, body)                                                  \
  static void body(const ::redis_repl::test::ServerKind& flavour);                                \
  TEST_CASE(name " [redis]") {                                                                    \
    ::redis_repl::test::run_with_server(::redis_repl::test::redis_kind, name " [redis]", body);   \
  }                                                                                               \
  TEST_CASE(name " [valkey]") {                                                                   \
    ::redis_repl::test::run_with_server(::redis_repl::test::valkey_kind, name " [valkey]", body); \
  }                                                                                               \
  static void body([[maybe_unused]] const ::redis_repl::test::ServerKind& flavour)
