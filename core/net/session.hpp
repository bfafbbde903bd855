// core/net/session.hpp — the one driver of a Replica over a connection (TCP, Unix socket or TLS;
// see transport.hpp): tail, dump-rdb and lag-check --self all run their replica link here.
//
// Single-threaded on an io_context: connect with a timeout, a read loop feeding the replica, a
// 100 ms ticker for ACKs, timeouts and the handler's wants_stop() (signals are the caller's: it
// answers wants_stop() when one arrived, so its own handlers stay in place). Events go to a
// SessionHandler, which writes them out synchronously, so a slow reader of our output slows the
// reading from the master with it. A session is one connection: reconnecting is the caller's
// loop (core/link_policy.hpp decides), with a new Replica built from the old one's resume point.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/link_policy.hpp"
#include "core/net/endpoint.hpp"
#include "core/replica.hpp"

namespace asio {
class io_context;
}

namespace redis_repl::core::net {

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
