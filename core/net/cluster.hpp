// core/net/cluster.hpp — asks a Redis Cluster for its shape: CLUSTER SHARDS on each seed in turn
// (CLUSTER NODES on servers that do not know SHARDS, before 7.0), with the credentials, TLS
// options and timeout every node is reached with. What the replies say is core/cluster.hpp's.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "core/cluster.hpp"
#include "core/link_policy.hpp"
#include "core/net/endpoint.hpp"

namespace redis_repl::core::net {

struct ClusterDiscovery {
  bool found = false;
  Topology topology;
  std::string seed;   // found: the seed that answered (host:port)
  std::string error;  // not found: one line naming every seed tried and what it said
  // not found: for exit_code_for. Authentication outranks TLS, which outranks a seed that
  // answered but is no cluster node or answered nonsense (protocol), which outranks the rest
  // (connect: unreachable, no answer in time).
  Failure failure = Failure::connect;
};

// Asks each seed in turn (credentials, TLS and timeout of `node`, each step at most
// step_timeout): CLUSTER SHARDS, and CLUSTER NODES when the server does not know SHARDS. A seed
// not in cluster mode is an error saying so. The first seed that answers with a topology wins.
ClusterDiscovery discover_cluster(const std::vector<HostPort>& seeds, const Server& node,
                                  std::chrono::milliseconds step_timeout);

// The Server to connect to a node: `node`'s credentials/TLS/timeout at that node's address.
Server server_for(const Server& node, const ClusterNode& target);

}  // namespace redis_repl::core::net
