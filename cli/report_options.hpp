// cli/report_options.hpp — the flags of --format report, shared by dump-rdb and tail --snapshot.
#pragma once
#include <string>

#include "formats/sink.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace redis_repl::cli {

struct ReportFlags {
  formats::ReportOptions options;
  std::string report_format = "human";
};

// --top, --prefix-separators, --prefix-depth, --report-format.
void add_report_options(CLI::App& cmd, ReportFlags& flags);
// After parsing: a usage error when one of them is given without --format report; fills in the
// time expiries are placed against when the RDB carries no save time.
void resolve_report_options(const CLI::App& cmd, bool report, ReportFlags& flags);

}  // namespace redis_repl::cli
