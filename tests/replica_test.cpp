// Replica: whole conversations as byte scripts, with the clock driven by hand. The master's bytes
// are fed split at every point; the events and what the replica sends must not change.
#include "core/replica.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"

namespace redis_repl::test {
namespace {

using namespace std::string_literals;
using core::Clock;
using core::Event;
using core::ReplicaConfig;

const std::string replid = "da0ed49aae9150cf9f6cb5f0a119dbf02bf42777";
const std::string replid2 = "1111111111111111111111111111111111111111";
const std::string mark = "5b0740ddcc4e314b9dc05c907a78bc4fabcae542";

std::string resp(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args)
    out += "$" + std::to_string(a.size()) + "\r\n" + std::string(a) + "\r\n";
  return out;
}

// A replication RDB: aux fields as a master writes them, one key.
std::string snapshot(int stream_db = 0) {
  return RdbBuilder(10)
      .byte(0xfa)
      .str("repl-stream-db")
      .str(std::to_string(stream_db))
      .byte(0xfa)
      .str("repl-id")
      .str(replid)
      .byte(0xfa)
      .str("repl-offset")
      .str("708")
      .byte(0xfe)
      .len(0)
      .byte(0)
      .str("k")
      .str("v")
      .finish();
}

std::string describe(const Event& e) {
  switch (e.kind) {
    case Event::Kind::need_data:
      return "need_data";
    case Event::Kind::full_resync:
      return "full_resync " + std::string(e.replid) + " " + std::to_string(e.offset);
    case Event::Kind::partial_resync:
      return "partial_resync " + std::string(e.replid) + " " + std::to_string(e.offset) +
             (e.new_replid ? " new" : "");
    case Event::Kind::transfer_begin:
      return e.eof_mark ? "transfer_begin eof-mark" : "transfer_begin " + std::to_string(e.length);
    case Event::Kind::transfer_end:
      return "transfer_end " + std::to_string(e.offset) + " " + std::to_string(e.length);
    case Event::Kind::command: {
      std::string s = "command " + std::to_string(e.offset) + "-" + std::to_string(e.end_offset) +
                      " db" + std::to_string(e.db) + (e.noise ? " noise" : "");
      for (std::string_view a : e.args) s += " " + std::string(a);
      return s;
    }
    case Event::Kind::done:
      return "done";
    case Event::Kind::failed:
      return "failed " + std::to_string(static_cast<int>(e.fail_kind)) + ": " + e.error.message;
    case Event::Kind::open_rdb_channel:
      return "open_rdb_channel " + std::string(e.channel_id);
  }
  return "?";
}

// Runs a replica over the master's bytes given in pieces; every piece is followed by draining the
// events, confirming what was handed out (as the driver does after it flushed) and taking the
// output. Returns the events and the replica's output, one line each.
struct Run {
  std::string events;
  std::string sent;
  std::string snapshot;  // RecordingVisitor log of the RDB
};

Run run(const ReplicaConfig& config, const std::vector<std::string>& pieces,
        bool close_at_end = false) {
  RecordingVisitor v;
  const Clock::time_point t0{};
  core::Replica r(config, v, t0);
  Run out;
  auto drain = [&] {
    for (;;) {
      const Event e = r.next_event();
      if (e.kind == Event::Kind::need_data) break;
      out.events += describe(e) + "\n";
      if (e.kind == Event::Kind::command) r.confirm(e.end_offset);
      if (e.kind == Event::Kind::failed || e.kind == Event::Kind::done) break;
    }
    out.sent += r.take_output();
  };
  drain();
  for (const std::string& p : pieces) {
    r.receive(p);
    drain();
  }
  if (close_at_end) {
    r.peer_closed();
    drain();
  }
  out.snapshot = v.log;
  return out;
}

// The same conversation with the master's bytes joined and split again at every point.
void check_every_split(const ReplicaConfig& config, const std::string& master,
                       const Run& expected) {
  for (std::size_t at = 0; at <= master.size(); ++at) {
    const Run r = run(config, {master.substr(0, at), master.substr(at)});
    if (r.events != expected.events || r.sent != expected.sent || r.snapshot != expected.snapshot) {
      FAIL_CHECK("split at " << at << " differs:\n" << r.events);
      return;
    }
  }
}

ReplicaConfig with_auth() {
  ReplicaConfig c;
  c.user = "repl";
  c.password = "secret";
  c.listening_port = 6380;
  return c;
}

}  // namespace

