#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"
#include "core/rdb_format.hpp"

namespace redis_repl::cli {

void register_all(CLI::App& app, Runner& runner) {
  app.set_help_flag("--help", "Print this help and exit");
  app.set_version_flag("--version",
                       std::string("redis-repl ") + REDIS_REPL_VERSION + " (reads RDB versions " +
                           std::to_string(core::rdb_version_min) + " to " +
                           std::to_string(core::rdb_version_max) + " and VALKEY " +
                           std::to_string(core::valkey_version_min) + " to " +
                           std::to_string(core::valkey_version_max) + ")",
                       "Print the version and the RDB versions it reads, and exit");
  app.require_subcommand(1);
  register_tail(app, runner);
  register_dump_rdb(app, runner);
  register_lag_check(app, runner);
}

int run_main(int argc, const char* const* argv) {
  CLI::App app{"redis-repl: see what Redis replication carries", "redis-repl"};
  Runner runner;
  register_all(app, runner);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    print_error(e.what());
    std::fputs("Run with --help for more information.\n", stderr);
    // lag-check speaks the monitoring-plugin convention: bad arguments are UNKNOWN.
    if (argc > 1 && std::string_view(argv[1]) == "lag-check") return 3;
    return static_cast<int>(ExitCode::usage);
  }
  install_signal_handlers();
  try {
    return runner ? runner() : static_cast<int>(ExitCode::usage);
  } catch (const Fatal& e) {
    print_error(e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return static_cast<int>(ExitCode::internal);
  }
}

}  // namespace redis_repl::cli
