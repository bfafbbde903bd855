// cli/options.hpp — flags every subcommand that talks to a server shares, as redis-cli has them.
#pragma once
#include <cstdint>
#include <string>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/replica.hpp"

namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace redis_repl::cli {

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;  // -a, REDISCLI_AUTH, --askpass, or the URI
  std::string user;
  bool askpass = false;
  bool no_auth_warning = false;
  std::string uri;
  double timeout_s = 60;  // connect, handshake, transfer and silent-link timeout
};

// -h/--host, -p/--port, -a/--pass, --user, --askpass, --no-auth-warning, -u/--uri, --timeout.
void add_connection_options(CLI::App& cmd, ConnectionOptions& o);
// After parsing: applies -u, REDISCLI_AUTH and --askpass; throws Fatal(usage) on a bad URI.
void resolve_connection_options(CLI::App& cmd, ConnectionOptions& o);

// Checks for numeric flags, run on the text before CLI11 converts it: the whole of it must be a
// finite number (an integer) from min to max; else "--flag: wants WHAT from MIN to MAX, not 'X'",
// a usage error before anything connects. NaN, infinities, overflowing and negative values fail.
CLI::Validator number_in(double min, double max, const std::string& what);
CLI::Validator integer_in(std::int64_t min, std::int64_t max, const std::string& what);
// The highest database number a Redis server can have (databases is at most INT_MAX).
constexpr std::int64_t max_db = 2147483646;

// The exit status for a replica that failed, or for an RDB error.
ExitCode exit_code_for(core::FailKind kind);
ExitCode exit_code_for(Errc code);

}  // namespace redis_repl::cli
