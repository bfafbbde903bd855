// core/replica.hpp — the replica side of Redis replication, without I/O.
//
//   bytes from the master ─► receive() ─┐
//   the clock ─────────────► tick() ────┼─► next_event() ─► Event (+ RdbVisitor calls)
//   end of stream ─────────► peer_closed()
//   what was written out ──► confirm()
//   take_output() ─► bytes for the master (handshake, PSYNC, REPLCONF ACK)
//
// Phase names follow the repl_state steps of Redis's replication.c. The handshake is sent one
// step at a time (every reply read before PSYNC goes out); the snapshot is parsed straight off
// the wire; the command stream is cut byte-exactly, so each command carries the replication
// offsets of its first and last byte. Command events view into internal buffers and live until
// the next call. Nothing here blocks, sleeps or touches a socket.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/rdb_parser.hpp"
#include "core/resp_reader.hpp"

namespace redis_repl::core {

using Clock = std::chrono::steady_clock;

// A db nobody can name yet: after +CONTINUE the master does not repeat SELECT, so until the
// stream says it (a SELECT, or ReplicaConfig::pin_channel), the db of a command is unknown.
inline constexpr std::uint64_t unknown_db = ~std::uint64_t{0};

// The address our links announce with REPLCONF ip-address, so that the master lists us under it
// (INFO, ROLE). A name that never resolves (RFC 6761's .invalid): Redis Sentinel, which adds
// every replica the master lists to its own table, fails to resolve it and leaves us out (no
// "+slave", no "+sdown" once we are gone, no known-replica line in its configuration); it only
// logs "Failed to resolve hostname" at each INFO it reads from the master while we are linked.
inline constexpr std::string_view inspector_host = "redis-repl.invalid";

// Which connection of a sync a Replica drives. A full sync may take two (newest-servers.md §6):
// the main one carries the feed, a second one (the "rdb channel") only the snapshot. Valkey 8+
// answers PSYNC with +DUALCHANNELSYNC, Redis 8+ with +RDBCHANNELSYNC <main-client-id>; the
// driver then opens the second connection with rdb_channel_config().
enum class Channel : std::uint8_t {
  main,
  valkey_rdb,  // SYNC, answered by $ENDOFF:<offset> <replid> <dbid> <rdb-client-id>, then the RDB
  redis_rdb,   // PSYNC ? -1, answered by +FULLRESYNC <replid> <offset>, then the RDB
};

struct ReplicaConfig {
  std::string user;                  // ACL user; empty: AUTH <password> alone
  std::string password;              // empty: no AUTH
  std::uint16_t listening_port = 0;  // announced port; 0: REPLCONF listening-port is not sent
  std::string announce_ip;           // REPLCONF ip-address; empty: not sent
  // Where to resume: the master's replid and the offset of the last byte already had (a command
  // boundary), and the db selected there. "?" and -1 ask for a full sync.
  std::string replid = "?";
  std::int64_t offset = -1;
  std::uint64_t db = 0;  // unknown_db when not known
  // A PUBLISH on this channel was sent from db 0 to pin the stream's db: its arrival proves the
  // db is 0 if no SELECT came first. It is housekeeping, like every "__redis-repl:" channel.
  std::string pin_channel;
  // 0: ACKs report exactly what was confirmed written out. N > 0: N bytes less than that or than
  // the end of the last write (PINGs and GETACKs aside), whichever is lower, so that a WAIT for
  // the latest write, or a FAILOVER, is never satisfied by us (tail's default, 1).
  std::int64_t ack_holdback = 0;
  // What to ask of the snapshot: all of it, an empty one (REPLCONF rdb-filter-only ""; masters
  // without it send everything, which is parsed all the same), or the snapshot and no stream
  // afterwards (REPLCONF rdb-only 1).
  enum class Snapshot : std::uint8_t { full, empty, only };
  Snapshot snapshot = Snapshot::full;
  std::chrono::milliseconds ack_period{1000};
  std::chrono::milliseconds timeout{60000};  // repl-timeout: handshake, transfer, silent link
  // Keep-alive newlines refresh the timeout, as in a Redis replica, and cost nothing to keep; a
  // master sends at most about one a second, so more than this many bytes of them in a row is a
  // peer that is not behaving as a master (a protocol error).
  std::uint64_t max_newline_run = 1 << 20;
  // Main channel: advertise both forks' two-connection sync (capa dual-channel, capa
  // rdb-channel-repl). Only for a full snapshot or rdb-only: a filtered one (Snapshot::empty)
  // would come whole on a second connection, which knows nothing of the filter.
  bool two_connections = false;
  Channel channel = Channel::main;
  std::string main_client_id;  // redis_rdb: the id +RDBCHANNELSYNC named
  // The RDB's bytes are parsed, not kept: REPLCONF rdb-no-compress 1 lets a Redis 8.2+ master skip
  // LZF (faster syncs). Older masters and Valkey answer an error, which the handshake tolerates.
  bool rdb_no_compress = false;
};

// Why a replica stopped. The driver maps these to retries and exit codes.
enum class FailKind : std::uint8_t {
  transient,   // -LOADING, -NOMASTERLINK, -MASTERDOWN: the master cannot serve us yet
  closed,      // the master closed the connection
  timeout,     // nothing from the master for ReplicaConfig::timeout
  auth,        // wrong password or user, or a password the master needs
  permission,  // -NOPERM: the user may not run the replication commands
  protocol,    // a reply or byte the protocol does not allow here
  rdb,         // the snapshot is corrupt, truncated, or fails its checksum
};

struct Event {
  enum class Kind : std::uint8_t {
    need_data,         // nothing more until receive(), tick() or peer_closed()
    full_resync,       // +FULLRESYNC: replid, offset
    partial_resync,    // +CONTINUE: replid (new_replid when the master renamed its history), offset
    transfer_begin,    // the payload starts: length, or eof_mark
    transfer_end,      // the snapshot is in: offset (where the stream starts), length (RDB bytes)
    command,           // one command of the stream
    done,              // rdb-only: the snapshot is complete, nothing else will come
    failed,            // see fail_kind and error; the replica is finished
    open_rdb_channel,  // main: the master wants the snapshot on a second connection (see
                       // rdb_channel_config()); channel_id: Redis's main client id
  };
  Kind kind = Kind::need_data;
  std::string_view replid;
  bool new_replid = false;
  std::int64_t offset = 0;      // command: its first byte; resyncs and transfer_end: the offset
  std::int64_t end_offset = 0;  // command: its last byte (the replication offset after it)
  std::uint64_t db = 0;         // command: the db it applies to, or unknown_db
  std::int64_t ts_ms = 0;       // wall clock (Unix ms) of the read that completed it
  std::uint64_t length = 0;     // transfer_begin ($<len>), transfer_end (payload bytes)
  bool eof_mark = false;        // transfer_begin: diskless form, ended by a 40-byte mark
  bool noise = false;           // command: replication housekeeping (PING, REPLCONF, SELECT,
                                // MULTI/EXEC wrappers), counted in offsets, hidden by default
  std::span<const std::string_view> args;
  // full_resync of a Valkey rdb channel: the rdb client id to name on the main one (db: the
  // stream's db); open_rdb_channel: the main client id Redis named.
  std::string_view channel_id;
  FailKind fail_kind = FailKind::protocol;
  Error error;
};

class Replica {
 public:
  Replica(ReplicaConfig config, RdbVisitor& snapshot_visitor, Clock::time_point now);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Called with the RDB's bytes exactly as the master sent them (no $ line, no EOF mark), as they
  // are parsed: for writing the snapshot to a file.
  void set_payload_tap(std::function<void(std::string_view)> tap) { tap_ = std::move(tap); }

