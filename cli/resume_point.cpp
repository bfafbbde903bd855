// The state file of tail and the resume point of a saved RDB.
#include "cli/resume_point.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.hpp"
#include "cli/output_file.hpp"
#include "core/bytes.hpp"
#include "core/rdb_parser.hpp"
#include "core/replica.hpp"

namespace redis_repl::cli {

namespace {

// One resume point as JSON: {"replid":"<40 hex>","offset":N,"db":N|null}; invalid otherwise.
ResumePoint point_of(const nlohmann::json& j) {
  ResumePoint p;
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
  if (!hex || p.replid.size() != 40 || p.offset < 0) return ResumePoint{};
  return p;
}

std::string json_of(const ResumePoint& p) {
  return "{\"replid\":\"" + p.replid + "\",\"offset\":" + std::to_string(p.offset) +
         ",\"db\":" + (p.db == core::unknown_db ? "null" : std::to_string(p.db)) + "}";
}

// The state file's text; nullopt for a first run (no file) or a character device or FIFO
// (--state /dev/null), which is only written to.
std::optional<std::string> read_state_text(const std::string& path) {
  if (classify_output(path, "state file", false) == OutputKind::stream) return std::nullopt;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;  // a first run
    throw Fatal(ExitCode::io, "cannot read state file '" + path + "': " + std::strerror(errno));
  }
  // A cluster's state holds a point per shard: a few hundred bytes each, at most 1 MiB in all.
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0 || text.size() > (1u << 20)) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

// The state file: one line of JSON, {"replid":"<40 hex>","offset":N,"db":N}.
ResumePoint read_state(const std::string& path) {
  const std::optional<std::string> text = read_state_text(path);
  if (!text) return ResumePoint{};
  // Read as JSON (what is not an object with these fields is not a state file of ours).
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_object() && j.contains("shards"))
    throw Fatal(ExitCode::usage, "state file '" + path + "' is a cluster's (tail --cluster)");
  const ResumePoint p = point_of(j);
  if (!p.valid())
    throw Fatal(ExitCode::usage, "state file '" + path + "' is not one redis-repl wrote");
  return p;
}

// By the rules of every file written (cli/output_file.hpp): a temporary file beside it, renamed
// into place: never a half-written state.
void write_state(const std::string& path, const ResumePoint& p, bool sync) {
  if (path.empty() || !p.valid()) return;
  write_whole_file(path, "state file", json_of(p) + "\n", sync);
}

// {"shards":{"<shard id>":{"replid":...,"offset":N,"db":N|null},...}}
ClusterState read_cluster_state(const std::string& path) {
  ClusterState state;
  const std::optional<std::string> text = read_state_text(path);
  if (!text) return state;
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_object() && !j.contains("shards") && point_of(j).valid())
    throw Fatal(ExitCode::usage, "state file '" + path +
                                     "' is one master's, not a cluster's (tail without --cluster)");
  const bool shaped =
      j.is_object() && j.size() == 1 && j.contains("shards") && j["shards"].is_object();
  if (shaped) {
    for (const auto& [id, point] : j["shards"].items()) {
      const ResumePoint p = point_of(point);
      ShardResume r{p, {}};
      bool nodes_ok = true;
      if (point.contains("nodes")) {
        nodes_ok = point["nodes"].is_array() && point["nodes"].size() <= 1024;
        for (const nlohmann::json& n : nodes_ok ? point["nodes"] : nlohmann::json::array()) {
          nodes_ok = nodes_ok && n.is_string() && !n.get<std::string>().empty();
          if (nodes_ok) r.nodes.push_back(n.get<std::string>());
        }
      }
      if (id.empty() || !p.valid() || !nodes_ok) {
        state.clear();
        break;
      }
      state[id] = std::move(r);
    }
  }
  if (!shaped || (state.empty() && !j["shards"].empty()))
    throw Fatal(ExitCode::usage, "state file '" + path + "' is not one redis-repl wrote");
  return state;
}

void write_cluster_state(const std::string& path, const ClusterState& state, bool sync) {
  if (path.empty()) return;
  std::string text = "{\"shards\":{";
  bool first = true;
  for (const auto& [id, r] : state) {
    if (!r.point.valid()) continue;
    if (!first) text += ',';
    first = false;
    std::string point = json_of(r.point);
    if (!r.nodes.empty()) {
      point.pop_back();  // the closing brace
      point += ",\"nodes\":" + nlohmann::json(r.nodes).dump() + "}";
    }
    text += nlohmann::json(id).dump() + ":" + point;
  }
  text += "}}\n";
  write_whole_file(path, "state file", text, sync);
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