TEST_CASE("replica: full sync over a diskless link, then the stream, at every split point") {
  const std::string rdb = snapshot(3);
  const std::string stream = resp({"ping"}) + resp({"SELECT", "0"}) + resp({"set", "k1", "v1"}) +
                             resp({"REPLCONF", "GETACK", "*"}) + resp({"MULTI"}) +
                             resp({"SET", "a", "1"}) + resp({"SELECT", "5"}) +
                             resp({"SET", "b", "2"}) + resp({"EXEC"}) + resp({"del", "a"});
  const std::string master = "+PONG\r\n+OK\r\n+OK\r\n+OK\r\n\n\n+FULLRESYNC " + replid +
                             " 708\r\n\n$EOF:" + mark + "\r\n" + rdb + mark + stream;
  const Run whole = run(with_auth(), {master});
  const std::int64_t s = 708;  // the stream's first byte is 709
  const std::string expected_events =
      "full_resync " + replid + " 708\n" +
      "transfer_begin eof-mark\n"
      "transfer_end 708 " +
      std::to_string(rdb.size()) + "\n" +
      "command 709-722 db3 noise ping\n"  // 14 bytes; db from repl-stream-db
      "command 723-745 db0 noise SELECT 0\n"
      "command 746-774 db0 set k1 v1\n"  // 774: as observed after ping+SELECT+set
      "command 775-811 db0 noise REPLCONF GETACK *\n"
      "command 812-826 db0 noise MULTI\n"
      "command 827-853 db0 SET a 1\n"
      "command 854-876 db5 noise SELECT 5\n"
      "command 877-903 db5 SET b 2\n"
      "command 904-917 db5 noise EXEC\n"
      "command 918-937 db5 del a\n";
  CHECK(whole.events == expected_events);
  (void)s;
  // What the replica sent: PING alone; AUTH and the REPLCONFs together; PSYNC after their
  // replies; the first ACK right after the payload; the GETACK answered with the offset before it.
  const std::string expected_sent = resp({"PING"}) + resp({"AUTH", "repl", "secret"}) +
                                    resp({"REPLCONF", "listening-port", "6380"}) +
                                    resp({"REPLCONF", "capa", "eof", "capa", "psync2"}) +
                                    resp({"PSYNC", "?", "-1"}) + resp({"REPLCONF", "ACK", "708"}) +
                                    resp({"REPLCONF", "ACK", "774"});
  CHECK(whole.sent == expected_sent);
  CHECK(whole.snapshot.find("key 0 \"k\"") != std::string::npos);
  check_every_split(with_auth(), master, whole);
}

TEST_CASE("replica: PSYNC goes out only once every handshake reply is in") {
  RecordingVisitor v;
  core::Replica r(with_auth(), v, Clock::time_point{});
  CHECK(r.take_output() == resp({"PING"}));
  r.receive("+PONG\r\n");
  CHECK(r.next_event().kind == Event::Kind::need_data);
  CHECK(r.take_output().find("PSYNC") == std::string::npos);
  r.receive("+OK\r\n+OK\r\n");
  CHECK(r.next_event().kind == Event::Kind::need_data);
  CHECK(r.take_output().empty());
  r.receive("+OK\r\n");
  CHECK(r.next_event().kind == Event::Kind::need_data);
  CHECK(r.take_output() == resp({"PSYNC", "?", "-1"}));
}

TEST_CASE("replica: a disk-based payload with the stream right behind it") {
  const std::string rdb = snapshot();
  const std::string master = "+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 0\r\n\n\n$" +
                             std::to_string(rdb.size()) + "\r\n" + rdb + resp({"ping"}) +
                             resp({"SELECT", "2"}) + resp({"incr", "n"});
  const Run whole = run(ReplicaConfig{}, {master});
  CHECK(whole.events == "full_resync " + replid + " 0\ntransfer_begin " +
                            std::to_string(rdb.size()) + "\ntransfer_end 0 " +
                            std::to_string(rdb.size()) +
                            "\ncommand 1-14 db0 noise ping\ncommand 15-37 db2 noise SELECT 2\n"
                            "command 38-58 db2 incr n\n");
  check_every_split(ReplicaConfig{}, master, whole);
}

