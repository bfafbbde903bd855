// The state file of tail and the resume point of a saved RDB.
#include "cli/resume_point.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/output_file.hpp"
#include "core/bytes.hpp"
#include "core/rdb_parser.hpp"
#include "core/replica.hpp"

namespace redis_repl::cli {

// The state file: one line of JSON, {"replid":"<40 hex>","offset":N,"db":N}. A character device
// or a FIFO (--state /dev/null) is only written to: there is no state to resume from in it.
ResumePoint read_state(const std::string& path) {
  ResumePoint p;
  if (classify_output(path, "state file", false) == OutputKind::stream) return p;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return p;  // a first run
    throw Fatal(ExitCode::io, "cannot read state file '" + path + "': " + std::strerror(errno));
  }
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  const std::string text(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  // Read as JSON (what is not an object with these fields is not a state file of ours).
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object() && j.value("replid", nlohmann::json()).is_string() &&
      j.value("offset", nlohmann::json()).is_number_integer() && j.contains("db") &&
      (j["db"].is_null() || j["db"].is_number_unsigned())) {
    p.replid = j["replid"].get<std::string>();
    p.offset = j["offset"].get<std::int64_t>();
    p.db = j["db"].is_null() ? core::unknown_db : j["db"].get<std::uint64_t>();
  }
  const bool hex = std::all_of(p.replid.begin(), p.replid.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (!hex) p = ResumePoint{};
  if (p.replid.size() != 40 || p.offset < 0)
    throw Fatal(ExitCode::usage, "state file '" + path + "' is not one redis-repl wrote");
  return p;
}

// By the rules of every file written (cli/output_file.hpp): a temporary file beside it, renamed
// into place: never a half-written state.
void write_state(const std::string& path, const ResumePoint& p, bool sync) {
  if (path.empty() || !p.valid()) return;
  write_whole_file(path, "state file",
                   "{\"replid\":\"" + p.replid + "\",\"offset\":" + std::to_string(p.offset) +
                       ",\"db\":" + (p.db == core::unknown_db ? "null" : std::to_string(p.db)) +
                       "}\n",
                   sync);
}

// A restarted Redis replica resumes from the repl-* aux fields of its RDB; so can we.
ResumePoint read_rdb_resume_point(const std::string& path) {
  struct AuxOnly : core::RdbVisitor {
    ResumePoint p;
    bool have_id = false, have_offset = false;
    core::Flow on_aux(std::string_view f, std::string_view v) override {
      if (f == "repl-id") {
        p.replid = std::string(v);
        have_id = true;
      } else if (f == "repl-offset") {
        have_offset = core::parse_decimal(v, p.offset);
      } else if (f == "repl-stream-db") {
        core::parse_decimal(v, p.db);
      }
      return core::Flow::next;
    }
    // The aux fields that matter come first: stop at the first data.
    core::Flow on_select_db(std::uint64_t) override { return core::Flow::stop; }
    core::Flow on_key_begin(const core::KeyInfo&) override { return core::Flow::stop; }
    core::Flow on_function(std::string_view, std::string_view) override { return core::Flow::stop; }
  } v;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Fatal(ExitCode::io, "cannot open '" + path + "': " + std::strerror(errno));
  core::RdbParser parser(v);
  char buf[64 * 1024];
  core::Step step = core::Step::need_more;
  while (step == core::Step::need_more) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    step = parser.feed({buf, static_cast<std::size_t>(n)});
  }
  ::close(fd);
  if (step == core::Step::failed)
    throw Fatal(ExitCode::rdb_corrupt, path + ": " + parser.error().message);
  if (!v.have_id || !v.have_offset || v.p.replid.size() != 40 || v.p.offset < 0)
    throw Fatal(ExitCode::usage, path + " carries no replication info (repl-id, repl-offset)");
  return v.p;
}

}  // namespace redis_repl::cli
