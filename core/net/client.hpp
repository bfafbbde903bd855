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
#include <string>
#include <string_view>

#include "core/net/session.hpp"
#include "core/resp_reader.hpp"

namespace redis_repl::core::net {

using Deadline = Clock::time_point;

// Runs io until done() is true or the deadline passes; false on the deadline.
bool run_until(asio::io_context& io, Deadline deadline, const std::function<bool()>& done);

class Client {
 public:
  explicit Client(asio::io_context& io) : io_(io), socket_(io) {}
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Empty on success, else why not ("connection refused", "timed out").
  std::string connect(const Endpoint& endpoint, Deadline deadline);
  // Sends a command and reads one reply. Empty on success (the reply may still be an error).
  std::string command(std::initializer_list<std::string_view> args, Reply& reply,
                      Deadline deadline);
  // The two halves of command(): a command sent without waiting, and the next reply.
  std::string send(std::initializer_list<std::string_view> args, Deadline deadline);
  std::string read_reply(Reply& reply, Deadline deadline);
  // From now on every reply (pub/sub messages) goes to on_reply with its arrival time.
  void listen(std::function<void(const Reply&, Clock::time_point)> on_reply);
  void close();
  bool open() const { return socket_.is_open(); }
  // For a caller that speaks its own protocol on the connection (a replica link).
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  void read_more();

  asio::io_context& io_;
  asio::ip::tcp::socket socket_;
  RespReader reader_;
  std::array<char, 16 * 1024> buf_{};
  std::string out_;
  std::function<void(const Reply&, Clock::time_point)> on_reply_;
  std::string error_;
  bool reading_ = false;
};

// "__redis-repl:<purpose>:<16 random hex digits>": a pub/sub channel no one else uses. The
// replica treats every PUBLISH on a "__redis-repl:" channel as housekeeping.
std::string private_channel(std::string_view purpose);

// AUTH when a password is set. Empty on success.
std::string authenticate(Client& c, const std::string& user, const std::string& password,
                         Deadline deadline);

}  // namespace redis_repl::core::net
