// core/net/join.hpp — where a feed "from now on" can start without making the master fork.
//
// A master that keeps a replication backlog can be joined at its current offset with PSYNC
// (+CONTINUE: no snapshot, no fork). The point is read atomically with a pin:
//   MULTI; INFO replication; PUBLISH __redis-repl:pin:<random> 1; EXEC
// INFO runs before anything of the transaction reaches the replication stream, so its
// master_repl_offset is the byte just before our PUBLISH: resuming after it misses no write made
// after that moment, and the PUBLISH (sent from db 0) is the first command of the feed, which
// tells the replica the stream's db when no SELECT comes before it.
// A master with no backlog gets one first: a PSYNC ? -1 on a throw-away connection makes it
// create the backlog at once; that connection is closed before a diskless sync's delay ends, so
// the master never forks for it (a disk-based master, repl-diskless-sync no, forks at once).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/net/endpoint.hpp"

namespace redis_repl::core::net {

struct JoinPoint {
  // The failure was reaching or authenticating to the master: the session that follows will
  // meet it too and report it, so there is nothing to fall back from.
  bool link_failed = false;
  std::string replid;
  std::int64_t offset = -1;  // the last byte before the feed
  std::string pin_channel;   // for ReplicaConfig::pin_channel
  bool created_backlog = false;
};

// Empty on success; else why no join point could be had (the caller falls back to a sync with
// an empty snapshot). note() is told what the master is being asked to do.
std::string find_join_point(const Server& server, JoinPoint& out,
                            const std::function<void(const std::string&)>& note);

// A master's INFO replication: master_replid2 and second_repl_offset (-1 when it has none).
// Empty on success.
std::string promotion_point(const Server& server, std::string& replid2,
                            std::int64_t& second_repl_offset);

}  // namespace redis_repl::core::net
