// core/net/client.hpp — a small RESP client for lag-check: commands with deadlines, and a
// listening mode for pub/sub messages stamped with their arrival time.
//
// Several clients share one io_context; run_until() turns the asynchronous operations into steps
// with a deadline, so the measuring code reads as a sequence and can never hang.
#pragma once
#include <array>
#include <asio.hpp>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "core/net/transport.hpp"
#include "core/replica.hpp"
#include "core/resp_reader.hpp"

namespace redis_repl::core::net {

using Deadline = Clock::time_point;

// What one reply to this client may hold. Its replies (INFO, ROLE, SENTINEL, CLUSTER SHARDS and
// NODES, pub/sub messages) are small; a server that sends more is refused, with the reader's
// error, so memory stays bounded whatever a server (or a seed node) sends.
inline constexpr RespLimits client_reply_limits{64u << 20, 1u << 20, 8};

// Runs io until done() is true or the deadline passes; false on the deadline.
bool run_until(asio::io_context& io, Deadline deadline, const std::function<bool()>& done);

class Client {
 public:
  explicit Client(asio::io_context& io) : io_(io) {}
  ~Client() {
    *alive_ = false;
    close();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Over TCP, a Unix socket or TLS, as the endpoint says. Empty on success (ConnectError tells
  // a TLS failure apart); the error's message says why not ("connection refused").
  ConnectError connect(const Endpoint& endpoint, Deadline deadline);
  // Sends a command and reads one reply. Empty on success (the reply may still be an error).
  std::string command(std::initializer_list<std::string_view> args, Reply& reply,
                      Deadline deadline);
  // The two halves of command(): a command sent without waiting, and the next reply.
  std::string send(std::initializer_list<std::string_view> args, Deadline deadline);
  std::string read_reply(Reply& reply, Deadline deadline);
  // From now on every reply (pub/sub messages) goes to on_reply with its arrival time.
  void listen(std::function<void(const Reply&, Clock::time_point)> on_reply);
  void close();
  bool open() const { return transport_ && transport_->is_open(); }

 private:
  void read_more();

  asio::io_context& io_;
  std::shared_ptr<Transport> transport_;
  RespReader reader_{client_reply_limits};
  std::array<char, 16 * 1024> buf_{};
  std::string out_;
  std::function<void(const Reply&, Clock::time_point)> on_reply_;
  std::string error_;
  bool reading_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "__redis-repl:<purpose>:<16 random hex digits>": a pub/sub channel no one else uses. The
// replica treats every PUBLISH on a "__redis-repl:" channel as housekeeping.
std::string private_channel(std::string_view purpose);

// AUTH when the server has a password. Empty on success.
std::string authenticate(Client& c, const Server& server, Deadline deadline);

// Connects and authenticates. Empty on success; else one line naming the endpoint.
std::string connect_and_auth(Client& c, const Server& server, Deadline deadline);

}  // namespace redis_repl::core::net
