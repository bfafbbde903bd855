// Two-connection full sync (newest-servers.md §6): the replica's halves as byte scripts split at
// every point; the whole tool against a scripted Redis 8 master (no Redis 8 server is at hand)
// and its failures on the second connection; a real Valkey 8.0 with dual channel turned on.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/replica.hpp"
#include "support/background_process.hpp"
#include "support/fake_master.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"
#include "support/redis_server.hpp"
#include "support/server_test.hpp"

namespace redis_repl::test {
namespace {

using namespace std::chrono_literals;
using core::Channel;
using core::Clock;
using core::Event;
using core::ReplicaConfig;

const std::string binary = REDIS_REPL_BINARY;
const std::string replid = "0483eb70aa5bc8d4e1d70e4c8b67c26b3b0cab43";
const std::string mark = "5b0740ddcc4e314b9dc05c907a78bc4fabcae542";

std::string resp(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args)
    out += "$" + std::to_string(a.size()) + "\r\n" + std::string(a) + "\r\n";
  return out;
}

// A replication RDB naming its stream db, with two keys.
std::string snapshot(int stream_db) {
  return RdbBuilder(11)
      .byte(0xfa)
      .str("repl-stream-db")
      .str(std::to_string(stream_db))
      .byte(0xfe)
      .len(0)
      .byte(0)
      .str("k1")
      .str("v1")
      .byte(0)
      .str("k2")
      .str("v2")
      .finish();
}

std::string describe(const Event& e) {
  switch (e.kind) {
    case Event::Kind::full_resync:
      return "full_resync " + std::string(e.replid) + " " + std::to_string(e.offset) + " db" +
             std::to_string(e.db) + " id" + std::string(e.channel_id);
    case Event::Kind::transfer_begin:
      return e.eof_mark ? "transfer_begin eof-mark" : "transfer_begin " + std::to_string(e.length);
    case Event::Kind::transfer_end:
      return "transfer_end " + std::to_string(e.offset) + " " + std::to_string(e.length);
    case Event::Kind::command: {
      std::string s = "command " + std::to_string(e.offset) + "-" + std::to_string(e.end_offset) +
                      " db" + std::to_string(e.db);
      for (std::string_view a : e.args) s += " " + std::string(a);
      return s;
    }
    case Event::Kind::done:
      return "done";
    case Event::Kind::failed:
      return "failed: " + e.error.message;
    case Event::Kind::open_rdb_channel:
      return "open_rdb_channel " + std::string(e.channel_id);
    default:
      return "other";
  }
}

struct Run {
  std::string events;
  std::string sent;
  std::string snapshot;
};

// Drains a replica: events one a line, what it sends appended to `sent`.
void drain(core::Replica& r, Run& out, Event* keep = nullptr) {
  for (;;) {
    const Event e = r.next_event();
    if (e.kind == Event::Kind::need_data) break;
    out.events += describe(e) + "\n";
    if (keep && (e.kind == Event::Kind::full_resync || e.kind == Event::Kind::open_rdb_channel))
      *keep = e;
    if (e.kind == Event::Kind::command) r.confirm(e.end_offset);
    if (e.kind == Event::Kind::failed || e.kind == Event::Kind::done) break;
  }
  out.sent += r.take_output();
}

// The rdb channel's conversation, its bytes split in two at `at`.
Run rdb_channel(const ReplicaConfig& config, const std::string& master, std::size_t at) {
  RecordingVisitor v;
  core::Replica r(config, v, Clock::time_point{});
  Run out;
  drain(r, out);
  r.receive(master.substr(0, at));
  drain(r, out);
  r.receive(master.substr(at));
  drain(r, out);
  out.snapshot = v.log;
  return out;
}

void check_every_split(const ReplicaConfig& config, const std::string& master, const Run& whole) {
  for (std::size_t at = 0; at <= master.size(); ++at) {
    const Run r = rdb_channel(config, master, at);
    if (r.events != whole.events || r.sent != whole.sent || r.snapshot != whole.snapshot) {
      FAIL_CHECK("split at " << at << " differs:\n" << r.events << "sent: " << r.sent);
      return;
    }
  }
}

ReplicaConfig main_config() {
  ReplicaConfig c;
  c.password = "secret";
  c.listening_port = 6380;
  c.announce_ip = "redis-repl.invalid";
  c.two_connections = true;
  return c;
}

// The main channel up to open_rdb_channel; returns the replica's rdb channel configuration.
ReplicaConfig open_main(core::Replica& r, const std::string& reply, Run& out) {
  drain(r, out);
  r.receive("+PONG\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
  drain(r, out);
  r.receive(reply);
  drain(r, out);
  return r.rdb_channel_config();
}

}  // namespace

TEST_CASE("two connections: Valkey's rdb channel, $ENDOFF and the RDB at every split point") {
  RecordingVisitor unused;
  core::Replica main(main_config(), unused, Clock::time_point{});
  Run m;
  const ReplicaConfig rdb = open_main(main, "+DUALCHANNELSYNC\r\n", m);
  CHECK(m.events == "open_rdb_channel \n");
  CHECK(m.sent == resp({"PING"}) + resp({"AUTH", "secret"}) +
                      resp({"REPLCONF", "listening-port", "6380"}) +
                      resp({"REPLCONF", "ip-address", "redis-repl.invalid"}) +
                      resp({"REPLCONF", "capa", "eof", "capa", "psync2", "capa", "dual-channel",
                            "capa", "rdb-channel-repl"}) +
                      resp({"PSYNC", "?", "-1"}));
  CHECK(rdb.channel == Channel::valkey_rdb);

  const std::string payload = snapshot(3);
  const std::string master =
      "+OK\r\n+OK\r\n\n\n$ENDOFF:708 " + replid + " 3 5\r\n$EOF:" + mark + "\r\n" + payload + mark;
  const Run whole = rdb_channel(rdb, master, master.size());
  CHECK(whole.events == "full_resync " + replid + " 708 db3 id5\ntransfer_begin eof-mark\n" +
                            "transfer_end 708 " + std::to_string(payload.size()) + "\ndone\n");
  // Same port and address as the main connection; no PING; SYNC after every reply.
  CHECK(whole.sent == resp({"AUTH", "secret"}) +
                          resp({"REPLCONF", "capa", "eof", "rdb-only", "1", "rdb-channel", "1",
                                "listening-port", "6380", "ip-address", "redis-repl.invalid"}) +
                          resp({"SYNC"}));
  CHECK(whole.snapshot.find("\"k2\"") != std::string::npos);
  check_every_split(rdb, master, whole);
}

TEST_CASE("two connections: Redis's rdb channel, +FULLRESYNC and the RDB at every split point") {
  RecordingVisitor unused;
  core::Replica main(main_config(), unused, Clock::time_point{});
  Run m;
  const ReplicaConfig rdb = open_main(main, "+RDBCHANNELSYNC 42\r\n", m);
  CHECK(m.events == "open_rdb_channel 42\n");
  CHECK(rdb.channel == Channel::redis_rdb);
  CHECK(rdb.main_client_id == "42");
  const std::string payload = snapshot(0);
  const std::string master =
      "+OK\r\n+OK\r\n\n+FULLRESYNC " + replid + " 100\r\n\n$EOF:" + mark + "\r\n" + payload + mark;
  const Run whole = rdb_channel(rdb, master, master.size());
  CHECK(whole.events == "full_resync " + replid + " 100 db0 id\ntransfer_begin eof-mark\n" +
                            "transfer_end 100 " + std::to_string(payload.size()) + "\ndone\n");
  CHECK(whole.sent == resp({"AUTH", "secret"}) +
                          resp({"REPLCONF", "capa", "eof", "rdb-only", "1", "rdb-channel", "1",
                                "main-ch-client-id", "42", "listening-port", "6380", "ip-address",
                                "redis-repl.invalid"}) +
                          resp({"PSYNC", "?", "-1"}));
  check_every_split(rdb, master, whole);
}

TEST_CASE("two connections: the main reply +RDBCHANNELSYNC at every split point") {
  const std::string master = "+PONG\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n\n+RDBCHANNELSYNC 42\r\n";
  for (std::size_t at = 0; at <= master.size(); ++at) {
    RecordingVisitor v;
    core::Replica r(main_config(), v, Clock::time_point{});
    Run out;
    drain(r, out);
    r.receive(master.substr(0, at));
    drain(r, out);
    r.receive(master.substr(at));
    drain(r, out);
    if (out.events != "open_rdb_channel 42\n") {
      FAIL_CHECK("split at " << at << ": " << out.events);
      break;
    }
  }
}

TEST_CASE("two connections: the main connection holds the feed until the snapshot is complete") {
  const std::string feed = resp({"SELECT", "3"}) + resp({"set", "a", "1"});  // 23 + 27 bytes
  for (const bool valkey : {true, false}) {
    CAPTURE(valkey);
    // After the rdb channel's sync, the rest of the main conversation split at every point.
    const std::string rest =
        valkey ? "+OK\r\n+CONTINUE " + replid + "\r\n" + feed : std::string(feed);
    for (std::size_t at = 0; at <= rest.size(); ++at) {
      RecordingVisitor v;
      core::Replica r(main_config(), v, Clock::time_point{});
      Run out;
      open_main(r, valkey ? "+DUALCHANNELSYNC\r\n" : "+RDBCHANNELSYNC 7\r\n", out);
      out = Run{};
      Event sync;
      sync.kind = Event::Kind::full_resync;
      sync.replid = replid;
      sync.offset = 708;
      sync.db = 3;
      sync.channel_id = "5";
      r.rdb_channel_synced(sync);
      out.sent += r.take_output();
      r.receive(rest.substr(0, at));
      drain(r, out);
      r.receive(rest.substr(at));
      drain(r, out);
      r.tick(Clock::time_point{} + 5s);  // no ACK while the snapshot is not in
      out.sent += r.take_output();
      const std::string before = out.events;
      CHECK(r.boundary() == -1);
      r.snapshot_complete(std::nullopt);
      drain(r, out);
      // Valkey joins the two with set-rdb-client-id and PSYNC <replid> <offset+1>; the first
      // ACK (the snapshot's offset) goes out only once the snapshot is complete.
      const std::string expected_sent =
          (valkey ? resp({"REPLCONF", "set-rdb-client-id", "5"}) + resp({"PSYNC", replid, "709"})
                  : std::string()) +
          resp({"REPLCONF", "ACK", "708"});
      if (!before.empty() ||
          out.events != "command 709-731 db3 SELECT 3\ncommand 732-758 db3 set a 1\n" ||
          out.sent != expected_sent) {
        FAIL_CHECK("split at " << at << ":\n" << before << "|" << out.events << "|" << out.sent);
        break;
      }
    }
  }
}

TEST_CASE("two connections: replies the protocol does not allow fail with one clear message") {
  struct Case {
    bool rdb_channel;
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {true, "+OK\r\n+OK\r\n$ENDOFF:708 " + replid + " 3\r\n", "malformed reply to SYNC"},
      {true, "+OK\r\n+OK\r\n$ENDOFF:-1 " + replid + " 3 5\r\n", "malformed reply to SYNC"},
      {true, "+OK\r\n+OK\r\n$ENDOFF:708 nothex 3 5\r\n", "malformed reply to SYNC"},
      {true, "+OK\r\n+OK\r\n$ENDOFF:708 " + replid + " 3 x\r\n", "malformed reply to SYNC"},
      {true, "+OK\r\n-ERR no\r\n", "REPLCONF rdb-channel failed: ERR no"},
      {true, "+OK\r\n+OK\r\n-ERR not now\r\n", "SYNC on the rdb channel refused: ERR not now"},
      {false, "+PONG\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+RDBCHANNELSYNC\r\n",
       "malformed reply to PSYNC"},
      {false, "+PONG\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+RDBCHANNELSYNC x1\r\n",
       "malformed reply to PSYNC"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.bytes);
    RecordingVisitor v;
    ReplicaConfig config = main_config();
    if (c.rdb_channel) config.channel = Channel::valkey_rdb;
    core::Replica r(config, v, Clock::time_point{});
    Run out;
    drain(r, out);
    r.receive(c.bytes);
    drain(r, out);
    CHECK(out.events.find("failed: " + c.message) != std::string::npos);
  }
  // Not advertised: +DUALCHANNELSYNC is a reply out of place.
  ReplicaConfig plain = main_config();
  plain.two_connections = false;
  RecordingVisitor v;
  core::Replica r(plain, v, Clock::time_point{});
  Run out;
  open_main(r, "+DUALCHANNELSYNC\r\n", out);
  CHECK(out.events.find("failed: unexpected reply to PSYNC: '+DUALCHANNELSYNC'") !=
        std::string::npos);
  CHECK(out.sent.find("dual-channel") == std::string::npos);
  // Valkey refuses the rdb client id on the main connection.
  core::Replica m(main_config(), v, Clock::time_point{});
  Run mo;
  open_main(m, "+DUALCHANNELSYNC\r\n", mo);
  Event sync;
  sync.kind = Event::Kind::full_resync;
  sync.replid = replid;
  sync.offset = 10;
  sync.channel_id = "5";
  m.rdb_channel_synced(sync);
  m.receive("-ERR Unrecognized RDB client id 5\r\n");
  mo = Run{};
  drain(m, mo);
  CHECK(mo.events == "failed: REPLCONF set-rdb-client-id: ERR Unrecognized RDB client id 5\n");
}

// ---- the whole tool against a scripted Redis 8 master -------------------------------------

namespace {

// Reads a replica's handshake up to PSYNC, answering +PONG / +OK; says whether it offered
// Redis's rdb channel.
bool read_handshake(FakeMaster::Link& link, std::vector<std::string>& psync) {
  bool offered = false;
  for (;;) {
    std::vector<std::string> c = link.read_command();
    if (c.empty()) continue;
    std::string name = c[0];
    std::transform(name.begin(), name.end(), name.begin(), ::toupper);
    if (name == "PSYNC") {
      psync = c;
      return offered;
    }
    if (std::find(c.begin(), c.end(), "rdb-channel-repl") != c.end()) offered = true;
    link.send(name == "PING" ? "+PONG\r\n" : "+OK\r\n");
  }
}

struct ScriptedRun {
  ProgramResult result;
  std::string master_error;
  int connections = 0;
  std::vector<std::string> rdb_replconf;
  std::vector<std::vector<std::string>> rdb_later;  // what came between it and PSYNC
};

enum class Trouble { none, refused, wrong_id, cut_before_reply, cut_mid_rdb };

// A Redis 8 master (newest-servers.md §6): +RDBCHANNELSYNC 42 on the main connection; the second
// one gets +OK, +FULLRESYNC <replid> 100, then (after the feed was sent on the main one) the RDB.
// A replica that no longer offers the rdb channel gets a one-connection sync of the same data.
ScriptedRun scripted(const std::vector<std::string>& args, Trouble trouble, bool valkey = false) {
  const std::string payload = snapshot(0);
  const std::string feed = resp({"SELECT", "0"}) + resp({"set", "a", "1"}) +
                           resp({"set", "b", "2"});  // offsets 101-123, 124-150, 151-177
  ScriptedRun out;
  std::mutex mutex;
  FakeMaster* self = nullptr;
  FakeMaster master([&](FakeMaster::Link& main) {
    std::vector<std::string> psync;
    if (!read_handshake(main, psync)) {  // one connection
      main.send("+FULLRESYNC " + replid + " 100\r\n$EOF:" + mark + "\r\n" + payload + mark);
      main.read_command();  // the first ACK
      main.send(feed);
      main.drain();
      return;
    }
    if (valkey) {
      // Valkey (newest-servers.md §6): $ENDOFF and the whole RDB at once on the second
      // connection; the main one names its client id and continues from offset+1.
      main.send("+DUALCHANNELSYNC\r\n");
      std::unique_ptr<FakeMaster::Link> rdb = self->accept_next();
      rdb->read_command();  // REPLCONF capa eof rdb-only 1 rdb-channel 1 ...
      rdb->send("+OK\r\n");
      for (;;) {
        const std::vector<std::string> c = rdb->read_command();
        if (!c.empty() && c[0] == "SYNC") break;
        rdb->send("-ERR Unrecognized REPLCONF option\r\n");
      }
      rdb->send("$ENDOFF:100 " + replid + " 0 5\r\n$EOF:" + mark + "\r\n" + payload + mark);
      const std::vector<std::string> set_id = main.read_command();
      if (set_id != std::vector<std::string>{"REPLCONF", "set-rdb-client-id", "5"})
        throw HarnessError("expected REPLCONF set-rdb-client-id 5");
      if (trouble == Trouble::wrong_id) {
        main.send("-ERR Unrecognized RDB client id 5\r\n");
        main.drain();
        return;
      }
      main.send("+OK\r\n");
      const std::vector<std::string> psync2 = main.read_command();
      if (psync2 != std::vector<std::string>{"PSYNC", replid, "101"})
        throw HarnessError("expected PSYNC <replid> 101");
      main.send("+CONTINUE " + replid + "\r\n" + feed);
      main.drain();
      return;
    }
    main.send("+RDBCHANNELSYNC 42\r\n");
    std::unique_ptr<FakeMaster::Link> rdb = self->accept_next();
    if (trouble == Trouble::cut_before_reply) return;  // both go
    std::vector<std::string> replconf = rdb->read_command();
    {
      std::lock_guard<std::mutex> lock(mutex);
      out.rdb_replconf = replconf;
    }
    if (trouble == Trouble::refused) {
      rdb->send("-ERR rdb channel is disabled\r\n");
      main.drain();
      return;
    }
    if (trouble == Trouble::wrong_id) {
      rdb->send("-ERR Unrecognized RDB client id: 42\r\n");
      main.drain();
      return;
    }
    rdb->send("+OK\r\n");
    for (;;) {  // REPLCONF rdb-no-compress 1 (tail: the RDB is parsed, not kept), then PSYNC ? -1
      const std::vector<std::string> c = rdb->read_command();
      if (!c.empty() && c[0] == "PSYNC") break;
      {
        std::lock_guard<std::mutex> lock(mutex);
        out.rdb_later.push_back(c);
      }
      rdb->send("-ERR Unrecognized REPLCONF option\r\n");  // as an older master: tolerated
    }
    rdb->send("+FULLRESYNC " + replid + " 100\r\n");
    main.send(feed);  // the feed flows before the snapshot is sent
    std::this_thread::sleep_for(100ms);
    if (trouble == Trouble::cut_mid_rdb) {
      rdb->send("$EOF:" + mark + "\r\n" + payload.substr(0, payload.size() / 2));
      return;
    }
    rdb->send("$EOF:" + mark + "\r\n" + payload + mark);
    main.drain();
  });
  self = &master;
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("-p");
  argv.push_back(std::to_string(master.port()));
  out.result = run_program(argv, 60s);
  out.master_error = master.error();
  out.connections = master.connections();
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t p = 0;
  while (p < s.size()) {
    const std::size_t n = s.find('\n', p);
    out.push_back(s.substr(p, n - p));
    if (n == std::string::npos) break;
    p = n + 1;
  }
  return out;
}

// The kinds and offsets of tail's JSON lines, in order ("key k1", "snapshot_end 100", ...).
std::string outline(const std::string& out) {
  std::string s;
  for (const std::string& l : lines_of(out)) {
    if (l.find("\"kind\":\"key\"") != std::string::npos) {
      const std::size_t k = l.find("\"key\":\"");
      s += "key " + l.substr(k + 7, 2) + "\n";
    } else if (l.find("\"kind\":\"snapshot_end\"") != std::string::npos) {
      const std::size_t o = l.find("\"offset\":");
      s += "snapshot_end " + l.substr(o + 9, l.find(',', o) - o - 9) + "\n";
    } else if (l.find("\"kind\":\"command\"") != std::string::npos) {
      const std::size_t o = l.find("\"offset\":");
      s += "command " + l.substr(o + 9, l.find(',', o) - o - 9) + "\n";
    }
  }
  return s;
}

}  // namespace

TEST_CASE("two connections: tail --snapshot against a scripted Redis 8 rdb channel") {
  const ScriptedRun r = scripted({"tail", "--snapshot", "--count", "2"}, Trouble::none);
  INFO("stderr: " << r.result.err << "\nfake master: " << r.master_error);
  CHECK(r.result.exit_code == 0);
  CHECK(r.master_error.empty());
  CHECK(r.connections == 2);
  CHECK(r.rdb_replconf == std::vector<std::string>{"REPLCONF", "capa", "eof", "rdb-only", "1",
                                                   "rdb-channel", "1", "main-ch-client-id", "42",
                                                   "listening-port", "0", "ip-address",
                                                   "redis-repl.invalid"});
  CHECK(r.rdb_later == std::vector<std::vector<std::string>>{{"REPLCONF", "rdb-no-compress", "1"}});
  // The snapshot first, then the feed that arrived during it, offsets following on.
  CHECK(outline(r.result.out) == "key k1\nkey k2\nsnapshot_end 100\ncommand 124\ncommand 151\n");
}

TEST_CASE("two connections: dump-rdb -o takes the snapshot from a scripted Redis 8 rdb channel") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("redis-repl-two-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "dump.rdb").string();
  const ScriptedRun r = scripted({"dump-rdb", "-q", "-o", file}, Trouble::none);
  INFO("stderr: " << r.result.err << "\nfake master: " << r.master_error);
  CHECK(r.result.exit_code == 0);
  CHECK(r.connections == 2);
  CHECK(r.rdb_later.empty());  // -o keeps the bytes: compressed as the master likes
  std::ifstream in(file, std::ios::binary);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(got == snapshot(0));
  std::filesystem::remove_all(dir);
}

TEST_CASE("two connections: a second connection refused, cut or with a wrong id falls back") {
  for (const Trouble t : {Trouble::refused, Trouble::wrong_id, Trouble::cut_before_reply}) {
    CAPTURE(static_cast<int>(t));
    const ScriptedRun r = scripted({"tail", "--snapshot", "--count", "2"}, t);
    INFO("stderr: " << r.result.err << "\nfake master: " << r.master_error);
    CHECK(r.result.exit_code == 0);
    CHECK(r.connections == 3);  // main, rdb channel, then one connection
    CHECK(outline(r.result.out) == "key k1\nkey k2\nsnapshot_end 100\ncommand 124\ncommand 151\n");
    // One warning line saying why.
    CHECK(r.result.err.find("two-connection sync failed (the rdb channel: ") != std::string::npos);
    CHECK(std::count(r.result.err.begin(), r.result.err.end(), '\n') <= 2);
  }
  const ScriptedRun w = scripted({"tail", "--snapshot", "--count", "2"}, Trouble::wrong_id);
  CHECK(w.result.err.find("Unrecognized RDB client id: 42") != std::string::npos);
}

TEST_CASE("two connections: a snapshot cut on the second connection fails dump-rdb cleanly") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("redis-repl-cut-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "dump.rdb").string();
  const ScriptedRun r = scripted({"dump-rdb", "-q", "-o", file}, Trouble::cut_mid_rdb);
  INFO("stderr: " << r.result.err << "\nfake master: " << r.master_error);
  CHECK(r.result.exit_code != 0);
  CHECK(r.result.exit_code < 128);
  CHECK(std::count(r.result.err.begin(), r.result.err.end(), '\n') == 1);
  CHECK(r.result.err.find("snapshot transfer") != std::string::npos);
  CHECK(!std::filesystem::exists(file));  // never a partial file
  std::filesystem::remove_all(dir);
}

// ---- a real Valkey 8.0 with dual channel on --------------------------------------------------

namespace {

// A Valkey master that syncs over two connections when asked, its snapshot slowed down (10 us a
// key) so that writes can be made while it is sent.
ServerOptions dual_channel_master() {
  ServerOptions o;
  o.executable = std::string(valkey_kind.server);
  o.extra_args = {"--repl-diskless-sync",
                  "yes",
                  "--repl-diskless-sync-delay",
                  "0",
                  "--dual-channel-replication-enabled",
                  "yes",
                  "--enable-debug-command",
                  "local",
                  "--rdb-key-save-delay",
                  "10"};
  return o;
}

std::string info_replication(RespClient& c) { return c.command({"INFO", "replication"}).str; }

// Runs body against Valkey (skipped, as SERVER_TEST_CASE does, when it is not installed).
void with_valkey(const char* name, void (*body)(const ServerKind&)) {
  run_with_server(valkey_kind, name, body);
}

void tail_during_writes(const ServerKind&) {
  RedisServer master(dual_channel_master());
  RespClient c = master.client(30s);
  REQUIRE(c.command({"DEBUG", "POPULATE", "200000", "key"}).str == "OK");
  for (int i = 0; i < 100; ++i) c.command({"SET", "before:" + std::to_string(i), "x"});

  BackgroundProcess t({binary, "tail", "-p", std::to_string(master.port()), "--snapshot", "--noise",
                       "--line-buffered"});
  // Wait for the two connections, then write while the snapshot is being sent.
  bool rdb_channel_seen = false, main_channel_seen = false, writes_during_sync = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!rdb_channel_seen && std::chrono::steady_clock::now() < deadline) {
    const std::string info = info_replication(c);
    rdb_channel_seen = info.find("type=rdb-channel") != std::string::npos;
    main_channel_seen = info.find("type=main-channel") != std::string::npos;
    if (!rdb_channel_seen) std::this_thread::sleep_for(5ms);
  }
  REQUIRE_MESSAGE(rdb_channel_seen, "no rdb-channel in INFO; master log:\n" << master.log_tail());
  constexpr int writes = 5000;
  for (int i = 0; i < writes; i += 100) {
    std::vector<std::vector<std::string>> batch;
    for (int k = i; k < i + 100; ++k) batch.push_back({"SET", "w:" + std::to_string(k), "v"});
    c.pipeline(batch);
    const std::string info = info_replication(c);
    main_channel_seen = main_channel_seen || info.find("type=main-channel") != std::string::npos;
    if (i + 100 == writes) writes_during_sync = info.find("type=rdb-channel") != std::string::npos;
  }
  CHECK(main_channel_seen);
  // The last write was made while the rdb channel was still there: the feed flowed meanwhile.
  CHECK(writes_during_sync);
  const std::string last = "w:" + std::to_string(writes - 1);
  t.wait_for_line([&](std::string_view l) { return l.find("\"" + last + "\"") != l.npos; }, 60s,
                  "the last write");
  // Then one replica.
  std::string info;
  for (int i = 0; i < 100; ++i) {
    info = info_replication(c);
    if (info.find("connected_slaves:1") != std::string::npos &&
        info.find("rdb-channel") == std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(info.find("connected_slaves:1") != std::string::npos);
  CHECK(info.find("rdb-channel") == std::string::npos);
  t.signal(SIGINT);
  CHECK(t.wait(20s) == 130);

  // Every key once, in the snapshot or in the feed; the feed's offsets follow on from the
  // snapshot's without a gap.
  std::map<std::string, int> seen;
  std::int64_t expected_offset = -1;
  bool contiguous = true, snapshot_done = false;
  std::size_t snapshot_keys = 0, feed_writes = 0;
  for (const std::string& line : t.lines()) {
    const auto j = nlohmann::json::parse(line);
    const std::string kind = j.value("kind", "");
    if (kind == "key") {
      ++seen[j["key"].get<std::string>()];
      ++snapshot_keys;
    } else if (kind == "snapshot_end") {
      snapshot_done = true;
      expected_offset = j["offset"].get<std::int64_t>() + 1;
    } else if (kind == "command") {
      CHECK(snapshot_done);
      if (j["offset"].get<std::int64_t>() != expected_offset) contiguous = false;
      expected_offset = j["end_offset"].get<std::int64_t>() + 1;
      if (j["command"] == "set") {
        ++seen[j["args"][0].get<std::string>()];
        ++feed_writes;
      }
    }
  }
  CHECK(contiguous);
  MESSAGE("snapshot keys: " << snapshot_keys << ", writes in the feed: " << feed_writes);
  std::size_t once = 0, other = 0;
  for (const auto& [key, n] : seen) (n == 1 ? once : other) += 1;
  CHECK(once == 200000 + 100 + writes);
  CHECK(other == 0);
  CHECK(feed_writes > 0);
  const std::string log = master.log_tail(20000);
  CHECK(log.find("using: dual-channel") != std::string::npos);
}

void dump_over_two_connections(const ServerKind&) {
  RedisServer master(dual_channel_master());
  RespClient c = master.client(30s);
  REQUIRE(c.command({"DEBUG", "POPULATE", "20000", "key"}).str == "OK");
  const std::string file = (master.dir() / "taken.rdb").string();
  const ProgramResult r =
      run_program({binary, "dump-rdb", "-q", "-p", std::to_string(master.port()), "-o", file});
  INFO("stderr: " << r.err << "\nmaster log:\n" << master.log_tail());
  CHECK(r.exit_code == 0);
  CHECK(master.log_tail(20000).find("using: dual-channel") != std::string::npos);
  // A valid file: our own reader verifies its checksum and counts its keys.
  const ProgramResult check = run_program({binary, "dump-rdb", "--file", file, "--check"});
  INFO("check: " << check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK(check.out.find("20000") != std::string::npos);
  // The master frees the pair: no replica left.
  std::string info;
  for (int i = 0; i < 100; ++i) {
    info = info_replication(c);
    if (info.find("connected_slaves:0") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  INFO("INFO replication: " << info);
  CHECK(info.find("connected_slaves:0") != std::string::npos);
}

void no_dual_channel(const ServerKind&) {
  RedisServer master(dual_channel_master());
  RespClient c = master.client(30s);
  REQUIRE(c.command({"SET", "a", "1"}).str == "OK");
  const std::string file = (master.dir() / "taken.rdb").string();
  const ProgramResult r = run_program({binary, "dump-rdb", "-q", "--no-dual-channel", "-p",
                                       std::to_string(master.port()), "-o", file});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  const ProgramResult tail = run_program({binary, "tail", "-p", std::to_string(master.port()),
                                          "--snapshot", "--no-dual-channel", "--duration", "1"});
  CHECK(tail.exit_code == 0);
  CHECK(tail.out.find("\"key\":\"a\"") != std::string::npos);
  const std::string log = master.log_tail(20000);
  INFO("master log:\n" << log);
  CHECK(log.find("Starting BGSAVE for SYNC") != std::string::npos);
  CHECK(log.find("dual channel") == std::string::npos);
  CHECK(log.find("dual-channel") == std::string::npos);
}

// lag-check while a real Valkey replica takes a dual-channel full sync: the master lists it twice
// (its rdb-channel and its main-channel), lag-check judges one replica, in full sync; once the
// sync is over, the same replica, in step.
void lag_check_during_dual_channel_sync(const ServerKind&) {
  ServerOptions mo = dual_channel_master();
  mo.extra_args.back() = "20";  // --rdb-key-save-delay: the 100,000 keys take about 2 s
  RedisServer master(mo);
  RespClient c = master.client(30s);
  REQUIRE(c.command({"DEBUG", "POPULATE", "100000", "key"}).str == "OK");
  ServerOptions ro;
  ro.executable = std::string(valkey_kind.server);
  ro.extra_args = {"--replicaof", "127.0.0.1 " + std::to_string(master.port()),
                   "--dual-channel-replication-enabled", "yes"};
  RedisServer replica(ro);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  bool pair = false;
  while (!pair && std::chrono::steady_clock::now() < deadline) {
    const std::string info = info_replication(c);
    pair = info.find("type=rdb-channel") != std::string::npos &&
           info.find("type=main-channel") != std::string::npos;
    if (!pair) std::this_thread::sleep_for(5ms);
  }
  REQUIRE_MESSAGE(pair, "no rdb-channel and main-channel pair in INFO; master log:\n"
                            << master.log_tail());
  const std::string address = "127.0.0.1:" + std::to_string(replica.port());
  const ProgramResult during =
      run_program({binary, "lag-check", "-p", std::to_string(master.port()), "--format", "json",
                   "--probe-timeout", "0.5"});
  INFO("lag-check during the sync: " << during.out << during.err);
  CHECK(during.exit_code == 2);
  const auto d = nlohmann::json::parse(during.out);
  REQUIRE(d["replicas"].size() == 1);
  CHECK(d["replicas"][0]["address"] == address);
  const auto& reasons = d["replicas"][0]["reasons"];
  CHECK(std::find(reasons.begin(), reasons.end(), "full sync in progress") != reasons.end());

  bool synced = false;
  while (!synced && std::chrono::steady_clock::now() < deadline + 20s) {
    synced = info_replication(c).find("state=online,") != std::string::npos;
    if (!synced) std::this_thread::sleep_for(20ms);
  }
  REQUIRE(synced);
  const ProgramResult after =
      run_program({binary, "lag-check", "-p", std::to_string(master.port()), "--format", "json"});
  INFO("lag-check after the sync: " << after.out << after.err);
  CHECK(after.exit_code == 0);
  const auto a = nlohmann::json::parse(after.out);
  REQUIRE(a["replicas"].size() == 1);
  CHECK(a["replicas"][0]["address"] == address);
}

// The same sync written as RESP and replayed into a fresh Valkey: its DEBUG DIGEST equals the
// master's, so the snapshot and the feed held during it add up to the master's data, nothing
// lost or applied twice (an INCR applied twice, or a write lost, changes the digest).
void digest_after_replay(const ServerKind&) {
  RedisServer master(dual_channel_master());
  RespClient c = master.client(30s);
  REQUIRE(c.command({"DEBUG", "POPULATE", "100000", "key"}).str == "OK");
  BackgroundProcess t({binary, "tail", "-p", std::to_string(master.port()), "--snapshot",
                       "--format", "resp", "--line-buffered"});
  bool rdb_channel_seen = false, writes_during_sync = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!rdb_channel_seen && std::chrono::steady_clock::now() < deadline) {
    rdb_channel_seen = info_replication(c).find("type=rdb-channel") != std::string::npos;
    if (!rdb_channel_seen) std::this_thread::sleep_for(5ms);
  }
  REQUIRE_MESSAGE(rdb_channel_seen, "no rdb-channel in INFO; master log:\n" << master.log_tail());
  for (int i = 0; i < 3000; i += 100) {
    std::vector<std::vector<std::string>> batch;
    for (int k = i; k < i + 100; ++k) {
      batch.push_back({"INCR", "counter"});
      batch.push_back(
          {"HSET", "h:" + std::to_string(k % 7), "f" + std::to_string(k), std::to_string(k)});
      batch.push_back({"SET", "key:" + std::to_string(k * 31), "overwritten"});
    }
    c.pipeline(batch);
    if (i + 100 == 3000)
      writes_during_sync = info_replication(c).find("type=rdb-channel") != std::string::npos;
  }
  CHECK(writes_during_sync);
  REQUIRE(c.command({"SET", "the-last-write", "1"}).str == "OK");
  t.wait_for_line([](std::string_view l) { return l.starts_with("the-last-write"); }, 60s,
                  "the last write");
  t.signal(SIGINT);
  CHECK(t.wait(20s) == 130);

  ServerOptions fresh;
  fresh.executable = std::string(valkey_kind.server);
  fresh.extra_args = {"--enable-debug-command", "local"};
  RedisServer replay(fresh);
  const std::string file = (replay.dir() / "feed.resp").string();
  {
    std::ofstream out(file, std::ios::binary);
    out << t.out();
  }
  const ProgramResult piped =
      run_program({"sh", "-c",
                   std::string(valkey_kind.cli) + " -p " + std::to_string(replay.port()) +
                       " --pipe < " + file});
  INFO("pipe: " << piped.out << piped.err);
  CHECK(piped.exit_code == 0);
  CHECK(piped.out.find("errors: 0") != std::string::npos);
  RespClient r = replay.client(30s);
  CHECK(r.command({"DBSIZE"}).integer == c.command({"DBSIZE"}).integer);
  CHECK(r.command({"GET", "counter"}).str == "3000");
  CHECK(r.command({"DEBUG", "DIGEST"}).str == c.command({"DEBUG", "DIGEST"}).str);
}

}  // namespace

TEST_CASE("two connections: tail --snapshot over Valkey's dual channel while writes flow") {
  with_valkey("two connections: tail --snapshot over Valkey's dual channel while writes flow",
              tail_during_writes);
}

TEST_CASE("two connections: dump-rdb -o over Valkey's dual channel writes a valid file") {
  with_valkey("two connections: dump-rdb -o over Valkey's dual channel writes a valid file",
              dump_over_two_connections);
}

TEST_CASE("two connections: --no-dual-channel syncs Valkey over one connection") {
  with_valkey("two connections: --no-dual-channel syncs Valkey over one connection",
              no_dual_channel);
}

TEST_CASE("two connections: a scripted Valkey master, joined or refusing the rdb client id") {
  const ScriptedRun r = scripted({"tail", "--snapshot", "--count", "2"}, Trouble::none, true);
  INFO("stderr: " << r.result.err << "\nfake master: " << r.master_error);
  CHECK(r.result.exit_code == 0);
  CHECK(r.master_error.empty());
  CHECK(r.connections == 2);
  CHECK(outline(r.result.out) == "key k1\nkey k2\nsnapshot_end 100\ncommand 124\ncommand 151\n");
  // Refused: nothing of the snapshot was printed yet, so one connection takes over.
  const ScriptedRun w = scripted({"tail", "--snapshot", "--count", "2"}, Trouble::wrong_id, true);
  INFO("stderr: " << w.result.err << "\nfake master: " << w.master_error);
  CHECK(w.result.exit_code == 0);
  CHECK(w.connections == 3);
  CHECK(outline(w.result.out) == "key k1\nkey k2\nsnapshot_end 100\ncommand 124\ncommand 151\n");
  CHECK(w.result.err.find("two-connection sync failed (the main connection: REPLCONF "
                          "set-rdb-client-id: ERR Unrecognized RDB client id 5)") !=
        std::string::npos);
}

TEST_CASE("two connections: replayed as RESP, a dual-channel sync gives the master's digest") {
  with_valkey("two connections: replayed as RESP, a dual-channel sync gives the master's digest",
              digest_after_replay);
}

TEST_CASE("two connections: lag-check sees a dual-channel pair as one replica in full sync") {
  with_valkey("two connections: lag-check sees a dual-channel pair as one replica in full sync",
              lag_check_during_dual_channel_sync);
}

}  // namespace redis_repl::test
