// core/net/cluster.hpp — asks a Redis Cluster for its shape: CLUSTER SHARDS on each seed in turn
// (CLUSTER NODES on servers that do not know SHARDS, before 7.0), with the credentials, TLS
// options and timeout every node is reached with. What the replies say is core/cluster.hpp's.
#pragma once
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/cluster.hpp"
#include "core/link_policy.hpp"
#include "core/net/endpoint.hpp"
#include "core/net/session.hpp"

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

// What one link of run_links() needs; replica and handler must outlive the link.
struct LinkParts {
  Server server;
  Replica* replica = nullptr;
  SessionHandler* handler = nullptr;
};

// Runs n replica links (Link) on one io_context in this thread, at most `parallel` at a time,
// started in index order: make(i) gives link i's parts just before it starts, done(i, result) is
// called as soon as it has ended (before the next one starts in its place).
void run_links(std::size_t n, std::size_t parallel,
               const std::function<LinkParts(std::size_t)>& make,
               const std::function<void(std::size_t, const SessionResult&)>& done);

}  // namespace redis_repl::core::net
