// core/net/lag_probe.hpp — one lag measurement: INFO replication from the master and from each
// replica, byte lag, and time lag from probes published on a private channel of the master and
// timed as they arrive through each replica's subscription (published messages travel through
// replication). No key is written.
//
// In a cluster PUBLISH travels over the cluster bus instead, so there probes are offsets
// (Timing::offset, core::OffsetProbes): the master's offset read at t0, and each replica's own
// offset polled until it is reached. When nothing else moves the master's offset, a probe writes
// `write_key` (SET with a 10 s expiry) so that something is in flight to time.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/lag.hpp"
#include "core/net/endpoint.hpp"

namespace redis_repl::core::net {

struct LagProbeConfig {
  // Its credentials and TLS settings serve the replicas too; its timeout is unused (see
  // query_timeout).
  Server master;
  std::vector<Endpoint> replicas;  // empty: the ones the master lists
  int probes = 5;
  std::chrono::milliseconds interval{100};  // between probes
  std::chrono::milliseconds timeout{5000};  // the wait for the last probe
  // Each step: connect, AUTH, INFO, SUBSCRIBE, PUBLISH, and the join with `self`.
  std::chrono::milliseconds query_timeout{5000};
  bool self = false;  // also join as a replica (empty snapshot) and time the probes in our feed
  enum class Timing : std::uint8_t { publish, offset };
  Timing timing = Timing::publish;
  // Timing::offset: the key a probe writes when the master's offset stands still (a key of the
  // master's own slots); empty: never write.
  std::string write_key;
  std::chrono::milliseconds poll_interval{2};  // Timing::offset: between polls of the replicas
};

struct LagReport {
  std::string error;  // the master could not be measured: unreachable, refused, not a master
  std::string master;
  std::int64_t master_offset = 0;
  std::vector<ReplicaLag> replicas;  // with --self, the last one is our own link
  std::size_t inspectors = 0;        // port-less replication clients the master lists
  std::vector<std::string> notes;    // for the user: what took long, and why
};

LagReport measure_lag(const LagProbeConfig& config);

}  // namespace redis_repl::core::net
