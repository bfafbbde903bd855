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

// Appends the result. watch: one line per sample for people (--watch) instead of the table; the
// other formats are one line (json, nagios) or one exposition (prometheus) either way.
void write_lag(std::string& out, const LagResult& r, LagFormat f, const core::Thresholds& t,
               bool watch = false);

}  // namespace redis_repl::formats
