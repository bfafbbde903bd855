#include "core/net/session.hpp"

#include <asio.hpp>
#include <deque>
#include <memory>
#include <optional>
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

namespace {

// The feed held in memory, up to held_in_memory_max.
class MemoryHold final : public FeedHold {
 public:
  bool push(std::string_view bytes) override {
    if (size_ + bytes.size() > held_in_memory_max) {
      why_ = "the feed that arrived during the snapshot passed " +
             std::to_string(held_in_memory_max >> 20) + " MiB (held in memory)";
      return false;
    }
    size_ += bytes.size();
    blocks_.emplace_back(bytes);
    return true;
  }
  bool pull(std::string& block, std::size_t) override {
    if (blocks_.empty()) return false;
    block = std::move(blocks_.front());
    blocks_.pop_front();
    size_ -= block.size();
    return true;
  }
  std::string why() const override { return why_; }

 private:
  std::deque<std::string> blocks_;
  std::uint64_t size_ = 0;
  std::string why_;
};

}  // namespace

struct Link::Impl : std::enable_shared_from_this<Link::Impl> {
  // One connection: the main one, or the second one of a two-connection sync.
  struct Channel {
    std::shared_ptr<Transport> transport;
    Replica* replica = nullptr;
    std::vector<char> buf;
    std::string out;
    unsigned generation = 0;  // callbacks of an older connection are ignored
    bool connected = false;
    bool writing = false;
    bool write_failed = false;
  };

  Impl(asio::io_context& io, const Server& server, Replica& replica, SessionHandler& handler)
      : io_(io), server_(server), replica_(replica), handler_(handler), ticker_(io) {
    main_.replica = &replica_;
    main_.buf.resize(256 * 1024);  // one read, one batch of output
  }

  Channel& chan(bool rdb) { return rdb ? rdb_ : main_; }

  void start() {
    connect(false);
    tick();
  }

  void connect(bool rdb) {
    Channel& c = chan(rdb);
    c.transport = make_transport(io_, server_.endpoint);
    c.connected = c.writing = c.write_failed = false;
    c.out.clear();
    const unsigned g = ++c.generation;
    c.transport->async_connect(server_.timeout,
                               [self = shared_from_this(), rdb, g](const ConnectError& e) {
                                 if (self->stopping_ || self->chan(rdb).generation != g) return;
                                 if (e) {
                                   if (rdb)
                                     return self->rdb_lost(e.describe(self->server_.endpoint));
                                   return self->connect_failed(e);
                                 }
                                 self->chan(rdb).connected = true;
                                 if (!rdb) self->handler_.on_connected();
                                 self->pump();
                                 self->read(rdb);
                               });
  }

  void connect_failed(const ConnectError& e) {
    result_.end =
        e.kind == ConnectError::Kind::tls ? SessionEnd::tls_failed : SessionEnd::connect_failed;
    result_.error = e.describe(server_.endpoint);
    stop();
  }

  void read(bool rdb) {
    Channel& c = chan(rdb);
    const unsigned g = c.generation;
    c.transport->async_read_some(
        c.buf.data(), c.buf.size(),
        [self = shared_from_this(), rdb, g](const std::error_code& ec, std::size_t n) {
          if (self->stopping_ || self->chan(rdb).generation != g) return;
          self->on_read(rdb, ec, n);
        });
  }

