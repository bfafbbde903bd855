// core/net/session.hpp — the one piece that touches sockets: runs a Replica over a TCP link.
//
// Standalone asio, single-threaded: connect with a timeout, a read loop feeding the replica, a
// 100 ms ticker for ACKs, timeouts and the handler's wants_stop() (signals are the caller's: it
// answers wants_stop() when one arrived, so its own handlers stay in place). Events go to
// a SessionHandler, which writes them out synchronously, so a slow reader of our output slows
// the reading from the master with it. A session is one connection: reconnecting is the
// caller's loop, with a new Replica built from the old one's resume point.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "core/replica.hpp"

namespace redis_repl::core::net {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
};

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // One event, never need_data. False ends the session (a count reached, output closed).
  virtual bool on_event(const Event& event) = 0;
  // After each batch of events: write out what is buffered, and return the replication offset up
  // to which everything handed out is now written (the replica ACKs that), or -1 if none.
  virtual std::int64_t on_batch_end() = 0;
  // Polled by the ticker: true ends the session (a signal, a duration elapsed, output closed).
  virtual bool wants_stop() { return false; }
};

enum class SessionEnd : std::uint8_t {
  finished,        // the replica reported done or failed (the handler saw that event)
  stopped,         // the handler asked to stop
  connect_failed,  // no connection (error says why)
};

struct SessionResult {
  SessionEnd end = SessionEnd::finished;
  std::string error;
};

SessionResult run_session(const Endpoint& endpoint, std::chrono::milliseconds connect_timeout,
                          Replica& replica, SessionHandler& handler);

}  // namespace redis_repl::core::net