  void receive(std::string_view bytes);
  // The wall-clock time (Unix ms) of the read whose bytes come next: events are stamped with it.
  void set_wall_time(std::int64_t unix_ms) noexcept { wall_ms_ = unix_ms; }
  void peer_closed();
  void tick(Clock::time_point now);
  Event next_event();

  // Everything up to this replication offset has been written out: ACKs report it, so WAIT on
  // the master tells the truth about what the user has seen.
  void confirm(std::int64_t offset) noexcept;
  std::string take_output();

  // The resume point: the master's replid, the last command boundary outside MULTI, its db.
  const std::string& replid() const noexcept { return replid_; }
  std::int64_t boundary() const noexcept { return boundary_; }
  std::uint64_t boundary_db() const noexcept { return boundary_db_; }
  bool streaming() const noexcept;
  // The master asked for an ACK (REPLCONF GETACK) that has not gone out yet.
  bool ack_requested() const noexcept { return getack_offset_ >= 0; }

  // ---- two-connection sync (main channel) ----
  // The configuration of the second connection, after open_rdb_channel: same credentials,
  // timeout, listening-port and ip-address as this one (so Sentinel sees one replica).
  ReplicaConfig rdb_channel_config() const;
  RdbVisitor& snapshot_visitor() noexcept;
  const std::function<void(std::string_view)>& payload_tap() const noexcept { return tap_; }
  // The rdb channel said where its snapshot ends (its full_resync event). Valkey: this one now
  // sends REPLCONF set-rdb-client-id and PSYNC <replid> <offset+1>; Redis: the feed from that
  // offset is already on its way here. Rdb-only: the same, and the feed is dropped.
  void rdb_channel_synced(const Event& full_resync);
  // The master has joined the two connections (Valkey: +CONTINUE; Redis: at once).
  bool linked() const noexcept { return linked_; }
  // Linked, the snapshot not in yet: the feed arriving now must wait (the driver holds its
  // bytes) and is neither parsed nor ACKed.
  bool awaiting_snapshot() const noexcept { return awaiting_snapshot_; }
  // The rdb channel's snapshot is complete: the feed may flow; the first ACK goes out.
  void snapshot_complete(std::optional<std::uint64_t> stream_db);
  // The repl-stream-db the snapshot named, if it did.
  std::optional<std::uint64_t> stream_db() const noexcept;
  // The second connection could not be set up: start again on a new connection, with one
  // connection only (capa dual-channel no longer advertised). Only before any snapshot byte.
  void restart_one_connection(Clock::time_point now);

