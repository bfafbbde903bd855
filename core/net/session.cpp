#include "core/net/session.hpp"

#include <array>
#include <asio.hpp>
#include <memory>
#include <vector>

namespace redis_repl::core::net {
namespace {

using asio::ip::tcp;

class Session {
 public:
  Session(const Endpoint& endpoint, std::chrono::milliseconds connect_timeout, Replica& replica,
          SessionHandler& handler)
      : endpoint_(endpoint),
        connect_timeout_(connect_timeout),
        replica_(replica),
        handler_(handler),
        socket_(io_),
        connect_timer_(io_),
        ticker_(io_) {}

  SessionResult run() {
    connect();
    tick();
    io_.run();
    return result_;
  }

 private:
  void connect() {
    asio::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
    if (ec) return connect_failed("cannot resolve " + endpoint_.host + ": " + ec.message());
    connect_timer_.expires_after(connect_timeout_);
    connect_timer_.async_wait([this](const asio::error_code& e) {
      if (e || connected_) return;
      timed_out_ = true;
      socket_.close();  // the pending connect completes with operation_aborted
    });
    asio::async_connect(socket_, endpoints,
                        [this](const asio::error_code& e, const tcp::endpoint&) {
                          connect_timer_.cancel();
                          if (stopping_) return;
                          if (timed_out_) return connect_failed("timed out connecting");
                          if (e) return connect_failed(e.message());
                          connected_ = true;
                          socket_.set_option(tcp::no_delay(true));
                          pump();
                          read();
                          tick();
                        });
  }

  void connect_failed(std::string why) {
    result_.end = SessionEnd::connect_failed;
    result_.error = endpoint_.host + ":" + std::to_string(endpoint_.port) + ": " + why;
    stop();
  }

  void read() {
    socket_.async_read_some(asio::buffer(buf_), [this](const asio::error_code& ec, std::size_t n) {
      if (stopping_) return;
      if (ec) {
        // End of stream or a reset: either way the replica decides what it means.
        replica_.peer_closed();
      } else {
        // One clock read per socket read: every event these bytes complete carries it.
        replica_.set_wall_time(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
        replica_.receive(std::string_view(buf_.data(), n));
        // Whatever else has already arrived joins this batch (one write of output for all of
        // it), up to a few MB; the clock read above stands for all of it.
        asio::error_code more;
        for (int i = 0; i < 16 && socket_.available(more) > 0 && !more; ++i) {
          const std::size_t k = socket_.read_some(asio::buffer(buf_), more);
          if (more) break;  // the next asynchronous read meets it again
          replica_.receive(std::string_view(buf_.data(), k));
        }
      }
      pump();
      if (!stopping_ && !ec) read();
    });
  }

  void tick() {
    ticker_.expires_after(std::chrono::milliseconds(100));
    ticker_.async_wait([this](const asio::error_code& ec) {
      if (ec || stopping_) return;
      if (connected_) pump();
      if (!stopping_ && handler_.wants_stop()) {
        result_.end = SessionEnd::stopped;
        stop();
      }
      if (!stopping_) tick();
    });
  }

  // Drains every event the replica has, writes them out, then sends what the replica wants sent.
  void pump() {
    replica_.tick(Clock::now());
    for (;;) {
      const Event e = replica_.next_event();
      if (e.kind == Event::Kind::need_data) break;
      const bool more = handler_.on_event(e);
      if (e.kind == Event::Kind::failed || e.kind == Event::Kind::done) {
        result_.end = SessionEnd::finished;
        finishing_ = true;
        break;
      }
      if (!more) {
        result_.end = SessionEnd::stopped;
        finishing_ = true;
        break;
      }
    }
    const std::int64_t written = handler_.on_batch_end();
    if (written >= 0) replica_.confirm(written);
    write();
    if (finishing_) stop_after_write();
  }

  void write() {
    if (writing_ || !connected_ || stopping_) return;
    out_ = replica_.take_output();
    if (out_.empty()) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_), [this](const asio::error_code& ec, std::size_t) {
      writing_ = false;
      if (stopping_) return;
      if (ec) {
        replica_.peer_closed();
        pump();
        return;
      }
      if (finishing_) return stop();
      write();
    });
  }

  // A last ACK may be on its way out: let it go, then stop.
  void stop_after_write() {
    if (!writing_) stop();
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    asio::error_code ignored;
    connect_timer_.cancel();
    ticker_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  const Endpoint& endpoint_;
  std::chrono::milliseconds connect_timeout_;
  Replica& replica_;
  SessionHandler& handler_;
  asio::io_context io_{1};
  tcp::socket socket_;
  asio::steady_timer connect_timer_;
  asio::steady_timer ticker_;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);  // one read, one batch of output
  std::string out_;
  bool connected_ = false;
  bool timed_out_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  bool stopping_ = false;
  SessionResult result_;
};

}  // namespace

SessionResult run_session(const Endpoint& endpoint, std::chrono::milliseconds connect_timeout,
                          Replica& replica, SessionHandler& handler) {
  Session s(endpoint, connect_timeout, replica, handler);
  return s.run();
}

}  // namespace redis_repl::core::net
