#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"
#include "core/rdb_format.hpp"

namespace redis_repl::cli {
namespace {

// The help's width: the terminal's, else $COLUMNS, else 80 (at least 60, at most 200).
std::size_t help_width() {
  std::size_t width = 80;
  winsize ws{};
  if (::isatty(STDOUT_FILENO) == 1 && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col) {
    width = ws.ws_col;
  } else if (const char* columns = std::getenv("COLUMNS")) {
    const long n = std::strtol(columns, nullptr, 10);
    if (n > 0) width = static_cast<std::size_t>(n);
  }
  return std::clamp<std::size_t>(width, 60, 200);
}

// Help with every description wrapped at word boundaries to the width; CLI11 indents each
// new line of a description to its column.
class WrappingFormatter final : public CLI::Formatter {
 public:
  explicit WrappingFormatter(std::size_t width) : width_(width) { column_width(32); }
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrap(CLI::Formatter::make_option_desc(opt), width_ > 32 + 20 ? width_ - 32 - 1 : 20);
  }
  std::string make_description(const CLI::App* app) const override {
    const std::string d = app->get_description();
    return d.empty() ? d : wrap(d, width_) + "\n";
  }

 private:
  static std::string wrap(const std::string& text, std::size_t room) {
    std::string out;
    std::size_t line = 0;
    std::size_t at = 0;
    while (at < text.size()) {
      std::size_t end = text.find(' ', at);
      if (end == std::string::npos) end = text.size();
      const std::string_view word(text.data() + at, end - at);
      if (line > 0 && line + 1 + word.size() > room) {
        out.push_back('\n');
        line = 0;
      } else if (line > 0) {
        out.push_back(' ');
        ++line;
      }
      out.append(word);
      line += word.size();
      at = end + 1;
    }
    return out;
  }
  std::size_t width_;
};

}  // namespace

void register_all(CLI::App& app, Runner& runner) {
  app.formatter(std::make_shared<WrappingFormatter>(help_width()));
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

namespace {

// Edits (insert, delete, replace, swap two neighbours) from a to b.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The candidate nearest to word, when it is near enough to be what was meant; else empty.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

bool looks_like_file(std::string_view arg) {
  return arg.find('/') != std::string_view::npos ||
         (arg.size() > 4 && arg.substr(arg.size() - 4) == ".rdb") || arg == "-";
}

// What a parse error means in our terms: the nearest subcommand or flag, or the flag that was
// meant for a file name. Empty when there is nothing to add.
std::string hint_for(const CLI::App& app, bool extras, int argc, const char* const* argv) {
  if (argc < 2) return {};
  const std::string first = argv[1];
  std::vector<std::string> names;
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands({})) {
    names.push_back(s->get_name());
    if (s->get_name() == first) sub = s;
  }
  if (!sub) {
    if (first.empty() || first[0] == '-') return {};
    const std::string near = nearest(first, names);
    return "'" + first + "' is not a subcommand" +
           (near.empty() ? " (tail, dump-rdb or lag-check)" : "; did you mean '" + near + "'?");
  }
  // Only for arguments the subcommand did not take (not for a bad value of a known flag).
  if (!extras) return {};
  std::vector<std::string> flags;
  for (const CLI::Option* o : sub->get_options())
    for (const std::string& l : o->get_lnames()) flags.push_back("--" + l);
  for (const std::string& arg : sub->remaining()) {
    if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      const std::string name = arg.substr(0, arg.find('='));
      if (std::find(flags.begin(), flags.end(), name) != flags.end()) continue;
      const std::string near = nearest(name, flags);
      if (!near.empty()) return "unknown option '" + name + "'; did you mean '" + near + "'?";
      return "unknown option '" + name + "'; see redis-repl " + first + " --help";
    }
    if (first == "dump-rdb" && looks_like_file(arg))
      return "to read the RDB file '" + arg + "', use --file " + arg;
  }
  return {};
}

}  // namespace

int run_main(int argc, const char* const* argv) {
  CLI::App app{"redis-repl: see what Redis replication carries", "redis-repl"};
  Runner runner;
  register_all(app, runner);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    const std::string hint =
        hint_for(app, dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr, argc, argv);
    print_error(hint.empty() ? std::string(e.what()) : hint);
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