TEST_CASE("replica: resume with +CONTINUE, with and without a new replid") {
  ReplicaConfig c;
  c.replid = replid;
  c.offset = 1600;
  c.db = 4;
  const std::string master =
      "+PONG\r\n+OK\r\n\n+CONTINUE " + replid2 + "\r\n" + resp({"set", "x", "1"}) + resp({"ping"});
  const Run r = run(c, {master});
  CHECK(r.events == "partial_resync " + replid2 + " 1600 new\ncommand 1601-1627 db4 set x 1\n" +
                        "command 1628-1641 db4 noise ping\n");
  CHECK(r.sent.find(resp({"PSYNC", replid, "1601"})) != std::string::npos);
  check_every_split(c, master, r);
  const Run same = run(c, {"+PONG\r\n+OK\r\n+CONTINUE\r\n"});
  CHECK(same.events == "partial_resync " + replid + " 1600\n");
}

TEST_CASE("replica: a transaction cut by a lost link is never handed out") {
  ReplicaConfig c;
  c.replid = replid;
  c.offset = 100;
  RecordingVisitor v;
  core::Replica r(c, v, Clock::time_point{});
  r.receive("+PONG\r\n+OK\r\n+CONTINUE\r\n" + resp({"set", "a", "1"}) + resp({"MULTI"}) +
            resp({"SET", "b", "2"}));
  std::string log;
  for (Event e = r.next_event(); e.kind != Event::Kind::need_data; e = r.next_event())
    log += describe(e) + "\n";
  CHECK(log == "partial_resync " + replid + " 100\ncommand 101-127 db0 set a 1\n");
  CHECK(r.boundary() == 127);  // before MULTI: the next PSYNC asks for 128 and gets MULTI again
  r.peer_closed();
  CHECK(r.next_event().error.message ==
        "the master closed the connection during the command stream");
}

TEST_CASE("replica: ACKs every second with what was confirmed, and a silent master times out") {
  ReplicaConfig c;
  c.replid = replid;
  c.offset = 10;
  RecordingVisitor v;
  const Clock::time_point t0{};
  core::Replica r(c, v, t0);
  r.receive("+PONG\r\n+OK\r\n+CONTINUE\r\n" + resp({"set", "a", "1"}));
  while (r.next_event().kind != Event::Kind::need_data) {
  }
  r.take_output();
  r.tick(t0 + std::chrono::milliseconds(999));
  CHECK(r.take_output().empty());
  r.tick(t0 + std::chrono::milliseconds(1000));
  CHECK(r.take_output() == resp({"REPLCONF", "ACK", "10"}));  // nothing confirmed yet
  r.confirm(36);
  r.tick(t0 + std::chrono::milliseconds(2000));
  CHECK(r.take_output() == resp({"REPLCONF", "ACK", "36"}));
  r.tick(t0 + std::chrono::seconds(60));
  const Event e = r.next_event();
  CHECK(e.kind == Event::Kind::failed);
  CHECK(e.fail_kind == core::FailKind::timeout);
  CHECK(e.error.message == "no data nor PING from the master for 60 s");
}

TEST_CASE("replica: rdb-only asks for the snapshot alone and is done after it") {
  ReplicaConfig c;
  c.snapshot = ReplicaConfig::Snapshot::only;
  const std::string rdb = snapshot();
  const Run r = run(
      c,
      {"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC " + replid + " 5\r\n$EOF:" + mark + "\r\n" + rdb + mark},
      true);
  CHECK(r.sent == resp({"PING"}) + resp({"REPLCONF", "capa", "eof", "capa", "psync2"}) +
                      resp({"REPLCONF", "rdb-only", "1"}) + resp({"PSYNC", "?", "-1"}));
  CHECK(r.events == "full_resync " + replid + " 5\ntransfer_begin eof-mark\ntransfer_end 5 " +
                        std::to_string(rdb.size()) + "\ndone\n");
}

