// formats/lag_report.hpp — lag-check's output: a table for people, one JSON document (or line),
// a Nagios status line with perfdata, or Prometheus text exposition (for node_exporter's
// textfile collector).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/lag.hpp"

namespace redis_repl::formats {

enum class LagFormat : std::uint8_t { human, json, nagios, prometheus };
bool parse_lag_format(std::string_view name, LagFormat& out) noexcept;

struct LagResult {
  std::string shard;  // --cluster: the shard's id (core/cluster.hpp); empty otherwise
  std::string node;   // --cluster: the master's node id
  std::string master;
  std::string error;  // the master could not be measured
  std::int64_t master_offset = 0;
  std::vector<core::ReplicaLag> replicas;
  std::vector<core::Verdict> verdicts;  // one per replica
  core::Status status = core::Status::ok;
  std::string status_reason;        // when the status is not a replica's: too few replicas
  std::int64_t unix_ms = 0;         // when the sample was taken
  double duration_s = 0;            // how long the sample took
  std::size_t inspectors = 0;       // port-less replication clients: counted, never measured
  std::int64_t replicas_found = 0;  // replicas of the master's (not our own --self link)
  std::int64_t min_replicas = 0;
};

// lag-check --cluster: one LagResult per master shard, one verdict for all (the worst).
struct ClusterLagResult {
  std::string seeds;  // the seed nodes as given, for the output's heading
  std::string error;  // the cluster could not be discovered: UNKNOWN
  std::vector<LagResult> shards;
  core::Status status = core::Status::ok;
  std::vector<std::string> reasons;  // one per shard not OK (core::combine_shards)
  std::int64_t unix_ms = 0;
  double duration_s = 0;
  std::int64_t min_replicas = 0;  // per shard
};

// The one-line summary of a result: its error, what is wrong with it, or how many replicas are
// in step.
std::string lag_summary(const LagResult& r);

// Appends the result. watch: one line per sample for people (--watch) instead of the table; the
// other formats are one line (json, nagios) or one exposition (prometheus) either way.
void write_lag(std::string& out, const LagResult& r, LagFormat f, const core::Thresholds& t,
               bool watch = false);
void write_cluster_lag(std::string& out, const ClusterLagResult& r, LagFormat f,
                       const core::Thresholds& t, bool watch = false);

}  // namespace redis_repl::formats
