// `redis-repl dump-rdb`: parse an RDB and write it out as JSON Lines, human text, RESP commands
// or a key list; or only verify it (--check), as redis-check-rdb does.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"
#include "core/rdb_filter.hpp"
#include "core/rdb_parser.hpp"
#include "formats/sink.hpp"

namespace redis_repl::cli {
namespace {

struct DumpRdbOptions {
  std::string file;
  std::string format = "json";
  bool format_given = false;
  bool check = false;
  bool quiet = false;
  std::vector<std::uint64_t> dbs;
  std::vector<std::string> match;
  std::vector<std::string> types;
};

ExitCode exit_code_for(Errc code) {
  switch (code) {
    case Errc::rdb_unsupported:
      return ExitCode::rdb_unsupported;
    default:
      return ExitCode::rdb_corrupt;
  }
}

class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    if (path == "-") {
      fd_ = STDIN_FILENO;
      name_ = "stdin";
    } else {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) throw Fatal(ExitCode::io, "cannot open '" + path + "': " + std::strerror(errno));
      owned_ = true;
      name_ = path;
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0) {
      if (S_ISDIR(st.st_mode)) throw Fatal(ExitCode::io, "'" + path + "' is a directory");
      if (S_ISREG(st.st_mode)) size_ = static_cast<std::uint64_t>(st.st_size);
    }
  }
  ~InputFile() {
    if (owned_) ::close(fd_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Bytes read into buf; 0 at end of input; -1 when interrupted by a signal.
  long read(char* buf, std::size_t n) {
    for (;;) {
      const ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) return static_cast<long>(r);
      if (errno == EINTR) {
        if (caught_signal()) return -1;
        continue;
      }
      throw Fatal(ExitCode::io, "read '" + name_ + "': " + std::strerror(errno));
    }
  }
  const std::string& name() const { return name_; }
  std::uint64_t size() const { return size_; }

 private:
  std::string path_;
  std::string name_;
  int fd_ = -1;
  bool owned_ = false;
  std::uint64_t size_ = 0;
};

int run_dump_rdb(const DumpRdbOptions& o) {
  core::KeyFilter filter;
  filter.dbs = o.dbs;
  filter.globs = o.match;
  for (const std::string& t : o.types) {
    core::ValueType vt;
    if (!core::parse_type_name(t, vt)) throw Fatal(ExitCode::usage, "unknown type '" + t + "'");
    filter.types.push_back(vt);
  }
  formats::Format format = formats::Format::json;
  if (!formats::parse_format(o.format, format))
    throw Fatal(ExitCode::usage, "unknown format '" + o.format + "'");
  if (o.check && format != formats::Format::json)
    throw Fatal(ExitCode::usage,
                "--check prints totals as text, or as JSON with --format json; "
                "--format " +
                    o.format + " does not go with it");

  InputFile in(o.file);
  formats::OutBuffer out(STDOUT_FILENO);
  std::unique_ptr<formats::Sink> sink =
      o.check ? formats::make_check_sink(out) : formats::make_sink(format, out);
  core::FilterVisitor filtered(filter, *sink);
  core::RdbVisitor& visitor = filter.empty() ? static_cast<core::RdbVisitor&>(*sink) : filtered;

  core::RdbLimits limits;
  limits.input_size = in.size();
  core::RdbParser parser(visitor, limits);
  Progress progress(!o.quiet, in.size());

  constexpr std::size_t chunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[chunk]);
  std::uint64_t total = 0;
  core::Step step = core::Step::need_more;
  for (;;) {
    const long n = in.read(buf.get(), chunk);
    if (n < 0) break;  // interrupted
    if (n == 0) {
      step = parser.finish();
      break;
    }
    total += static_cast<std::uint64_t>(n);
    step = parser.feed({buf.get(), static_cast<std::size_t>(n)});
    while (step == core::Step::stopped && out.ok() && !caught_signal()) step = parser.feed({});
    if (step == core::Step::failed || step == core::Step::done || !out.ok() || caught_signal())
      break;
    progress.update(total);
  }
  progress.finish();

  if (out.closed()) return static_cast<int>(ExitCode::ok);  // `| head`: a normal end
  if (out.error())
    throw Fatal(ExitCode::io,
                std::string("write to standard output: ") + std::strerror(out.error()));
  if (const int sig = caught_signal()) {
    sink->abort();
    return 128 + sig;
  }
  if (step == core::Step::failed) {
    sink->abort();
    const Error& e = parser.error();
    throw Fatal(exit_code_for(e.code), in.name() + ": " + std::string(describe(e.code)) +
                                           " at byte " + std::to_string(e.offset) + ": " +
                                           e.message);
  }
  if (!parser.trailing().empty() || (step == core::Step::done && in.read(buf.get(), 1) > 0))
    print_warning(in.name() + ": bytes after the end of the RDB at byte " +
                  std::to_string(parser.offset()) + " were ignored");
  if (o.check) {
    if (format == formats::Format::json && o.format_given) {
      // The same final line the JSON output ends with.
      std::string& b = out.buffer();
      formats::JsonWriter w(b);
      w.begin_object();
      w.key("kind");
      w.ascii("end");
      sink->summary().write_json(w);
      w.end();
      b.push_back('\n');
    } else {
      sink->summary().write_human(out.buffer());
    }
  }
  if (sink->not_represented())
    print_warning(std::to_string(sink->not_represented()) +
                  " empty keys have no command form (Redis itself drops them on load)");
  out.flush();
  if (out.closed()) return static_cast<int>(ExitCode::ok);
  if (out.error())
    throw Fatal(ExitCode::io,
                std::string("write to standard output: ") + std::strerror(out.error()));
  return static_cast<int>(ExitCode::ok);
}

}  // namespace

void register_dump_rdb(CLI::App& app, Runner& runner) {
  auto o = std::make_shared<DumpRdbOptions>();
  CLI::App* cmd =
      app.add_subcommand("dump-rdb", "Read an RDB snapshot and write out what it holds");
  cmd->set_help_flag("--help", "Print this help and exit");
  cmd->add_option("--file", o->file, "Read the RDB from this file ('-' for standard input)")
      ->required()
      ->option_text("PATH");
  cmd->add_option("--format", o->format, "Output format: json (default), human, resp or keys")
      ->check(CLI::IsMember({"json", "human", "resp", "keys"}))
      ->option_text("FORMAT");
  cmd->add_flag("--check", o->check,
                "Only verify the file and print totals per db and type and the checksum verdict");
  cmd->add_option("--db", o->dbs, "Only keys of this database (repeatable)")
      ->option_text("N")
      ->allow_extra_args(false);
  cmd->add_option("--match", o->match, "Only keys matching this glob, as SCAN MATCH (repeatable)")
      ->option_text("GLOB")
      ->allow_extra_args(false);
  cmd->add_option("--type", o->types,
                  "Only keys of this type: string, list, set, zset, hash, stream or module "
                  "(repeatable)")
      ->check(CLI::IsMember({"string", "list", "set", "zset", "hash", "stream", "module"}))
      ->option_text("TYPE")
      ->allow_extra_args(false);
  cmd->add_flag("-q,--quiet", o->quiet, "No progress line on standard error");
  cmd->callback([o, cmd, &runner] {
    o->format_given = cmd->count("--format") > 0;
    runner = [o] { return run_dump_rdb(*o); };
  });
}

}  // namespace redis_repl::cli