  void on_read(bool rdb, const std::error_code& ec, std::size_t n) {
    Channel& c = chan(rdb);
    const unsigned g = c.generation;
    if (ec && tls_failed(c, ec)) return;
    if (ec) {
      // End of stream or a reset: either way the replica decides what it means.
      c.replica->peer_closed();
    } else {
      // One clock read per socket read: every event these bytes complete carries it.
      c.replica->set_wall_time(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
      deliver(rdb, std::string_view(c.buf.data(), n));
      // Whatever else has already arrived joins this batch (one write of output for all of
      // it), up to a few MB; the clock read above stands for all of it.
      for (int i = 0; i < 16; ++i) {
        const std::size_t k = c.transport->read_ready(c.buf.data(), c.buf.size());
        if (k == 0) break;
        deliver(rdb, std::string_view(c.buf.data(), k));
      }
    }
    pump();
    if (stopping_ || ec || chan(rdb).generation != g || !chan(rdb).transport) return;
    // A paused rdb channel is not read: the snapshot waits in the master's socket, not here.
    if (rdb && rdb_paused_) {
      rdb_read_waiting_ = true;
      return;
    }
    read(rdb);
  }

  // Bytes of one connection to its replica; the main one's wait while the snapshot comes.
  void deliver(bool rdb, std::string_view bytes) {
    if (!rdb && replica_.awaiting_snapshot()) {
      if (!hold_failed_ && !hold().push(bytes)) hold_failed_ = true;
      return;
    }
    chan(rdb).replica->receive(bytes);
  }

  FeedHold& hold() {
    if (FeedHold* h = handler_.feed_hold()) return *h;
    if (!memory_hold_) memory_hold_ = std::make_unique<MemoryHold>();
    return *memory_hold_;
  }

  // An error of the TLS layer (an alert, a record that does not decrypt) ends the session as a
  // TLS failure, not as a lost link.
  bool tls_failed(Channel& c, const std::error_code& ec) {
    std::string why = c.transport->tls_failure(ec);
    if (why.empty()) return false;
    if (&c == &rdb_) {
      rdb_lost("TLS on the rdb channel: " + why);
      return true;
    }
    result_.end = SessionEnd::tls_failed;
    result_.error = std::move(why);
    stop();
    return true;
  }

  void tick() {
    ticker_.expires_after(std::chrono::milliseconds(100));
    ticker_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (ec || self->stopping_) return;
      if (self->main_.connected) self->pump();
      if (!self->stopping_ && self->handler_.wants_stop()) {
        self->result_.end = SessionEnd::stopped;
        self->stop();
      }
      if (!self->stopping_) self->tick();
    });
  }

  // Hands one event to the handler; false when the session ends with it.
  bool hand_out(const Event& e) {
    const bool more = handler_.on_event(e);
    if (e.kind == Event::Kind::failed || e.kind == Event::Kind::done) {
      result_.end = SessionEnd::finished;
      finishing_ = true;
      return false;
    }
    if (!more) {
      result_.end = SessionEnd::stopped;
      finishing_ = true;
      return false;
    }
    return true;
  }

  // Drains every event the replicas have, writes them out, then sends what they want sent.
  void pump() {
    const auto now = Clock::now();
    replica_.tick(now);
    if (rdb_replica_) rdb_replica_->tick(now);
    if (rdb_replica_) drain_rdb();
    if (!finishing_ && !stopping_) drain_main();
    if (hold_failed_ && !finishing_) {
      Event f;
      f.kind = Event::Kind::failed;
      f.fail_kind = FailKind::protocol;
      f.error = Error{Errc::limit_exceeded, hold().why(), 0};
      hand_out(f);
    }
    if (stopping_) return;
    const std::int64_t written = handler_.on_batch_end();
    if (written >= 0) replica_.confirm(written);
    write(false);
    if (rdb_replica_) write(true);
    // A last ACK may be on its way out: let it go, then stop.
    if (finishing_ && !main_.writing) stop();
  }

  void drain_main() {
    for (;;) {
      const Event e = replica_.next_event();
      if (e.kind == Event::Kind::need_data) break;
      if (e.kind == Event::Kind::open_rdb_channel) {
        open_rdb_channel();
        continue;
      }
      if (e.kind == Event::Kind::failed && can_fall_back()) {
        fall_back("the main connection: " + e.error.message);
        return;
      }
      if (!hand_out(e)) break;
    }
    // Valkey: the main connection is joined to the snapshot; let the snapshot come.
    if (rdb_paused_ && replica_.linked()) {
      rdb_paused_ = false;
      snapshot_started_ = true;
      if (hand_out(pending_sync_)) drain_rdb();
      if (rdb_read_waiting_ && rdb_.transport && !stopping_) {
        rdb_read_waiting_ = false;
        read(true);
      }
    }
  }

  void drain_rdb() {
    while (rdb_replica_ && !rdb_paused_ && !finishing_ && !stopping_) {
      const Event e = rdb_replica_->next_event();
      if (e.kind == Event::Kind::need_data) break;
      switch (e.kind) {
        case Event::Kind::full_resync:
          replica_.rdb_channel_synced(e);
          if (!replica_.linked()) {
            // Valkey: the snapshot waits (unread) until the main connection is joined to it,
            // so that a refusal there can still fall back with nothing handed out.
            rdb_paused_ = true;
            pending_sync_ = e;
            return;
          }
          snapshot_started_ = true;
          if (!hand_out(e)) return;
          break;
        case Event::Kind::failed:
          if (can_fall_back()) return fall_back("the rdb channel: " + e.error.message);
          hand_out(e);
          return;
        case Event::Kind::done: {
          const std::optional<std::uint64_t> db = rdb_replica_->stream_db();
          close_rdb_channel();
          if (!replica_.awaiting_snapshot()) {  // rdb-only: the snapshot was all
            hand_out(e);
            return;
          }
          replica_.snapshot_complete(db);
          release_held();
          return;
        }
        default:
          if (!hand_out(e)) return;
      }
    }
  }

  // The held feed goes to the main replica, block by block, each handed out before the next.
  void release_held() {
    drain_main();
    std::string block;
    while (!finishing_ && !stopping_ && !hold_failed_ && hold().pull(block, 1 << 20)) {
      replica_.receive(block);
      drain_main();
    }
    // Nothing left, or nothing more could be read back: never a silent gap in the feed.
    if (!hold().why().empty() && !finishing_ && !stopping_) hold_failed_ = true;
  }

  bool can_fall_back() const { return rdb_opened_ && !snapshot_started_; }

  void open_rdb_channel() {
    rdb_opened_ = true;
    rdb_replica_ = std::make_unique<Replica>(replica_.rdb_channel_config(),
                                             replica_.snapshot_visitor(), Clock::now());
    if (replica_.payload_tap()) rdb_replica_->set_payload_tap(replica_.payload_tap());
    rdb_.replica = rdb_replica_.get();
    if (rdb_.buf.empty()) rdb_.buf.resize(256 * 1024);
    connect(true);
  }

  void close_rdb_channel() {
    if (rdb_.transport) rdb_.transport->close();
    ++rdb_.generation;
    rdb_.connected = false;
    rdb_.transport.reset();
    rdb_.replica = nullptr;
    rdb_replica_.reset();
  }

  // The second connection went away while it was being set up (or before it could connect).
  void rdb_lost(const std::string& why) {
    if (stopping_) return;
    if (can_fall_back()) return fall_back("the rdb channel: " + why);
    if (rdb_replica_) rdb_replica_->peer_closed();
    pump();
  }

  // One connection from now on: the main connection starts again, without the capability.
  void fall_back(const std::string& why) {
    handler_.on_fallback(why);
    close_rdb_channel();
    rdb_paused_ = false;
    rdb_read_waiting_ = false;
    rdb_opened_ = false;
    if (main_.transport) main_.transport->close();
    replica_.restart_one_connection(Clock::now());
    connect(false);
  }

  void write(bool rdb) {
    Channel& c = chan(rdb);
    if (c.writing || c.write_failed || !c.connected || stopping_ || !c.transport) return;
    c.out = c.replica->take_output();
    if (c.out.empty()) return;
    c.writing = true;
    const unsigned g = c.generation;
    c.transport->async_write(
        c.out.data(), c.out.size(),
        [self = shared_from_this(), rdb, g](const std::error_code& ec, std::size_t) {
          Channel& ch = self->chan(rdb);
          if (ch.generation != g) return;
          ch.writing = false;
          if (self->stopping_) return;
          if (ec && self->tls_failed(ch, ec)) return;
          if (ec) {
            // The pending read meets the end too, and what came before it (a TLS alert, an
            // error reply): it reports.
            ch.write_failed = true;
            return;
          }
          if (!rdb && self->finishing_) return self->stop();
          self->write(rdb);
        });
  }

  void stop() {
    if (stopping_) return;
    stopping_ = true;
    ticker_.cancel();
    if (main_.transport) main_.transport->close();
    if (rdb_.transport) rdb_.transport->close();
  }

  asio::io_context& io_;
  Server server_;
  Replica& replica_;
  SessionHandler& handler_;
  asio::steady_timer ticker_;
  Channel main_;
  Channel rdb_;
  std::unique_ptr<Replica> rdb_replica_;
  std::unique_ptr<MemoryHold> memory_hold_;
  Event pending_sync_;             // Valkey: the rdb channel's sync, handed out once linked
  bool rdb_opened_ = false;        // a two-connection sync is under way
  bool rdb_paused_ = false;        // the rdb channel waits for the main one to be joined
  bool rdb_read_waiting_ = false;  // its next read is held back while it waits
  bool snapshot_started_ = false;  // a snapshot event was handed out: no fallback from here
  bool hold_failed_ = false;
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
