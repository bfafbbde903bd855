// core/net/session.hpp — the one driver of a Replica over a connection (TCP, Unix socket or TLS;
// see transport.hpp): tail, dump-rdb and lag-check --self all run their replica link here.
//
// Single-threaded on an io_context: connect with a timeout, a read loop feeding the replica, a
// 100 ms ticker for ACKs, timeouts and the handler's wants_stop() (signals are the caller's: it
// answers wants_stop() when one arrived, so its own handlers stay in place). Events go to a
// SessionHandler, which writes them out synchronously, so a slow reader of our output slows the
// reading from the master with it. A session is one connection: reconnecting is the caller's
// loop (core/link_policy.hpp decides), with a new Replica built from the old one's resume point.
//
// A two-connection full sync (ReplicaConfig::two_connections; newest-servers.md §6) is driven
// here too: when the master asks for it, a second connection to the same endpoint (same
// transport, same AUTH) carries the snapshot, with a Replica of its own (Channel::valkey_rdb or
// redis_rdb) feeding the same snapshot visitor and payload tap. The handler sees one sync, in
// order: the snapshot's events from the second connection, then the feed from the main one.
// The feed that arrives meanwhile is held (a FeedHold: the handler's, else memory up to
// held_in_memory_max), not parsed, not ACKed, and handed to the main Replica once the snapshot is
// in. A second connection that cannot be set up (an error reply, a cut, a wrong client id)
// before any snapshot byte is handed out ends in a fallback: the main connection starts again
// with one connection (SessionHandler::on_fallback says why). Rdb-only (dump-rdb) joins the two
// connections all the same (Valkey frees what it keeps for the pair only when the main one,
// joined, goes away), drops the feed, and ends the session with the snapshot.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/link_policy.hpp"
#include "core/net/endpoint.hpp"
#include "core/replica.hpp"

namespace asio {
class io_context;
}

namespace redis_repl::core::net {

// Where the feed waits while the second connection brings the snapshot: appended at the end,
// taken from the front, in order.
class FeedHold {
 public:
  virtual ~FeedHold() = default;
  // False when the bytes cannot be kept (why() says why): the session fails.
  virtual bool push(std::string_view bytes) = 0;
  // The oldest bytes, up to max, into block (replacing it); false when none are left, or when
  // they cannot be read back (why() says so: the session fails).
  virtual bool pull(std::string& block, std::size_t max) = 0;
  virtual std::string why() const = 0;  // empty while nothing failed
};

// Without a handler's FeedHold: at most this much feed is held in memory.
inline constexpr std::uint64_t held_in_memory_max = std::uint64_t{256} << 20;

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // One event, never need_data. False ends the session (a count reached, output closed).
  virtual bool on_event(const Event& event) = 0;
  // After each batch of events: write out what is buffered, and return the replication offset up
  // to which everything handed out is now written (the replica ACKs that), or -1 if none.
  virtual std::int64_t on_batch_end() = 0;
  // The connection is made (and, for TLS, the handshake done); the replica's handshake begins.
  virtual void on_connected() {}
  // Polled by the ticker: true ends the session (a signal, a duration elapsed, output closed).
  virtual bool wants_stop() { return false; }
  // Where the feed waits during a two-connection sync; null: in memory (held_in_memory_max).
  virtual FeedHold* feed_hold() { return nullptr; }
  // The second connection failed before the snapshot began: one connection from now on.
  virtual void on_fallback(const std::string& why) { (void)why; }
};

struct SessionResult {
  SessionEnd end = SessionEnd::finished;
  std::string error;  // connect_failed, tls_failed: one line naming the endpoint
};

// The ReplicaConfig every link starts from: the server's credentials and timeout, what to ask of
// the snapshot, and the address announced (core::inspector_host, so that Sentinel leaves the link
// alone). The rest (resume point, announced port, ...) is the caller's.
ReplicaConfig replica_config(const Server& server, ReplicaConfig::Snapshot snapshot);

// One replica link on an io_context the caller runs.
class Link {
 public:
  Link(asio::io_context& io, const Server& server, Replica& replica, SessionHandler& handler);
  ~Link();  // stop()
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void start();
  // Ends the session at once (a last queued write is not waited for).
  void stop();
  // The session is over; result() says how.
  bool finished() const;
  const SessionResult& result() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // also held by every pending operation
};

// One io_context for several links (tail --cluster: one link per shard), run in slices so that
// the caller does its own work (reconnects, topology reads) between them, on the same thread.
class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  asio::io_context& io() noexcept { return *io_; }
  // Runs what is ready for up to `slice`; at once when there is nothing to run.
  void run_for(std::chrono::milliseconds slice);

 private:
  std::unique_ptr<asio::io_context> io_;
};

// A link on its own io_context, run to its end.
SessionResult run_session(const Server& server, Replica& replica, SessionHandler& handler);

}  // namespace redis_repl::core::net
