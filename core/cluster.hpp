// core/cluster.hpp — a Redis Cluster's shape, without I/O: what CLUSTER SHARDS (7.0+) and CLUSTER
// NODES (every version) say about the master shards, their slot ranges, nodes and replicas; which
// slot a key hashes to; and which shard owns a slot. core/net/cluster.hpp asks; this reads.
//
// Shard ids. A shard must keep its id across a failover inside it, which gives it a master with
// another node id. Servers that have shard-id (Redis 7.2+, Valkey) say it in CLUSTER SHARDS and
// it is used as it is (id_from_server). Servers without it (Redis 7.0) get a derived id: the node
// id of the shard's master when the shard is first seen, kept afterwards by assign_shard_ids()
// for as long as a later topology's shard shares a node (its master or a replica) with the known
// one. A promoted replica was a member of its shard, so the shard keeps its id.
//
// Every reply is read with limits (at most max_cluster_nodes nodes, slots 0..16383): a malformed
// or hostile reply is an error with a message, never a crash.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/resp_reader.hpp"
#include "core/sentinel.hpp"

namespace redis_repl::core {

inline constexpr std::uint16_t cluster_slots = 16384;
// More nodes than Redis Cluster's recommended maximum (1000) by far, fewer than would exhaust
// memory.
inline constexpr std::size_t max_cluster_nodes = 10000;

struct SlotRange {
  std::uint16_t first = 0, last = 0;  // inclusive
  friend bool operator==(const SlotRange&, const SlotRange&) = default;
};

struct ClusterNode {
  std::string id;  // 40-hex node id
  // The endpoint to connect to: the tls-port when the seed was reached over TLS and the node
  // announces one, else the port.
  HostPort address;
  bool healthy = true;       // not fail/pfail/handshake/noaddr; CLUSTER SHARDS health "online"
  std::int64_t offset = -1;  // replication offset when the reply gives it
};

struct Shard {
  std::string id;  // shard-id (CLUSTER SHARDS on 7.2+/Valkey), else derived (see above)
  bool id_from_server = false;
  std::vector<SlotRange> slots;  // sorted, adjacent ranges merged
  ClusterNode master;
  std::vector<ClusterNode> replicas;
  // Slots this master is moving out ([slot->-id]) or in ([slot-<-id]), CLUSTER NODES only.
  std::vector<std::uint16_t> migrating, importing;
};

// The master shards that own at least one slot, by their first slot.
struct Topology {
  std::vector<Shard> shards;
};

// CLUSTER SHARDS (RESP2: arrays of alternating names and values). tls: the seed was reached over
// TLS (addresses use tls-port where given). nullopt with error set for anything malformed.
std::optional<Topology> read_cluster_shards(const Reply& reply, bool tls, std::string& error);
// CLUSTER NODES text. tls: as above (CLUSTER NODES gives one port, the one clients use).
std::optional<Topology> read_cluster_nodes(std::string_view text, bool tls, std::string& error);

// Gives the shards of fresh without an id from the server the id of the known shard they share
// a node with (master or replica), else their master's node id (see the top of this file).
void assign_shard_ids(const Topology& known, Topology& fresh);

// The slot of a key: CRC16-XMODEM of the key, or of the text inside its first non-empty {...}
// hash tag, modulo 16384.
std::uint16_t key_slot(std::string_view key);

// The shard that owns a slot; nullptr when none does.
const Shard* shard_for_slot(const Topology& topology, std::uint16_t slot);

// "0-5460,5462,10923-16383": slot ranges for messages and reports.
std::string slots_text(const std::vector<SlotRange>& slots);

// Slots covered by the shards: how many, and whether any is owned twice.
std::size_t slots_covered(const Topology& topology, bool* overlap = nullptr);

}  // namespace redis_repl::core