 private:
  enum class Phase : std::uint8_t;
  struct HandshakeStep;
  class AuxWatcher;

  Event fail(FailKind kind, Errc code, std::string message);
  // Counts a keep-alive newline of `bytes` bytes; a failure once the run is over the limit.
  std::optional<Event> keep_alive(std::uint64_t bytes);
  Event handshake_reply(std::string_view line);
  Event psync_reply(std::string_view line);
  Event payload_header(std::string_view line);
  Event endoff_reply(std::string_view line);
  Event rdb_client_id_reply(std::string_view line);
  Event begin_snapshot(std::string_view replid, std::int64_t offset);
  void send_handshake();
  void link();
  Event transfer();
  Event stream_command();
  void send(std::initializer_list<std::string_view> args);
  void queue_ack(std::int64_t offset);
  void start_stream(std::string_view leftover);

  ReplicaConfig config_;
  std::unique_ptr<AuxWatcher> watcher_;
  Phase phase_;
  std::vector<HandshakeStep> steps_;  // handshake commands whose replies are awaited, in order
  std::size_t step_ = 0;

  RespReader lines_;
  std::unique_ptr<RdbParser> rdb_;
  CommandReader commands_;
  std::string output_;
  Clock::time_point now_;
  Clock::time_point last_io_;
  Clock::time_point last_ack_;
  std::uint64_t newline_run_ = 0;  // bytes of keep-alive newlines in a row
  std::int64_t wall_ms_ = 0;

  std::string replid_;
  std::int64_t stream_offset_ = 0;  // offset of the last byte consumed from the stream
  std::int64_t boundary_ = -1;
  std::uint64_t boundary_db_ = 0;
  std::uint64_t db_ = 0;
  std::int64_t confirmed_ = -1;
  std::int64_t last_write_end_ = 0;  // end of the last command that is not PING or REPLCONF
  std::int64_t getack_offset_ = -1;  // a GETACK is waiting for its ACK

  // Two connections (main channel).
  Channel offered_ = Channel::main;  // the rdb channel the master asked for
  std::string main_client_id_;       // Redis: from +RDBCHANNELSYNC
  bool linking_ = false;             // Valkey: PSYNC <replid> <offset+1> sent on the main one
  bool linked_ = false;
  bool awaiting_snapshot_ = false;
  bool discard_feed_ = false;  // rdb-only, linked: the feed is dropped
  std::uint64_t endoff_db_ = 0;

  // Transfer.
  bool eof_mark_mode_ = false;
  std::string eof_mark_;
  std::uint64_t payload_left_ = 0;
  std::uint64_t payload_bytes_ = 0;
  std::string after_rdb_;  // bytes after the RDB's end: the mark, then the stream
  std::function<void(std::string_view)> tap_;
  bool closed_ = false;
  bool done_reported_ = false;
  bool awaiting_stream_ = false;  // diskless payload in, no stream byte yet: ACK often

  // MULTI ... EXEC is held and released whole at EXEC, so that a resume from the boundary
  // (before MULTI) never prints a command twice.
  bool in_multi_ = false;
  std::string multi_bytes_;  // the arguments, back to back
  struct HeldCommand {
    std::size_t first_arg;
    std::size_t args;
    std::int64_t offset;
    std::int64_t end_offset;
    std::uint64_t db;
    bool noise;
  };
  std::vector<HeldCommand> held_;
  std::vector<std::pair<std::size_t, std::size_t>> held_args_;  // (start, length) in multi_bytes_
  std::size_t release_ = 0;                                     // next held command to hand out
  std::vector<std::string_view> views_;
  StreamCommand command_;  // the command being handed out, reused
};

}  // namespace redis_repl::core
