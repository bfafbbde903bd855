#include "core/net/client.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/resp_writer.hpp"

namespace redis_repl::core::net {

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

ConnectError Client::connect(const Endpoint& endpoint, Deadline deadline) {
  close();
  transport_ = make_transport(io_, endpoint);
  reader_ = RespReader(client_reply_limits);
  bool finished = false;
  ConnectError result;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  transport_->async_connect(std::max(left, std::chrono::milliseconds(1)),
                            [&](const ConnectError& e) {
                              finished = true;
                              result = e;
                            });
  // The transport's own timer ends the connect at the deadline; the second second is a margin.
  if (!run_until(io_, deadline + std::chrono::seconds(1), [&] { return finished; })) {
    transport_->close();
    run_until(io_, Clock::now() + std::chrono::seconds(1), [&] { return finished; });
    return ConnectError{ConnectError::Kind::connect, "timed out connecting"};
  }
  if (result) transport_->close();
  return result;
}

std::string Client::command(std::initializer_list<std::string_view> args, Reply& reply,
                            Deadline deadline) {
  if (std::string err = send(args, deadline); !err.empty()) return err;
  return read_reply(reply, deadline);
}

std::string Client::send(std::initializer_list<std::string_view> args, Deadline deadline) {
  if (!open()) return "not connected";
  out_.clear();
  append_command(out_, args);
  bool written = false;
  std::error_code ec;
  transport_->async_write(out_.data(), out_.size(), [&](const std::error_code& e, std::size_t) {
    written = true;
    ec = e;
  });
  if (!run_until(io_, deadline, [&] { return written; })) {
    transport_->cancel();
    run_until(io_, Clock::now() + std::chrono::seconds(1), [&] { return written; });
    return "timed out sending";
  }
  return ec ? ec.message() : std::string();
}

std::string Client::read_reply(Reply& reply, Deadline deadline) {
  std::error_code ec;
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
    if (!open()) return "not connected";
    transport_->async_read_some(buf_.data(), buf_.size(),
                                [&](const std::error_code& e, std::size_t k) {
                                  got = true;
                                  ec = e;
                                  n = k;
                                });
    if (!run_until(io_, deadline, [&] { return got; })) {
      transport_->cancel();
      run_until(io_, Clock::now() + std::chrono::seconds(1), [&] { return got; });
      return "timed out waiting for a reply";
    }
    if (ec) {
      if (std::string tls = transport_->tls_failure(ec); !tls.empty()) return tls;
      return ec == asio::error::eof ? "connection closed" : ec.message();
    }
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
  if (reading_ || !open()) return;
  reading_ = true;
  // The flag outlives this client: a read still pending when it is gone must not touch it.
  transport_->async_read_some(buf_.data(), buf_.size(),
                              [this, alive = alive_](const std::error_code& ec, std::size_t n) {
                                if (!*alive) return;
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
  if (transport_) transport_->close();
}

std::string authenticate(Client& c, const Server& server, Deadline deadline) {
  if (server.password.empty()) return {};
  Reply r;
  const std::string err = server.user.empty()
                              ? c.command({"AUTH", server.password}, r, deadline)
                              : c.command({"AUTH", server.user, server.password}, r, deadline);
  if (!err.empty()) return err;
  if (r.is_error()) return "AUTH failed: " + r.str;
  return {};
}

std::string connect_and_auth(Client& c, const Server& server, Deadline deadline) {
  if (const ConnectError e = c.connect(server.endpoint, deadline))
    return e.describe(server.endpoint);
  if (std::string err = authenticate(c, server, deadline); !err.empty())
    return server.endpoint.name() + ": " + err;
  return {};
}

std::string private_channel(std::string_view purpose) {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return "__redis-repl:" + std::string(purpose) + ":" + buf;
}

}  // namespace redis_repl::core::net
