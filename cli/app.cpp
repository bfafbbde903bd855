#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"
#include "core/rdb_format.hpp"

namespace redis_repl::cli {
namespace {

// Levenshtein distance, for "did you mean": the words are short.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// A hint for a parse error the user can act on; empty when there is none.
std::string hint_for(const CLI::App& app, int argc, const char* const* argv,
                     std::string_view what) {
  if (argc < 2) return {};
  const std::string_view first = argv[1];
  if (first.empty() || first.front() == '-') return {};
  std::string nearest;
  std::size_t best = 3;  // farther than two edits is no typo
  bool known = false;
  for (const CLI::App* sub : app.get_subcommands({})) {
    known = known || sub->get_name() == first;
    if (const std::size_t d = distance(first, sub->get_name()); d < best) {
      best = d;
      nearest = sub->get_name();
    }
  }
  if (!known)
    return "unknown subcommand '" + std::string(first) + "'" +
           (nearest.empty() ? "" : " (did you mean '" + nearest + "'?)");
  // dump-rdb dump.rdb: a file named where no argument goes.
  const std::string_view unexpected = "was not expected: ";
  if (const std::size_t at = what.find(unexpected); first == "dump-rdb" && at != what.npos) {
    const std::string_view rest = what.substr(at + unexpected.size());
    return "to read an RDB file, use --file " + std::string(rest.substr(0, rest.find(' ')));
  }
  return {};
}

}  // namespace

void register_all(CLI::App& app, Runner& runner) {
  app.set_help_flag("--help", "Print this help and exit");
  app.set_version_flag("--version",
                       std::string("redis-repl ") + REDIS_REPL_VERSION + " (reads RDB versions " +
                           std::to_string(core::rdb_version_min) + " to " +
                           std::to_string(core::rdb_version_max) + ")",
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
    const std::string hint = hint_for(app, argc, argv, e.what());
    const bool unknown = hint.starts_with("unknown subcommand");
    print_error(unknown        ? hint
                : hint.empty() ? std::string(e.what())
                               : e.what() + (" (" + hint + ")"));
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
