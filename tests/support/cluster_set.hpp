// ClusterSet: a real Redis Cluster (or Valkey cluster) on loopback: masters x replicas nodes of
// the current server kind, each a RedisServer with `cluster-enabled yes`, its own cluster config
// file in its own directory, appendonly no and the default repl-diskless-sync. The cluster bus
// port of each is a free port of its own (cluster-port), not port+10000. The cluster is created
// with `<cli> --cluster create ... --cluster-replicas R --cluster-yes`, and the constructor waits
// (bounded) until every node reports cluster_state:ok, knows every other node, and every node's
// CLUSTER SLOTS gives the same map (each replica's link to its master up). The harness's own view
// of the cluster is CLUSTER SLOTS, a different command from the ones redis-repl reads. Every
// node is stopped by pid in the destructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.hpp"

namespace redis_repl::test {

// One range of CLUSTER SLOTS: its slots, the master's node id and port, the replicas' ids.
struct SlotsEntry {
  std::uint16_t first = 0, last = 0;
  std::string master_id;
  int master_port = 0;
  std::vector<std::string> replica_ids;  // sorted
  friend bool operator==(const SlotsEntry&, const SlotsEntry&) = default;
};

class ClusterSet {
 public:
  explicit ClusterSet(std::size_t masters = 3, std::size_t replicas_per_master = 1,
                      const std::vector<std::string>& extra_args = {},
                      std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(60000));
  ~ClusterSet();  // stops every node (in parallel)
  ClusterSet(const ClusterSet&) = delete;
  ClusterSet& operator=(const ClusterSet&) = delete;

  std::size_t size() const { return nodes_.size(); }
  RedisServer& node(std::size_t i) { return *nodes_.at(i); }
  std::vector<int> ports() const;
  const std::string& node_id(std::size_t i) const { return ids_.at(i); }
  std::size_t index_of(const std::string& node_id) const;  // throws HarnessError if unknown
  std::size_t index_of_port(int port) const;

  // CLUSTER SLOTS as node i sees it, sorted by first slot.
  std::vector<SlotsEntry> slots(std::size_t i = 0);
  // Indexes of the masters that own slots now, by first slot; the replicas of one.
  std::vector<std::size_t> masters();
  std::vector<std::size_t> replicas_of(std::size_t master);
  RedisServer& master_for_slot(std::uint16_t slot);
  // SET key value on the master that owns key's slot (core::key_slot); throws on an error reply.
  void write(const std::string& key, const std::string& value);
  // DBSIZE summed over the masters.
  std::int64_t total_keys();

  // CLUSTER FAILOVER on a replica; waits until it is a master, its old master a replica of it,
  // and the cluster ok and in agreement again.
  void failover(std::size_t replica,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  // `<cli> --cluster reshard` of `slots` slots from one master to another (node ids), in the
  // foreground; then waits until the cluster agrees. The cli's output for messages.
  ProgramResult reshard(const std::string& from_id, const std::string& to_id, std::size_t slots,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(120000));
  // The same command line, for a test that runs it in the background (BackgroundProcess).
  std::vector<std::string> reshard_argv(const std::string& from_id, const std::string& to_id,
                                        std::size_t slots) const;

  // Waits until every node says cluster_state:ok, knows every node (none in handshake, none
  // failing), every replica's master link is up, and all give the same CLUSTER SLOTS, with every
  // master's replicas listed (Valkey lists a replica only once it has synced).
  void wait_ready(std::chrono::milliseconds timeout);
  // For failure messages: every node's CLUSTER NODES.
  std::string describe();

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<std::string> ids_;
  std::size_t replicas_per_master_ = 0;
};

}  // namespace redis_repl::test
