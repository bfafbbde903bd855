#include "core/net/client.hpp"

#include <cstdio>
#include <random>

namespace redis_repl::core::net {

using asio::ip::tcp;

bool run_until(asio::io_context& io, Deadline deadline, const std::function<bool()>& done) {
  io.restart();
  while (!done()) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return false;
    io.run_one_for(std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(50)));
    if (io.stopped()) io.restart();
  }
  return true;
}

std::string Client::connect(const Endpoint& endpoint, Deadline deadline) {
  asio::error_code ec;
  tcp::resolver resolver(io_);
  const auto endpoints = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) return "cannot resolve " + endpoint.host + ": " + ec.message();
  bool finished = false;
  asio::async_connect(socket_, endpoints, [&](const asio::error_code& e, const tcp::endpoint&) {
    finished = true;
    ec = e;
  });
  if (!run_until(io_, deadline, [&] { return finished; })) {
    socket_.close();
    run_until(io_, Clock::now() + std::chrono::seconds(1), [&] { return finished; });
    return "timed out connecting";
  }
  if (ec) {
    socket_.close();
    return ec.message();
  }
  socket_.set_option(tcp::no_delay(true));
  return {};
}

std::string Client::command(std::initializer_list<std::string_view> args, Reply& reply,
                            Deadline deadline) {
  if (std::string err = send(args, deadline); !err.empty()) return err;
  return read_reply(reply, deadline);
}

std::string Client::send(std::initializer_list<std::string_view> args, Deadline deadline) {
  out_ = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args) {
    out_ += "$" + std::to_string(a.size()) + "\r\n";
    out_.append(a);
    out_ += "\r\n";
  }
  bool written = false;
  asio::error_code ec;
  asio::async_write(socket_, asio::buffer(out_), [&](const asio::error_code& e, std::size_t) {
    written = true;
    ec = e;
  });
  if (!run_until(io_, deadline, [&] { return written; })) return "timed out sending";
  return ec ? ec.message() : std::string();
}

std::string Client::read_reply(Reply& reply, Deadline deadline) {
  asio::error_code ec;
  bool have = false;
  error_.clear();
  auto try_parse = [&] {
    const ReadStatus s = reader_.next(reply);
    if (s == ReadStatus::ok) have = true;
    if (s == ReadStatus::failed) error_ = reader_.error().message;
    return have || !error_.empty();
  };
  while (!try_parse()) {
    bool got = false;
    std::size_t n = 0;
    socket_.async_read_some(asio::buffer(buf_), [&](const asio::error_code& e, std::size_t k) {
      got = true;
      ec = e;
      n = k;
    });
    if (!run_until(io_, deadline, [&] { return got; })) {
      socket_.cancel();
      run_until(io_, Clock::now() + std::chrono::seconds(1), [&] { return got; });
      return "timed out waiting for a reply";
    }
    if (ec) return ec == asio::error::eof ? "connection closed" : ec.message();
    reader_.feed(std::string_view(buf_.data(), n));
  }
  return error_;
}

void Client::listen(std::function<void(const Reply&, Clock::time_point)> on_reply) {
  on_reply_ = std::move(on_reply);
  // Replies already buffered arrived before now: hand them out first.
  Reply r;
  while (reader_.next(r) == ReadStatus::ok) on_reply_(r, Clock::now());
  read_more();
}

void Client::read_more() {
  if (reading_ || !socket_.is_open()) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(buf_), [this](const asio::error_code& ec, std::size_t n) {
    reading_ = false;
    if (ec) return;
    const Clock::time_point at = Clock::now();
    reader_.feed(std::string_view(buf_.data(), n));
    Reply r;
    while (reader_.next(r) == ReadStatus::ok) on_reply_(r, at);
    read_more();
  });
}

void Client::close() {
  asio::error_code ignored;
  socket_.close(ignored);
}

std::string authenticate(Client& c, const std::string& user, const std::string& password,
                         Deadline deadline) {
  if (password.empty()) return {};
  Reply r;
  const std::string err = user.empty() ? c.command({"AUTH", password}, r, deadline)
                                       : c.command({"AUTH", user, password}, r, deadline);
  if (!err.empty()) return err;
  if (r.is_error()) return "AUTH failed: " + r.str;
  return {};
}

std::string private_channel(std::string_view purpose) {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return "__redis-repl:" + std::string(purpose) + ":" + buf;
}

}  // namespace redis_repl::core::net