TEST_CASE("replica: every refusal becomes its own failure") {
  struct Case {
    std::string master;
    core::FailKind kind;
    std::string message;
  };
  const std::string rdb = snapshot();
  const Case cases[] = {
      {"-LOADING Redis is loading the dataset in memory\r\n", core::FailKind::transient,
       "PING: LOADING Redis is loading the dataset in memory"},
      {"-ERR weird\r\n", core::FailKind::protocol, "unexpected reply to PING: '-ERR weird'"},
      {"+PONG\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n",
       core::FailKind::auth,
       "AUTH failed: WRONGPASS invalid username-password pair or user is disabled."},
      {"-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n",
       core::FailKind::auth,
       "the master requires authentication (NOAUTH Authentication required.)"},
      {"+PONG\r\n+OK\r\n-NOPERM this user has no permissions to run the 'psync' command\r\n",
       core::FailKind::permission,
       "PSYNC: permission refused: NOPERM this user has no permissions to run the 'psync' command"},
      {"+PONG\r\n+OK\r\n-NOMASTERLINK Can't SYNC while not connected with my master\r\n",
       core::FailKind::transient,
       "PSYNC: NOMASTERLINK Can't SYNC while not connected with my master"},
      {"+PONG\r\n+OK\r\n+FULLRESYNC abc 1\r\n", core::FailKind::protocol,
       "malformed reply to PSYNC: '+FULLRESYNC abc 1'"},
      {"+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 1\r\n-ERR BGSAVE failed\r\n",
       core::FailKind::protocol, "the master aborted the transfer: ERR BGSAVE failed"},
      {"+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 1\r\n$EOF:" + mark + "\r\n" + rdb +
           std::string(40, 'x'),
       core::FailKind::protocol, "the snapshot is not followed by its EOF mark"},
      {"+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 1\r\n$" + std::to_string(rdb.size() + 3) +
           "\r\n" + rdb + "abc",
       core::FailKind::protocol, "the RDB ends before the payload length the master announced"},
      {"+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 1\r\n$EOF:" + mark + "\r\nREDIS0010\xfa\x82"s,
       core::FailKind::rdb, "snapshot byte 10: bad length prefix 0x82"},
      {"+PONG\r\n+OK\r\n+CONTINUE\r\n", core::FailKind::protocol,
       "+CONTINUE to a request for a full sync"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    ReplicaConfig config;
    if (c.message.starts_with("AUTH")) config.password = "x";
    const Run r = run(config, {c.master});
    CHECK(r.events.ends_with("failed " + std::to_string(static_cast<int>(c.kind)) + ": " +
                             c.message + "\n"));
  }
  // A link that drops mid-transfer.
  const Run cut = run(
      ReplicaConfig{},
      {"+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 1\r\n$EOF:" + mark + "\r\n" + rdb.substr(0, 20)},
      true);
  CHECK(cut.events.ends_with("the master closed the connection during the snapshot transfer\n"));
}

}  // namespace redis_repl::test

namespace redis_repl::test {

TEST_CASE("replica: the resume point moves only once the snapshot is complete") {
  RecordingVisitor v;
  core::Replica r(ReplicaConfig{}, v, Clock::time_point{});
  const std::string rdb = snapshot();
  r.receive("+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 708\r\n$EOF:" + mark + "\r\n" +
            rdb.substr(0, 30));
  while (r.next_event().kind != Event::Kind::need_data) {
  }
  CHECK(r.boundary() == -1);  // a link lost now must not resume past a half-read snapshot
  r.receive(rdb.substr(30) + mark);
  while (r.next_event().kind != Event::Kind::need_data) {
  }
  CHECK(r.streaming());
  CHECK(r.boundary() == 708);
  CHECK(r.replid() == replid);
}

}  // namespace redis_repl::test

namespace redis_repl::test {

TEST_CASE("replica: after a diskless payload, ACK every 100 ms until the stream flows") {
  // The master enables streaming only on an ACK that reaches it after it saw the fork exit; the
  // first ACK can race that, so more follow quickly, then one a second as Redis does.
  RecordingVisitor v;
  const Clock::time_point t0{};
  core::Replica r(ReplicaConfig{}, v, t0);
  r.receive("+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 0\r\n$EOF:" + mark + "\r\n" + snapshot() +
            mark);
  while (r.next_event().kind != Event::Kind::need_data) {
  }
  CHECK(r.take_output().ends_with(resp({"REPLCONF", "ACK", "0"})));
  r.tick(t0 + std::chrono::milliseconds(100));
  CHECK(r.take_output() == resp({"REPLCONF", "ACK", "0"}));
  r.receive(resp({"ping"}));
  while (r.next_event().kind != Event::Kind::need_data) {
  }
  r.tick(t0 + std::chrono::milliseconds(300));
  CHECK(r.take_output().empty());
  r.tick(t0 + std::chrono::milliseconds(1100));
  CHECK(r.take_output() == resp({"REPLCONF", "ACK", "0"}));  // ping not confirmed by a driver here
}

}  // namespace redis_repl::test

