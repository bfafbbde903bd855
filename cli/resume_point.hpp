// cli/resume_point.hpp — where tail picks a master's stream up: the state file it keeps
// (--state) and the replication info of a saved RDB (--from-rdb).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace redis_repl::cli {

// The master's replid, the last command boundary, its db (core::unknown_db when not known).
struct ResumePoint {
  std::string replid = "?";
  std::int64_t offset = -1;
  std::uint64_t db = 0;
  bool valid() const { return replid != "?" && offset >= 0; }
};

// The state file: one line of JSON, {"replid":"<40 hex>","offset":N,"db":N|null}. A missing
// file is a first run (an invalid point); a character device or a FIFO (--state /dev/null) is
// only written to. Fatal(usage) for a file redis-repl did not write, Fatal(io) when unreadable.
ResumePoint read_state(const std::string& path);
// Replaced whole (cli/output_file.hpp): never a half-written state. Nothing for an invalid point.
void write_state(const std::string& path, const ResumePoint& p, bool sync = true);

// tail --cluster: one resume point per shard id, in one file:
// {"shards":{"<shard id>":{"replid":"<40 hex>","offset":N,"db":N|null,"nodes":[...]},...}}.
// "nodes" are the shard's node ids when it was saved, its master first: on a server without
// shard-id, a shard's id is derived (core::assign_shard_ids), and these let a restarted tail
// give a shard that failed over meanwhile its saved id again. A single master's state file is
// refused here (and a cluster's by read_state), with a usage error naming it.
struct ShardResume {
  ResumePoint point;
  std::vector<std::string> nodes;
};
using ClusterState = std::map<std::string, ShardResume>;
ClusterState read_cluster_state(const std::string& path);
void write_cluster_state(const std::string& path, const ClusterState& state, bool sync = true);

// A restarted Redis replica resumes from the repl-* aux fields of its RDB; so can we.
ResumePoint read_rdb_resume_point(const std::string& path);

}  // namespace redis_repl::cli
