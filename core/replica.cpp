#include "core/replica.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/bytes.hpp"
#include "core/rdb_filter.hpp"
#include "core/resp_writer.hpp"

namespace redis_repl::core {

// The repl_state steps of replication.c that a replica goes through after connecting.
enum class Replica::Phase : std::uint8_t {
  receive_ping_reply,           // REPL_STATE_RECEIVE_PING_REPLY
  receive_handshake_replies,    // REPL_STATE_RECEIVE_AUTH_REPLY ... _CAPA_REPLY
  receive_psync_reply,          // REPL_STATE_RECEIVE_PSYNC_REPLY
  await_rdb_channel,            // main: the rdb channel is being set up on a second connection
  receive_rdb_client_id_reply,  // main (Valkey): REPLCONF set-rdb-client-id sent
  receive_payload_header,       // REPL_STATE_TRANSFER, before the $ line
  transfer,                     // REPL_STATE_TRANSFER, payload bytes
  transfer_mark,                // the 40-byte mark that ends a diskless payload
  connected,                    // REPL_STATE_CONNECTED: the command stream
  done,
  failed,
};

struct Replica::HandshakeStep {
  std::string what;  // "AUTH", "REPLCONF capa", ...
  bool tolerated;    // an error reply is logged by Redis as non-critical and the handshake goes on
};

// Passes every snapshot fact on, keeping the aux field the stream needs: repl-stream-db.
class Replica::AuxWatcher final : public FilterVisitor {
 public:
  explicit AuxWatcher(RdbVisitor& inner) : FilterVisitor(no_filter_, inner) {}
  Flow on_aux(std::string_view field, std::string_view value) override {
    if (field == "repl-stream-db") {
      std::uint64_t db = 0;
      if (parse_decimal(value, db)) stream_db = db;
    }
    return FilterVisitor::on_aux(field, value);
  }
  std::optional<std::uint64_t> stream_db;

