#include "core/net/session.hpp"

#include <asio.hpp>
#include <vector>

#include "core/net/transport.hpp"

namespace redis_repl::core::net {

ReplicaConfig replica_config(const Server& server, ReplicaConfig::Snapshot snapshot) {
  ReplicaConfig config;
  config.user = server.user;
  config.password = server.password;
  config.timeout = server.timeout;
  config.snapshot = snapshot;
  config.announce_ip = std::string(inspector_host);
  return config;
}

struct Link::Impl : std::enable_shared_from_this<Link::Impl> {
  Impl(asio::io_context& io, const Server& server, Replica& replica, SessionHandler& handler)
      : server_(server),
        replica_(replica),
        handler_(handler),
        transport_(make_transport(io, server.endpoint)),
        ticker_(io) {}

  void start() {
    transport_->async_connect(server_.timeout, [self = shared_from_this()](const ConnectError& e) {
      if (self->stopping_) return;
      if (e) return self->connect_failed(e);
      self->connected_ = true;
      self->handler_.on_connected();
      self->pump();
      self->read();
    });
    tick();
  }

  void connect_failed(const ConnectError& e) {
    result_.end =
        e.kind == ConnectError::Kind::tls ? SessionEnd::tls_failed : SessionEnd::connect_failed;
    result_.error = e.describe(server_.endpoint);
    stop();
  }

  void read() {
    transport_->async_read_some(
        buf_.data(), buf_.size(),
        [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
          self->on_read(ec, n);
        });
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    if (stopping_) return;
    if (ec && tls_failed(ec)) return;
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
      for (int i = 0; i < 16; ++i) {
        const std::size_t k = transport_->read_ready(buf_.data(), buf_.size());
        if (k == 0) break;
        replica_.receive(std::string_view(buf_.data(), k));
      }
    }
    pump();
    if (!stopping_ && !ec) read();
  }

  // An error of the TLS layer (an alert, a record that does not decrypt) ends the session as a
  // TLS failure, not as a lost link.
  bool tls_failed(const std::error_code& ec) {
    std::string why = transport_->tls_failure(ec);
    if (why.empty()) return false;
    result_.end = SessionEnd::tls_failed;
    result_.error = std::move(why);
    stop();
    return true;
  }

  void tick() {
    ticker_.expires_after(std::chrono::milliseconds(100));
    ticker_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (ec || self->stopping_) return;
      if (self->connected_) self->pump();
      if (!self->stopping_ && self->handler_.wants_stop()) {
        self->result_.end = SessionEnd::stopped;
        self->stop();
      }
      if (!self->stopping_) self->tick();
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
    // A last ACK may be on its way out: let it go, then stop.
    if (finishing_ && !writing_) stop();
  }

  void write() {
    if (writing_ || write_failed_ || !connected_ || stopping_) return;
    out_ = replica_.take_output();
    if (out_.empty()) return;
    writing_ = true;
    transport_->async_write(out_.data(), out_.size(),
                            [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                              self->writing_ = false;
                              if (self->stopping_) return;
                              if (ec && self->tls_failed(ec)) return;
                              if (ec) {
                                // The pending read meets the end too, and what came before it
                                // (a TLS alert, an error reply): it reports.
                                self->write_failed_ = true;
                                return;
                              }
                              if (self->finishing_) return self->stop();
                              self->write();
                            });
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    ticker_.cancel();
    transport_->close();
  }

  Server server_;
  Replica& replica_;
  SessionHandler& handler_;
  std::shared_ptr<Transport> transport_;
  asio::steady_timer ticker_;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);  // one read, one batch of output
  std::string out_;
  bool connected_ = false;
  bool writing_ = false;
  bool write_failed_ = false;
  bool finishing_ = false;
  bool stopping_ = false;
  SessionResult result_;
};

Link::Link(asio::io_context& io, const Server& server, Replica& replica, SessionHandler& handler)
    : impl_(std::make_shared<Impl>(io, server, replica, handler)) {}

Link::~Link() { impl_->stop(); }

void Link::start() { impl_->start(); }
void Link::stop() { impl_->stop(); }
bool Link::finished() const { return impl_->stopping_; }
const SessionResult& Link::result() const { return impl_->result_; }

EventLoop::EventLoop() : io_(std::make_unique<asio::io_context>(1)) {}
EventLoop::~EventLoop() = default;

void EventLoop::run_for(std::chrono::milliseconds slice) {
  if (io_->stopped()) io_->restart();
  io_->run_for(slice);
}

SessionResult run_session(const Server& server, Replica& replica, SessionHandler& handler) {
  asio::io_context io(1);
  Link link(io, server, replica, handler);
  link.start();
  io.run();
  return link.result();
}

}  // namespace redis_repl::core::net
