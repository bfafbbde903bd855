#include "cli/report_options.hpp"

#include <CLI/CLI.hpp>
#include <chrono>

#include "cli/options.hpp"

namespace redis_repl::cli {

void add_report_options(CLI::App& cmd, ReportFlags& f) {
  const char* group = "Report (--format report)";
  cmd.add_option("--top", f.options.top, "Rows in each top list of the report (default 20)")
      ->option_text("N")
      ->check(integer_in(1, 100000, "a row count"))
      ->group(group);
  cmd.add_option("--prefix-separators", f.options.separators,
                 "Characters that end a key prefix in the report (default ':'; '' for none)")
      ->option_text("CHARS")
      ->group(group);
  cmd.add_option("--prefix-depth", f.options.prefix_depth,
                 "Key prefixes up to this many separators deep (default 2)")
      ->option_text("N")
      ->check(integer_in(1, 16, "a depth"))
      ->group(group);
  cmd.add_option("--report-format", f.report_format,
                 "The report as tables for people (human, the default) or one JSON document")
      ->check(CLI::IsMember({"human", "json"}))
      ->option_text("human|json")
      ->group(group);
}

void resolve_report_options(const CLI::App& cmd, bool report, ReportFlags& f) {
  for (const char* flag : {"--top", "--prefix-separators", "--prefix-depth", "--report-format"})
    if (!report && cmd.count(flag) > 0)
      throw Fatal(ExitCode::usage, std::string(flag) + " goes with --format report");
  f.options.json = f.report_format == "json";
  f.options.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
}

}  // namespace redis_repl::cli