 private:
  static inline const KeyFilter no_filter_{};
};

namespace {

constexpr std::size_t eof_mark_size = 40;

// The largest replication offset a +FULLRESYNC may start from: half the range, so the offsets
// counted from it (64-bit, signed) cannot overflow in any stream there will ever be.
constexpr std::int64_t max_start_offset = std::numeric_limits<std::int64_t>::max() / 2;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool equals_nocase(std::string_view s, std::string_view lower) {
  return s.size() == lower.size() && starts_with_nocase(s, lower);
}

bool is_replid(std::string_view s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Replies that mean "not now" rather than "never".
bool transient_error(std::string_view line) {
  return line.starts_with("-LOADING") || line.starts_with("-NOMASTERLINK") ||
         line.starts_with("-MASTERDOWN") || line.starts_with("-BUSY");
}

}  // namespace

Replica::Replica(ReplicaConfig config, RdbVisitor& snapshot_visitor, Clock::time_point now)
    : config_(std::move(config)),
      watcher_(std::make_unique<AuxWatcher>(snapshot_visitor)),
      phase_(Phase::receive_ping_reply),
      now_(now),
      last_io_(now),
      last_ack_(now) {
  if (config_.channel == Channel::main) {
    send({"PING"});
  } else {
    // The rdb channel goes straight to AUTH and its one REPLCONF, as the servers' own replicas.
    send_handshake();
  }
}

ReplicaConfig Replica::rdb_channel_config() const {
  ReplicaConfig c;
  c.user = config_.user;
  c.password = config_.password;
  c.listening_port = config_.listening_port;
  c.announce_ip = config_.announce_ip;
  c.timeout = config_.timeout;
  c.max_newline_run = config_.max_newline_run;
  c.snapshot = ReplicaConfig::Snapshot::only;
  c.channel = offered_;
  c.main_client_id = main_client_id_;
  c.rdb_no_compress = config_.rdb_no_compress;
  return c;
}

RdbVisitor& Replica::snapshot_visitor() noexcept { return *watcher_; }

std::optional<std::uint64_t> Replica::stream_db() const noexcept { return watcher_->stream_db; }

void Replica::rdb_channel_synced(const Event& e) {
  if (phase_ != Phase::await_rdb_channel) return;
  replid_.assign(e.replid);
  stream_offset_ = e.offset;
  endoff_db_ = e.db;
  if (offered_ == Channel::valkey_rdb) {
    send({"REPLCONF", "set-rdb-client-id", e.channel_id});
    phase_ = Phase::receive_rdb_client_id_reply;
    last_io_ = now_;
    return;
  }
  // Redis streams the feed from the offset of +FULLRESYNC on the main connection, unasked.
  link();
}

void Replica::link() {
  linked_ = true;
  if (config_.snapshot == ReplicaConfig::Snapshot::only) {
    // Rdb-only: joined all the same, so that the master lets go of both connections once they
    // close (Valkey otherwise keeps the rdb channel's share of its backlog until a timeout);
    // the feed is not wanted and is dropped.
    discard_feed_ = true;
    lines_ = RespReader();
    return;
  }
  awaiting_snapshot_ = true;
  phase_ = Phase::connected;
  commands_.feed(lines_.take_buffered());
}

void Replica::snapshot_complete(std::optional<std::uint64_t> stream_db) {
  if (!awaiting_snapshot_) return;
  awaiting_snapshot_ = false;
  boundary_ = stream_offset_;
  last_write_end_ = boundary_;
  db_ = boundary_db_ = stream_db.value_or(endoff_db_);
  confirmed_ = boundary_;
  last_io_ = now_;
  // The first ACK: Valkey puts the main connection online with it.
  queue_ack(boundary_);
}

void Replica::restart_one_connection(Clock::time_point now) {
  config_.two_connections = false;
  phase_ = Phase::receive_ping_reply;
  steps_.clear();
  step_ = 0;
  lines_ = RespReader();
  commands_ = CommandReader();
  output_.clear();
  offered_ = Channel::main;
  main_client_id_.clear();
  linking_ = linked_ = awaiting_snapshot_ = discard_feed_ = false;
  replid_.clear();
  stream_offset_ = 0;
  boundary_ = -1;
  closed_ = false;
  newline_run_ = 0;
  now_ = last_io_ = last_ack_ = now;
  send({"PING"});
}

Replica::~Replica() = default;

bool Replica::streaming() const noexcept { return phase_ == Phase::connected; }

void Replica::send(std::initializer_list<std::string_view> args) { append_command(output_, args); }

void Replica::queue_ack(std::int64_t offset) {
  // Held back, the ACK stays below the end of the last write, PINGs and GETACKs after it
  // notwithstanding: a WAIT for the latest write, or a FAILOVER, is never satisfied by us.
  if (config_.ack_holdback > 0)
    offset = std::max<std::int64_t>(0, std::min(offset, last_write_end_) - config_.ack_holdback);
  send({"REPLCONF", "ACK", std::to_string(offset)});
  last_ack_ = now_;
}

void Replica::confirm(std::int64_t offset) noexcept { confirmed_ = std::max(confirmed_, offset); }

std::string Replica::take_output() {
  if (getack_offset_ >= 0 && phase_ == Phase::connected) {
    // REPLCONF GETACK is answered with the offset before the GETACK itself, as a Redis replica
    // does, once everything before it has been written out.
    queue_ack(std::min(getack_offset_, confirmed_));
    getack_offset_ = -1;
  }
  return std::move(output_);
}

void Replica::receive(std::string_view bytes) {
  if (bytes.empty() || discard_feed_) return;
  last_io_ = now_;
  switch (phase_) {
    case Phase::receive_ping_reply:
    case Phase::receive_handshake_replies:
    case Phase::receive_psync_reply:
    case Phase::receive_payload_header:
    case Phase::await_rdb_channel:
    case Phase::receive_rdb_client_id_reply:
      lines_.feed(bytes);
      break;
    case Phase::transfer:
    case Phase::transfer_mark:
      after_rdb_.append(bytes);
      break;
    case Phase::connected:
      awaiting_stream_ = false;
      commands_.feed(bytes);
      break;
    case Phase::done:
    case Phase::failed:
      break;
  }
}

void Replica::peer_closed() { closed_ = true; }

void Replica::tick(Clock::time_point now) {
  now_ = now;
  // After a diskless payload the master streams only once an ACK reaches it after it noticed
  // the fork's exit; an ACK sent earlier is lost. Until the first stream byte, ACK often.
  const auto period = awaiting_stream_ ? std::chrono::milliseconds(100) : config_.ack_period;
  if (phase_ == Phase::connected && !awaiting_snapshot_ && now_ - last_ack_ >= period) {
    // Everything handed out and confirmed; Redis's replicationCron sends one every second.
    queue_ack(confirmed_);
  }
}

std::optional<Event> Replica::keep_alive(std::uint64_t bytes) {
  newline_run_ += bytes;
  if (newline_run_ <= config_.max_newline_run) return std::nullopt;
  return fail(FailKind::protocol, Errc::protocol,
              "more than " + std::to_string(config_.max_newline_run) +
                  " bytes of keep-alive newlines in a row, where a master sends about one a "
                  "second: the peer is not behaving as a Redis master");
}

Event Replica::fail(FailKind kind, Errc code, std::string message) {
  phase_ = Phase::failed;
  Event e;
  e.kind = Event::Kind::failed;
  e.fail_kind = kind;
  e.error = Error{code, std::move(message),
                  static_cast<std::uint64_t>(std::max<std::int64_t>(stream_offset_, 0))};
  return e;
}

Event Replica::next_event() {
  // The feed waits for the snapshot of the other connection, which has its own timeout.
  if (awaiting_snapshot_ || discard_feed_ || phase_ == Phase::await_rdb_channel) return Event{};
  for (;;) {
    switch (phase_) {
      case Phase::await_rdb_channel:
        return Event{};
      case Phase::receive_rdb_client_id_reply:
      case Phase::receive_ping_reply:
      case Phase::receive_handshake_replies:
      case Phase::receive_psync_reply:
      case Phase::receive_payload_header: {
        std::string line;
        std::uint64_t size = 0;
        const ReadStatus s = lines_.next_line(line, size);
        if (s == ReadStatus::failed)
          return fail(FailKind::protocol, Errc::protocol, lines_.error().message);
        if (s == ReadStatus::need_more) break;
        if (line.empty()) {  // a keep-alive newline: it refreshed the timeout, nothing more
          if (std::optional<Event> f = keep_alive(size)) return *f;
          continue;
        }
        newline_run_ = 0;
        Event e = phase_ == Phase::receive_psync_reply           ? psync_reply(line)
                  : phase_ == Phase::receive_payload_header      ? payload_header(line)
                  : phase_ == Phase::receive_rdb_client_id_reply ? rdb_client_id_reply(line)
                                                                 : handshake_reply(line);
        if (e.kind != Event::Kind::need_data) return e;
        continue;
      }
      case Phase::transfer:
      case Phase::transfer_mark: {
        Event e = transfer();
        if (e.kind != Event::Kind::need_data) return e;
        break;
      }
      case Phase::connected: {
        if (awaiting_snapshot_) return Event{};  // just linked: the feed waits
        Event e = stream_command();
        if (e.kind != Event::Kind::need_data) return e;
        break;
      }
      case Phase::done:
        if (!done_reported_) {
          done_reported_ = true;
          Event e;
          e.kind = Event::Kind::done;
          return e;
        }
        return Event{};
      case Phase::failed:
        return Event{};
    }
    // Nothing more from the bytes at hand.
    if (closed_) {
      const char* where = phase_ == Phase::connected ? "the command stream"
                          : phase_ == Phase::transfer || phase_ == Phase::transfer_mark
                              ? "the snapshot transfer"
                              : "the handshake";
      return fail(FailKind::closed, Errc::protocol,
                  std::string("the master closed the connection during ") + where);
    }
    if (now_ - last_io_ >= config_.timeout) {
      return fail(FailKind::timeout, Errc::protocol,
                  phase_ == Phase::connected
                      ? "no data nor PING from the master for " +
                            std::to_string(config_.timeout.count() / 1000) + " s"
                      : "timed out waiting for the master");
    }
    return Event{};
  }
}

// ---- handshake ------------------------------------------------------------------------------

Event Replica::handshake_reply(std::string_view line) {
  if (phase_ == Phase::receive_ping_reply) {
    // Redis accepts an authentication error here: PING only proves the link is alive.
    const bool ok = line.front() == '+' || line.starts_with("-NOAUTH") ||
                    line.starts_with("-NOPERM") || line.starts_with("-ERR operation not permitted");
    if (!ok) {
      if (transient_error(line))
        return fail(FailKind::transient, Errc::protocol, "PING: " + std::string(line.substr(1)));
      return fail(FailKind::protocol, Errc::protocol,
                  "unexpected reply to PING: '" + std::string(line) + "'");
    }
    send_handshake();
    return Event{};
  }
  const HandshakeStep& step = steps_[step_];
  if (line.front() == '-') {
    if (line.starts_with("-NOPERM"))
      return fail(FailKind::permission, Errc::protocol,
                  step.what + ": permission refused: " + std::string(line.substr(1)));
    if (line.starts_with("-NOAUTH"))
      return fail(FailKind::auth, Errc::protocol,
                  "the master requires authentication (" + std::string(line.substr(1)) + ")");
    if (!step.tolerated)
      return fail(step.what == "AUTH" ? FailKind::auth : FailKind::protocol, Errc::protocol,
                  step.what + " failed: " + std::string(line.substr(1)));
  } else if (line.front() != '+') {
    return fail(FailKind::protocol, Errc::protocol,
                "unexpected reply to " + step.what + ": '" + std::string(line) + "'");
  }
  if (++step_ < steps_.size()) return Event{};
  // Every reply is in: only now may PSYNC go out (Redis refuses it behind pending output).
  if (config_.channel == Channel::valkey_rdb) {
    send({"SYNC"});
  } else if (config_.channel == Channel::main && config_.replid != "?" && config_.offset >= 0) {
    send({"PSYNC", config_.replid, std::to_string(config_.offset + 1)});
  } else {
    send({"PSYNC", "?", "-1"});
  }
  phase_ = Phase::receive_psync_reply;
  return Event{};
}

void Replica::send_handshake() {
  // AUTH and every REPLCONF go out together; their replies are read in order (Redis 6.2+).
  {
    if (!config_.password.empty()) {
      if (config_.user.empty()) {
        send({"AUTH", config_.password});
      } else {
        send({"AUTH", config_.user, config_.password});
      }
      steps_.push_back({"AUTH", false});
    }
    if (config_.channel != Channel::main) {
      // One REPLCONF says it all; the same listening-port and ip-address as the main connection,
      // so that one replica is listed. An error: the master will not do it (fall back).
      std::vector<std::string> args{"REPLCONF", "capa", "eof", "rdb-only", "1", "rdb-channel", "1"};
      if (config_.channel == Channel::redis_rdb) {
        args.push_back("main-ch-client-id");
        args.push_back(config_.main_client_id);
      }
      args.push_back("listening-port");
      args.push_back(std::to_string(config_.listening_port));
      if (!config_.announce_ip.empty()) {
        args.push_back("ip-address");
        args.push_back(config_.announce_ip);
      }
      append_command(output_, std::span<const std::string>(args));
      steps_.push_back({"REPLCONF rdb-channel", false});
      if (config_.rdb_no_compress) {
        send({"REPLCONF", "rdb-no-compress", "1"});
        steps_.push_back({"REPLCONF rdb-no-compress", true});
      }
      phase_ = Phase::receive_handshake_replies;
      return;
    }
    if (config_.listening_port) {
      send({"REPLCONF", "listening-port", std::to_string(config_.listening_port)});
      steps_.push_back({"REPLCONF listening-port", true});
    }
    if (!config_.announce_ip.empty()) {
      send({"REPLCONF", "ip-address", config_.announce_ip});  // Redis 4.0+; tolerated
      steps_.push_back({"REPLCONF ip-address", true});
    }
    if (config_.two_connections) {
      send({"REPLCONF", "capa", "eof", "capa", "psync2", "capa", "dual-channel", "capa",
            "rdb-channel-repl"});
    } else {
      send({"REPLCONF", "capa", "eof", "capa", "psync2"});
    }
    steps_.push_back({"REPLCONF capa", true});
    if (config_.snapshot == ReplicaConfig::Snapshot::only) {
      send({"REPLCONF", "rdb-only", "1"});  // Redis 6.2+; older masters say -ERR, tolerated
      steps_.push_back({"REPLCONF rdb-only", true});
    } else if (config_.snapshot == ReplicaConfig::Snapshot::empty) {
      send({"REPLCONF", "rdb-filter-only", ""});  // Redis 7.0+; older ones send everything
      steps_.push_back({"REPLCONF rdb-filter-only", true});
    }
    if (config_.rdb_no_compress && config_.snapshot != ReplicaConfig::Snapshot::empty) {
      send({"REPLCONF", "rdb-no-compress", "1"});  // Redis 8.2+; others say -ERR, tolerated
      steps_.push_back({"REPLCONF rdb-no-compress", true});
    }
    phase_ = Phase::receive_handshake_replies;
  }
}

// Keep-alive newlines can precede +FULLRESYNC; next_event() has taken them.
Event Replica::psync_reply(std::string_view line) {
  if (config_.channel == Channel::valkey_rdb) return endoff_reply(line);
  if (linking_) {
    // Valkey: the PSYNC that joins this connection to the rdb channel's snapshot.
    linking_ = false;
    const std::string_view id = line.size() > 10 ? line.substr(10) : std::string_view(replid_);
    if ((line != "+CONTINUE" && !line.starts_with("+CONTINUE ")) || id != replid_)
      return fail(FailKind::protocol, Errc::protocol,
                  "the master did not continue from its rdb channel's snapshot (PSYNC " + replid_ +
                      " " + std::to_string(stream_offset_ + 1) + "): '" + std::string(line) + "'");
    link();
    return Event{};
  }
  if (config_.channel == Channel::main && config_.two_connections &&
      (line == "+DUALCHANNELSYNC" || line.starts_with("+RDBCHANNELSYNC"))) {
    Event e;
    e.kind = Event::Kind::open_rdb_channel;
    e.ts_ms = wall_ms_;
    if (line == "+DUALCHANNELSYNC") {
      offered_ = Channel::valkey_rdb;
    } else {
      std::uint64_t id = 0;
      if (line.size() < 17 || line[15] != ' ' || !parse_decimal(line.substr(16), id))
        return fail(FailKind::protocol, Errc::protocol,
                    "malformed reply to PSYNC: '" + std::string(line) + "'");
      offered_ = Channel::redis_rdb;
      main_client_id_.assign(line.substr(16));
      e.channel_id = main_client_id_;
    }
    phase_ = Phase::await_rdb_channel;
    return e;
  }
  if (line.starts_with("+FULLRESYNC")) {
    const std::string_view rest = line.substr(std::min<std::size_t>(line.size(), 12));
    const std::size_t sp = rest.find(' ');
    const std::string_view id = rest.substr(0, sp);
    std::int64_t offset = -1;
    if (sp == std::string_view::npos || !is_replid(id) ||
        !parse_decimal(rest.substr(sp + 1), offset) || offset < 0 || offset > max_start_offset)
      return fail(FailKind::protocol, Errc::protocol,
                  "malformed reply to PSYNC: '" + std::string(line) + "'");
    return begin_snapshot(id, offset);
  }
  if (line == "+CONTINUE" || line.starts_with("+CONTINUE ")) {
    if (config_.replid == "?" || config_.offset < 0)
      return fail(FailKind::protocol, Errc::protocol, "+CONTINUE to a request for a full sync");
    const std::string_view id =
        line.size() > 10 ? line.substr(10) : std::string_view(config_.replid);
    if (!is_replid(id))
      return fail(FailKind::protocol, Errc::protocol,
                  "malformed reply to PSYNC: '" + std::string(line) + "'");
    Event e;
    e.kind = Event::Kind::partial_resync;
    e.ts_ms = wall_ms_;
    e.new_replid = id != config_.replid;
    replid_.assign(id);
    stream_offset_ = config_.offset;
    boundary_ = config_.offset;
    last_write_end_ = boundary_;
    db_ = boundary_db_ = config_.db;  // no SELECT is resent after +CONTINUE
    confirmed_ = boundary_;
    phase_ = Phase::connected;
    commands_.feed(lines_.take_buffered());
    e.replid = replid_;
    e.offset = config_.offset;
    return e;
  }
  if (transient_error(line))
    return fail(FailKind::transient, Errc::protocol, "PSYNC: " + std::string(line.substr(1)));
  if (line.starts_with("-NOAUTH"))
    return fail(FailKind::auth, Errc::protocol,
                "the master requires authentication (" + std::string(line.substr(1)) + ")");
  if (line.starts_with("-NOPERM"))
    return fail(FailKind::permission, Errc::protocol,
                "PSYNC: permission refused: " + std::string(line.substr(1)));
  return fail(FailKind::protocol, Errc::protocol,
              "unexpected reply to PSYNC: '" + std::string(line) + "'");
}

// Valkey's rdb channel: "$ENDOFF:<offset> <replid> <dbid> <rdb-client-id>" (keep-alive
// newlines before it are taken by next_event()); the snapshot's $EOF: line follows.
Event Replica::endoff_reply(std::string_view line) {
  auto malformed = [&] {
    return fail(
        FailKind::protocol, Errc::protocol,
        "malformed reply to SYNC on the rdb channel: '" + std::string(line.substr(0, 120)) + "'");
  };
  if (line.front() == '-') {
    if (transient_error(line))
      return fail(FailKind::transient, Errc::protocol, "SYNC: " + std::string(line.substr(1)));
    return fail(FailKind::protocol, Errc::protocol,
                "SYNC on the rdb channel refused: " + std::string(line.substr(1)));
  }
  if (!line.starts_with("$ENDOFF:")) return malformed();
  std::string_view fields[4];
  std::string_view rest = line.substr(8);
  for (int i = 0; i < 4; ++i) {
    const std::size_t sp = i < 3 ? rest.find(' ') : rest.size();
    if (sp == std::string_view::npos || sp == 0) return malformed();
    fields[i] = rest.substr(0, sp);
    rest = rest.substr(std::min(rest.size(), sp + 1));
  }
  std::int64_t offset = -1;
  std::uint64_t db = 0, client = 0;
  if (!parse_decimal(fields[0], offset) || offset < 0 || offset > max_start_offset ||
      !is_replid(fields[1]) || !parse_decimal(fields[2], db) || !parse_decimal(fields[3], client))
    return malformed();
  main_client_id_.assign(fields[3]);  // here: the rdb client id, for the main connection
  Event e = begin_snapshot(fields[1], offset);
  e.db = db;
  e.channel_id = main_client_id_;
  return e;
}

// A full resync announced (+FULLRESYNC, or Valkey's $ENDOFF on the rdb channel): the snapshot's
// payload comes next. The boundary moves only once the snapshot is in: a link lost mid-transfer
// resumes nothing.
Event Replica::begin_snapshot(std::string_view replid, std::int64_t offset) {
  replid_.assign(replid);
  stream_offset_ = offset;
  phase_ = Phase::receive_payload_header;
  Event e;
  e.kind = Event::Kind::full_resync;
  e.ts_ms = wall_ms_;
  e.replid = replid_;
  e.offset = offset;
  return e;
}

// Valkey's main connection: the reply to REPLCONF set-rdb-client-id.
Event Replica::rdb_client_id_reply(std::string_view line) {
  if (line.front() != '+')
    return fail(FailKind::protocol, Errc::protocol,
                "REPLCONF set-rdb-client-id: " + std::string(line.substr(line.front() == '-')));
  send({"PSYNC", replid_, std::to_string(stream_offset_ + 1)});
  linking_ = true;
  phase_ = Phase::receive_psync_reply;
  return Event{};
}

// Keep-alive newlines while the master forks; next_event() has taken them.
Event Replica::payload_header(std::string_view line) {
  if (line.front() == '-')
    return fail(FailKind::protocol, Errc::protocol,
                "the master aborted the transfer: " + std::string(line.substr(1)));
  Event e;
  e.kind = Event::Kind::transfer_begin;
  if (line.starts_with("$EOF:")) {
    if (line.size() < 5 + eof_mark_size)
      return fail(FailKind::protocol, Errc::protocol, "EOF mark shorter than 40 bytes");
    eof_mark_mode_ = true;
    eof_mark_.assign(line.substr(5, eof_mark_size));
    e.eof_mark = true;
  } else if (line.front() == '$' && parse_decimal(line.substr(1), payload_left_)) {
    e.length = payload_left_;
  } else {
    return fail(FailKind::protocol, Errc::protocol,
                "expected the snapshot's $ line, got '" + std::string(line.substr(0, 60)) + "'");
  }
  rdb_ = std::make_unique<RdbParser>(*watcher_);
  after_rdb_ = lines_.take_buffered();
  phase_ = Phase::transfer;
  return e;
}

// ---- the snapshot ---------------------------------------------------------------------------

Event Replica::transfer() {
  if (phase_ == Phase::transfer) {
    if (after_rdb_.empty()) return Event{};
    std::string_view piece = after_rdb_;
    if (!eof_mark_mode_)
      piece = piece.substr(0, std::min<std::uint64_t>(piece.size(), payload_left_));
    core::Step step = rdb_->feed(piece);
    while (step == core::Step::stopped) step = rdb_->feed({});
    if (!eof_mark_mode_) payload_left_ -= piece.size();
    payload_bytes_ += piece.size();
    std::string rest = after_rdb_.substr(piece.size());
    if (step == core::Step::failed)
      return fail(
          FailKind::rdb, rdb_->error().code,
          "snapshot byte " + std::to_string(rdb_->error().offset) + ": " + rdb_->error().message);
    if (tap_)
      tap_(
          piece.substr(0, piece.size() - (step == core::Step::done ? rdb_->trailing().size() : 0)));
    if (step == core::Step::done) {
      // Bytes the parser was given past the RDB's end: the mark, or stream bytes.
      std::string trailing(rdb_->trailing());
      payload_bytes_ -= trailing.size();
      if (!eof_mark_mode_ && (payload_left_ != 0 || !trailing.empty()))
        return fail(FailKind::protocol, Errc::protocol,
                    "the RDB ends before the payload length the master announced");
      after_rdb_ = trailing + rest;
      phase_ = Phase::transfer_mark;
      if (!eof_mark_mode_) {
        eof_mark_.clear();
      }
    } else {
      after_rdb_ = std::move(rest);
      if (!eof_mark_mode_ && payload_left_ == 0) {
        rdb_->finish();
        return fail(FailKind::rdb, Errc::rdb_truncated,
                    "the payload ends inside the RDB: " + rdb_->error().message);
      }
      return Event{};
    }
  }
  // transfer_mark
  if (after_rdb_.size() < eof_mark_.size()) return Event{};
  if (after_rdb_.compare(0, eof_mark_.size(), eof_mark_) != 0)
    return fail(FailKind::protocol, Errc::protocol, "the snapshot is not followed by its EOF mark");
  Event e;
  e.kind = Event::Kind::transfer_end;
  e.ts_ms = wall_ms_;
  e.offset = stream_offset_;
  e.length = payload_bytes_;
  start_stream(std::string_view(after_rdb_).substr(eof_mark_.size()));
  after_rdb_.clear();
  after_rdb_.shrink_to_fit();
  rdb_.reset();
  return e;
}

void Replica::start_stream(std::string_view leftover) {
  if (config_.snapshot == ReplicaConfig::Snapshot::only) {
    phase_ = Phase::done;
    return;
  }
  phase_ = Phase::connected;
  boundary_ = stream_offset_;
  last_write_end_ = boundary_;
  // A chained replica's stream may start without SELECT: the RDB says which db is current.
  db_ = boundary_db_ = watcher_->stream_db.value_or(0);
  confirmed_ = boundary_;
  awaiting_stream_ = eof_mark_mode_ && leftover.empty();
  commands_.feed(leftover);
  // The first ACK right after the payload: a diskless master starts the stream only then.
  queue_ack(boundary_);
}

// ---- the command stream ---------------------------------------------------------------------

Event Replica::stream_command() {
  for (;;) {
    // A transaction is released whole, once its EXEC is in.
    if (!in_multi_ && release_ < held_.size()) {
      const HeldCommand& h = held_[release_++];
      views_.clear();
      for (std::size_t i = 0; i < h.args; ++i) {
        const auto [start, len] = held_args_[h.first_arg + i];
        views_.emplace_back(multi_bytes_.data() + start, len);
      }
      Event e;
      e.kind = Event::Kind::command;
      e.offset = h.offset;
      e.end_offset = h.end_offset;
      e.db = h.db;
      e.noise = h.noise;
      e.ts_ms = wall_ms_;  // the read that brought the EXEC
      e.args = views_;
      if (release_ == held_.size()) {
        // multi_bytes_ stays until the next MULTI: the views above point into it.
        release_ = 0;
        held_.clear();
        held_args_.clear();
      }
      return e;
    }
    StreamCommand& c = command_;
    const ReadStatus s = commands_.next(c);
    if (s == ReadStatus::need_more) return Event{};
    if (s == ReadStatus::failed)
      return fail(FailKind::protocol, Errc::protocol,
                  "command stream at offset " +
                      std::to_string(stream_offset_ + 1 +
                                     static_cast<std::int64_t>(commands_.error().offset -
                                                               commands_.consumed())) +
                      ": " + commands_.error().message);
    const std::int64_t first = stream_offset_ + 1;
    stream_offset_ += static_cast<std::int64_t>(c.size);
    if (c.args.empty()) {  // a bare newline: counted, nothing else
      if (!in_multi_) boundary_ = stream_offset_;
      if (std::optional<Event> f = keep_alive(c.size)) return *f;
      continue;
    }
    newline_run_ = 0;
    const std::string_view name = c.args[0];
    bool noise = false;
    bool exec = false;
    const bool keep_alive_command = equals_nocase(name, "ping") || equals_nocase(name, "replconf");
    if (!keep_alive_command) last_write_end_ = stream_offset_;
    if (equals_nocase(name, "ping")) {
      noise = true;
    } else if (equals_nocase(name, "replconf")) {
      noise = true;
      if (c.args.size() >= 2 && equals_nocase(c.args[1], "getack")) getack_offset_ = first - 1;
    } else if (equals_nocase(name, "select")) {
      noise = true;
      std::uint64_t db = 0;
      if (c.args.size() == 2 && parse_decimal(c.args[1], db)) db_ = db;
    } else if (equals_nocase(name, "multi")) {
      noise = true;
      if (!in_multi_) {
        in_multi_ = true;
        multi_bytes_.clear();
      }
    } else if (equals_nocase(name, "exec")) {
      noise = true;
      exec = in_multi_;
    } else if (equals_nocase(name, "publish") && c.args.size() >= 2 &&
               (c.args[1] == "__sentinel__:hello" || c.args[1].starts_with("__redis-repl:"))) {
      // Sentinel's hellos, lag-check's probes and our own db pin: housekeeping, not data.
      noise = true;
      // Sent from db 0: with no SELECT before it, the stream was in db 0 all along.
      if (db_ == unknown_db && !config_.pin_channel.empty() && c.args[1] == config_.pin_channel) {
        db_ = 0;
        for (HeldCommand& h : held_)  // the MULTI around the pin, not handed out yet
          if (h.db == unknown_db) h.db = 0;
      }
    }
    if (in_multi_) {
      held_.push_back(
          HeldCommand{held_args_.size(), c.args.size(), first, stream_offset_, db_, noise});
      for (std::string_view a : c.args) {
        held_args_.emplace_back(multi_bytes_.size(), a.size());
        multi_bytes_.append(a);
      }
      if (exec) {
        in_multi_ = false;
        boundary_ = stream_offset_;
        boundary_db_ = db_;
      }
      continue;  // the next turn hands out the transaction once EXEC is in
    }
    boundary_ = stream_offset_;
    boundary_db_ = db_;
    Event e;
    e.kind = Event::Kind::command;
    e.offset = first;
    e.end_offset = stream_offset_;
    e.db = db_;
    e.noise = noise;
    e.ts_ms = wall_ms_;
    e.args = c.args;
    return e;
  }
}

}  // namespace redis_repl::core
