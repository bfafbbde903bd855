// cli/commands.hpp — the subcommands, the exit codes they end with, and the one error type.
//
// cli/ is flags and wiring: each subcommand file has an options struct, a register_* function
// that adds its flags to the CLI11 app, and a run_* function. Failures become a Fatal carrying
// the exit code and a message that already has its context; main() prints it once.
#pragma once
#include <functional>
#include <stdexcept>
#include <string>

namespace CLI {
class App;
}

namespace redis_repl::cli {

// Documented in man/redis-repl.1, EXIT STATUS.
enum class ExitCode : int {
  ok = 0,               // also: stdout closed by the reader (`| head`)
  internal = 1,         // a bug: an unexpected exception
  usage = 2,            // bad flags or arguments
  connect = 3,          // cannot connect, or timed out
  auth = 4,             // authentication failed
  permission = 5,       // -NOPERM: the user may not SYNC/PSYNC
  protocol = 6,         // an unexpected reply from the master
  rdb_corrupt = 7,      // corrupt or truncated RDB, checksum mismatch
  rdb_unsupported = 8,  // an RDB format this build does not read (newer version, Valkey 9)
  resume_refused = 9,   // the master answered a resume with a full resync
  io = 10,              // cannot read the input or write the output (missing file, full disk)
  tls = 11,             // TLS handshake or certificate verification failed
  interrupted = 130,    // SIGINT; SIGTERM gives 143
};

class Fatal : public std::runtime_error {
 public:
  Fatal(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

// What a subcommand runs once flags are parsed; returns the exit status.
using Runner = std::function<int()>;

// Adds every subcommand to app; the runner of the one the user chose is stored in runner.
void register_all(CLI::App& app, Runner& runner);
void register_dump_rdb(CLI::App& app, Runner& runner);
void register_tail(CLI::App& app, Runner& runner);
void register_lag_check(CLI::App& app, Runner& runner);

// The whole program, for main() and for tests.
int run_main(int argc, const char* const* argv);

}  // namespace redis_repl::cli