namespace redis_repl::test {

TEST_CASE("replica: sentinel hellos and lag-check probes are housekeeping") {
  ReplicaConfig c;
  c.replid = replid;
  c.offset = 0;
  const Run r = run(
      c, {"+PONG\r\n+OK\r\n+CONTINUE\r\n" + resp({"PUBLISH", "__sentinel__:hello", "x"}) +
          resp({"publish", "__redis-repl:lag:0123abcd", "0"}) + resp({"publish", "news", "hi"})});
  CHECK(r.events.find("noise PUBLISH __sentinel__:hello x") != std::string::npos);
  CHECK(r.events.find("noise publish __redis-repl:lag:0123abcd 0") != std::string::npos);
  CHECK(r.events.find("db0 publish news hi") != std::string::npos);
}

}  // namespace redis_repl::test

namespace redis_repl::test {

// A master sends one keep-alive newline a second: before +FULLRESYNC, before the $ line, and (a
// chained master) in the stream. Each one refreshes the timeout, as in a Redis replica, so a
// ten-minute BGSAVE never cuts the link; but a peer sending them by the megabyte is not a master.
TEST_CASE("replica: keep-alive newlines refresh the timeout, a flood of them is a protocol error") {
  const std::string flood_message =
      "more than 1048576 bytes of keep-alive newlines in a row, where a master sends about one a "
      "second: the peer is not behaving as a Redis master";
  const std::string chunk(64 * 1024, '\n');
  ReplicaConfig resume;
  resume.replid = replid;
  resume.offset = 10;
  struct Case {
    const char* where;
    ReplicaConfig config;
    std::string before;  // the master's bytes up to the newlines
  };
  const Case cases[] = {
      {"before the reply to PSYNC", ReplicaConfig{}, "+PONG\r\n+OK\r\n"},
      {"before the $ line", ReplicaConfig{}, "+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 0\r\n"},
      {"in the command stream", resume, "+PONG\r\n+OK\r\n+CONTINUE\r\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.where);
    // 1 MiB of newlines, in socket-sized pieces: at the limit, still waiting.
    std::vector<std::string> pieces = {c.before};
    for (int i = 0; i < 16; ++i) pieces.push_back(chunk);
    const Run at_limit = run(c.config, pieces);
    CHECK(at_limit.events.find("failed") == std::string::npos);
    // One more keep-alive ("\r\n", two bytes): over it.
    pieces.push_back("\r\n");
    const Run over = run(c.config, pieces);
    CHECK(over.events.ends_with("failed " +
                                std::to_string(static_cast<int>(core::FailKind::protocol)) + ": " +
                                flood_message + "\n"));
  }

  // A run, not a total: newlines with a command between them start counting again.
  std::vector<std::string> runs = {"+PONG\r\n+OK\r\n+CONTINUE\r\n"};
  for (int i = 0; i < 16; ++i) runs.push_back(chunk);
  runs.push_back(resp({"ping"}));
  for (int i = 0; i < 16; ++i) runs.push_back(chunk);
  const Run apart = run(resume, runs);
  CHECK(apart.events.find("failed") == std::string::npos);
  CHECK(apart.events.find("noise ping") != std::string::npos);

  // A flood in one piece, as a socket read delivers it, ends at once.
  const Run one = run(ReplicaConfig{}, {"+PONG\r\n+OK\r\n" + std::string((1 << 20) + 1, '\n')});
  CHECK(one.events.ends_with(flood_message + "\n"));

  // Ten minutes of one newline a second (a slow disk BGSAVE), then the $ line: no timeout.
  RecordingVisitor v;
  const Clock::time_point t0{};
  core::Replica r(ReplicaConfig{}, v, t0);
  r.receive("+PONG\r\n+OK\r\n+FULLRESYNC " + replid + " 0\r\n");
  CHECK(r.next_event().kind == Event::Kind::full_resync);
  for (int s = 1; s <= 600; ++s) {
    r.tick(t0 + std::chrono::seconds(s));
    r.receive("\n");
    const Event e = r.next_event();
    REQUIRE_MESSAGE(e.kind == Event::Kind::need_data, "second " << s << ": " << describe(e));
  }
  const std::string rdb = snapshot();
  r.receive("$" + std::to_string(rdb.size()) + "\r\n" + rdb);
  CHECK(r.next_event().kind == Event::Kind::transfer_begin);
  CHECK(r.next_event().kind == Event::Kind::transfer_end);
}

}  // namespace redis_repl::test
