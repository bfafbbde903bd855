// `redis-repl tail` against real masters (each test against Redis 7.0.15 and Valkey 8.0.1): the
// built binary runs in the background (support/background_process.hpp) and its JSON Lines are
// checked against what the master holds and what was written to it:
// * the snapshot (--snapshot) from disk-based and diskless full syncs holds every key as the
//   server has it;
// * the feed: every write, in order, with its db; offsets contiguous (end_offset + 1 == the next
//   offset, noise included, and each command's length is that of its RESP encoding); the ACKed
//   offset reaches master_repl_offset and WAIT is answered;
// * resuming: --state after SIGINT/SIGTERM or --count, a master restarted from its RDB
//   (replid2), --from-rdb with a real replica's RDB; refused resumes exit 9;
// * a link cut or stalled (support/tcp_proxy.hpp) mid-stream and mid-snapshot;
// * authentication and permissions.
// Every wait has a deadline; servers and processes are stopped by the objects that own them.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/background_process.hpp"
#include "support/redis_server.hpp"
#include "support/replication.hpp"
#include "support/server_test.hpp"
#include "support/tcp_proxy.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using redis_repl::test::BackgroundProcess;
using redis_repl::test::dataset_diff;
using redis_repl::test::dataset_from_key_lines;
using redis_repl::test::info_field;
using redis_repl::test::json_bytes;
using redis_repl::test::master_args;
using redis_repl::test::master_repl_offset;
using redis_repl::test::must;
using redis_repl::test::of_kind;
using redis_repl::test::parse_json_lines;
using redis_repl::test::quote_bytes;
using redis_repl::test::RedisServer;
using redis_repl::test::replica_ack_offset;
using redis_repl::test::Reply;
using redis_repl::test::RespClient;
using redis_repl::test::ServerOptions;
using redis_repl::test::TcpProxy;
using redis_repl::test::TempDir;
using redis_repl::test::wait_until;

const std::string binary = REDIS_REPL_BINARY;

std::vector<std::string> tail_args(int port, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {binary, "tail", "-p", std::to_string(port)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::optional<json> parse_line(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

auto kind_is(std::string kind) {
  return [kind](std::string_view line) {
    const auto j = parse_line(line);
    return j && j->value("kind", "") == kind;
  };
}

// A command line whose first argument (the key) is `key`.
auto command_on(std::string key) {
  return [key](std::string_view line) {
    const auto j = parse_line(line);
    return j && j->value("kind", "") == "command" && !j->at("args").empty() &&
           json_bytes(j->at("args").at(0)) == key;
  };
}

// One "command" line.
struct Cmd {
  std::int64_t offset = 0;
  std::int64_t end = 0;
  std::uint64_t db = 0;
  std::string name;
  std::vector<std::string> args;

  bool noise() const {
    return name == "ping" || name == "replconf" || name == "select" || name == "multi" ||
           name == "exec" ||
           (name == "publish" && !args.empty() && args[0].starts_with("__redis-repl:"));
  }
  // name, db and arguments (long ones cut), without offsets
  std::string what() const {
    std::string s = name + "@" + std::to_string(db);
    for (const std::string& a : args) s += " " + quote_bytes(a, 60);
    return s;
  }
  std::string text() const {
    return std::to_string(offset) + ".." + std::to_string(end) + " " + what();
  }
  // The command's length on the wire: its RESP encoding (the name's case does not matter).
  std::int64_t wire_size() const {
    std::vector<std::string> all = {name};
    all.insert(all.end(), args.begin(), args.end());
    return static_cast<std::int64_t>(redis_repl::test::encode_command(all).size());
  }
  friend bool operator==(const Cmd&, const Cmd&) = default;
};

std::vector<Cmd> commands_of(const std::vector<json>& lines) {
  std::vector<Cmd> out;
  for (const json& l : of_kind(lines, "command")) {
    Cmd c;
    c.offset = l.at("offset").get<std::int64_t>();
    c.end = l.at("end_offset").get<std::int64_t>();
    // null: a db the stream has not named yet (tail joined at an offset); never expected here.
    c.db = l.at("db").is_null() ? ~0ull : l.at("db").get<std::uint64_t>();
    c.name = json_bytes(l.at("command"));
    for (const json& a : l.at("args")) c.args.push_back(json_bytes(a));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Cmd> data_only(const std::vector<Cmd>& cmds) {
  std::vector<Cmd> out;
  for (const Cmd& c : cmds)
    if (!c.noise()) out.push_back(c);
  return out;
}

std::vector<Cmd> after_offset(const std::vector<Cmd>& cmds, std::int64_t offset,
                              std::int64_t up_to = INT64_MAX) {
  std::vector<Cmd> out;
  for (const Cmd& c : cmds)
    if (c.offset > offset && c.end <= up_to) out.push_back(c);
  return out;
}

std::string listing(const std::vector<Cmd>& cmds) {
  std::string s;
  for (const Cmd& c : cmds) s += "  " + c.text() + "\n";
  return s.empty() ? "  (none)\n" : s;
}

std::string listing(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += "  " + i + "\n";
  return s.empty() ? "  (none)\n" : s;
}

std::vector<std::string> whats(const std::vector<Cmd>& cmds) {
  std::vector<std::string> out;
  for (const Cmd& c : cmds) out.push_back(c.what());
  return out;
}

// The feed is cut byte-exactly: the first command starts at first_offset, each next one right
// after the previous one, and each spans exactly its RESP encoding.
void check_contiguous(const std::vector<Cmd>& cmds, std::int64_t first_offset,
                      std::string_view who) {
  INFO(who, " commands:\n", listing(cmds));
  REQUIRE_FALSE(cmds.empty());
  CHECK_MESSAGE(cmds.front().offset == first_offset, who, ": the first command starts at ",
                cmds.front().offset, ", the stream at ", first_offset);
  int bad = 0;
  for (std::size_t i = 0; i < cmds.size() && bad < 5; ++i) {
    if (cmds[i].end - cmds[i].offset + 1 != cmds[i].wire_size()) {
      ++bad;
      FAIL_CHECK(who, ": ", cmds[i].text(), " spans ", cmds[i].end - cmds[i].offset + 1,
                 " bytes; its RESP encoding has ", cmds[i].wire_size());
    }
    if (i > 0 && cmds[i].offset != cmds[i - 1].end + 1) {
      ++bad;
      FAIL_CHECK(who, ": ", cmds[i].text(), " does not follow ", cmds[i - 1].text());
    }
  }
}

// The exit code, or -1 when the process is still running after the timeout (it is killed then).
int exit_within(BackgroundProcess& p, std::chrono::milliseconds timeout) {
  try {
    return p.wait(timeout);
  } catch (const redis_repl::test::HarnessError&) {
    return -1;
  }
}

// Writes `args` as one command and requires a non-error reply.
void write(RespClient& c, const std::vector<std::string>& args) { must(c, args); }

json read_json_file(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in.good(), "cannot read ", p.filename().string());
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string random_payload(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed;
  for (char& ch : s) {
    x = x * 1664525u + 1013904223u;
    ch = static_cast<char>(x >> 24);
  }
  return s;
}

// Waits until the master's offset is what the tail printed last, and every replica of the
// master has ACKed that offset: the stream is quiet and fully taken in.
void wait_quiet(RespClient& c, BackgroundProcess& t, std::chrono::milliseconds timeout = 5000ms) {
  std::int64_t master = -1, printed = -1;
  std::string acked;
  const bool ok = wait_until(
      [&] {
        master = master_repl_offset(c);
        const std::vector<Cmd> cmds = commands_of(parse_json_lines(t.lines()));
        printed = cmds.empty() ? -1 : cmds.back().end;
        // A tail's ACK is held one byte below the end of the last write (PINGs and GETACKs
        // aside) unless it runs with --ack-written: both count as caught up.
        std::int64_t held = -1;
        for (auto it = cmds.rbegin(); it != cmds.rend() && held < 0; ++it)
          if (it->name != "ping" && it->name != "replconf") held = it->end - 1;
        acked.clear();
        bool all = true;
        int n = 0;
        for (; n < 16; ++n) {
          const std::optional<std::int64_t> a = replica_ack_offset(c, n);
          if (!a) break;
          acked += " " + std::to_string(*a);
          all = all && (*a == master || *a == held);
        }
        return printed == master && n > 0 && all;
      },
      timeout, 50ms);
  REQUIRE_MESSAGE(ok, "master_repl_offset ", master, ", last printed end_offset ", printed,
                  ", ACKed by the replicas:", acked.empty() ? " none" : acked, "; ", t.describe());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. The snapshot

SERVER_TEST_CASE("tail: --snapshot prints every key of a disk-based and of a diskless full sync") {
  struct Sync {
    std::string diskless;
    bool dual_channel;
  };
  std::vector<Sync> syncs = {{"no", false}, {"yes", false}};
  // Valkey 8 can send the snapshot over a second connection (dual-channel replication, off by
  // default). tail asks for it (`capa dual-channel`): the output is the same one ordered stream.
  if (flavour.name == "valkey") syncs.push_back({"yes", true});
  for (const Sync& s : syncs) {
    const std::string& diskless = s.diskless;
    CAPTURE(diskless);
    CAPTURE(s.dual_channel);
    std::vector<std::string> extra = {"--repl-diskless-sync", diskless};
    if (s.dual_channel) {
      extra.push_back("--dual-channel-replication-enabled");
      extra.push_back("yes");
    }
    RedisServer m(ServerOptions{.extra_args = master_args(extra)});
    RespClient c = m.client();
    redis_repl::test::populate_all_types(c);
    const auto expected = redis_repl::test::server_dataset(c);
    REQUIRE(expected.size() > 25);

    BackgroundProcess t(tail_args(m.port(), {"--snapshot", "--count", "1"}));
    t.wait_for_line(kind_is("snapshot_end"), 30s, "the snapshot_end line");
    write(c, {"SET", "after:snapshot", "1"});
    CHECK_MESSAGE(t.wait(10s) == 0, t.describe());

    const std::vector<json> lines = parse_json_lines(t.lines());
    REQUIRE(lines.size() >= 3);
    const std::string replid = info_field(c, "replication", "master_replid");
    // One ordered stream: sync, the keys, the boundary, the feed.
    CHECK(lines.front().value("kind", "") == "sync");
    CHECK(lines.front().value("mode", "") == "full");
    CHECK(lines.front().value("replid", "") == replid);
    const auto end_it = std::find_if(lines.begin(), lines.end(), [](const json& l) {
      return l.value("kind", "") == "snapshot_end";
    });
    REQUIRE(end_it != lines.end());
    CHECK(end_it->at("offset") == lines.front().at("offset"));
    CHECK(end_it->value("replid", "") == replid);
    CHECK(end_it->at("bytes").get<std::uint64_t>() > 300000);  // str:big alone is 300 kB
    for (auto it = end_it + 1; it != lines.end(); ++it)
      CHECK_MESSAGE(it->value("kind", "") == "command", "after snapshot_end: ", it->dump());
    for (auto it = lines.begin() + 1; it != end_it; ++it)
      CHECK_MESSAGE(it->value("kind", "") != "command", "before snapshot_end: ", it->dump());

    const std::string diff = dataset_diff(expected, dataset_from_key_lines(lines));
    CHECK_MESSAGE(diff.empty(), "snapshot keys vs the server's data:\n", diff);

    const std::vector<Cmd> cmds = commands_of(lines);
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].what() == "set@0 \"after:snapshot\" \"1\"");
    CHECK(cmds[0].offset > end_it->at("offset").get<std::int64_t>());
    // The sync really was of the kind this iteration is about.
    const std::string log = m.log_tail(20000);
    CHECK_MESSAGE(log.find(std::string("Starting BGSAVE for SYNC with target: ") +
                           (diskless == "yes" ? "replicas sockets" : "disk")) != std::string::npos,
                  log);
    if (s.dual_channel) CHECK_MESSAGE(log.find("using: dual-channel") != std::string::npos, log);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. The feed: order, offsets, ACK, WAIT

SERVER_TEST_CASE("tail: writes appear in order with contiguous offsets, ACKs and WAIT see them") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  BackgroundProcess t(tail_args(m.port(), {"--noise", "--ack-written"}));
  const std::string sync_line = t.wait_for_line(kind_is("sync"), 20s, "the sync line");
  BackgroundProcess quiet(tail_args(m.port()));  // the same feed, noise hidden (the default)
  quiet.wait_for_line(kind_is("sync"), 20s, "the sync line");
  // Without --snapshot tail joins at the master's offset: a partial sync, no snapshot, no fork.
  const json sync = json::parse(sync_line);
  CHECK(sync.value("mode", "") == "partial");
  const std::int64_t start = sync.at("offset").get<std::int64_t>();
  CHECK(of_kind(parse_json_lines(t.lines()), "snapshot_end").empty());
  CHECK(of_kind(parse_json_lines(t.lines()), "key").empty());

  const std::string big = random_payload(200000, 7);
  write(c, {"SET", "k1", "v1"});
  write(c, {"INCR", "counter"});
  write(c, {"RPUSH", "l", "a", "b"});
  write(c, {"HSET", "h", "f", "v"});
  c.send_raw(redis_repl::test::encode_command({"MULTI"}) +
             redis_repl::test::encode_command({"SET", "t1", "1"}) +
             redis_repl::test::encode_command({"SET", "t2", "2"}) +
             redis_repl::test::encode_command({"EXEC"}));
  for (int i = 0; i < 4; ++i) REQUIRE_FALSE(c.read_reply().is_error());
  write(c, {"SELECT", "3"});
  write(c, {"SET", "k3", "v3"});
  write(c, {"EVAL", "redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', KEYS[2])", "2", "ek",
            "cnt", "x"});
  write(c, {"SET", "big", big});
  write(c, {"EXPIRE", "k3", "100"});
  write(c, {"PUBLISH", "chan", "msg"});
  write(c, {"DEL", "k3"});
  // A key deleted on expiry: propagated as DEL by Redis 7.0, as UNLINK by Valkey 8.0 (whose
  // lazyfree-lazy-expire is yes by default).
  write(c, {"SET", "gone", "x"});
  write(c, {"PEXPIRE", "gone", "1"});
  std::this_thread::sleep_for(20ms);
  CHECK(must(c, {"GET", "gone"}).type == Reply::Type::nil);
  write(c, {"SET", "done", "1"});
  t.wait_for_line(command_on("done"), 10s, "the last write");
  quiet.wait_for_line(command_on("done"), 10s, "the last write");

  const std::vector<Cmd> all = commands_of(parse_json_lines(t.lines()));
  check_contiguous(all, start + 1, "tail --noise");
  const std::vector<std::string> expected = {
      "set@0 \"k1\" \"v1\"",
      "incr@0 \"counter\"",
      "rpush@0 \"l\" \"a\" \"b\"",
      "hset@0 \"h\" \"f\" \"v\"",
      "set@0 \"t1\" \"1\"",
      "set@0 \"t2\" \"2\"",
      "set@3 \"k3\" \"v3\"",
      "set@3 \"ek\" \"x\"",
      "incr@3 \"cnt\"",
      "set@3 \"big\" " + quote_bytes(big, 60),
      "pexpireat@3 \"k3\" <ms>",  // EXPIRE is propagated as PEXPIREAT with an absolute time
      "publish@3 \"chan\" \"msg\"",
      "del@3 \"k3\"",
      "set@3 \"gone\" \"x\"",
      "pexpireat@3 \"gone\" <ms>",
      std::string(flavour.expiry_delete) + "@3 \"gone\"",
      "set@3 \"done\" \"1\"",
  };
  std::vector<Cmd> data = data_only(all);
  std::vector<std::string> got = whats(data);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i].name == "pexpireat" && data[i].args.size() == 2 && !data[i].args[1].empty() &&
        std::all_of(data[i].args[1].begin(), data[i].args[1].end(),
                    [](char ch) { return ch >= '0' && ch <= '9'; }))
      got[i] =
          "pexpireat@" + std::to_string(data[i].db) + " " + quote_bytes(data[i].args[0]) + " <ms>";
    if (data[i].name == "set" && !data[i].args.empty() && data[i].args[0] == "big")
      CHECK_MESSAGE((data[i].args.size() == 2 && data[i].args[1] == big),
                    "the 200 kB value came out different");
  }
  CHECK_MESSAGE(got == expected, "expected:\n", listing(expected), "got:\n", listing(got));
  // The transactions' wrappers are there, around their commands, and counted.
  auto index_of = [&](std::string_view what) {
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].what() == what) return i;
    return all.size();
  };
  const std::size_t t1 = index_of("set@0 \"t1\" \"1\"");
  REQUIRE(t1 > 0);
  REQUIRE(t1 + 2 < all.size());
  CHECK(all[t1 - 1].name == "multi");
  CHECK(all[t1 + 2].name == "exec");
  const std::size_t k3 = index_of("set@3 \"k3\" \"v3\"");
  REQUIRE(k3 > 0);
  REQUIRE(k3 < all.size());
  CHECK(all[k3 - 1].what() == "select@3 \"3\"");

  // Without --noise: exactly the data commands, with the same offsets.
  const std::vector<Cmd> quiet_cmds = commands_of(parse_json_lines(quiet.lines()));
  CHECK_MESSAGE(quiet_cmds == data, "without --noise:\n", listing(quiet_cmds),
                "data commands of --noise:\n", listing(data));

  // The feed is fully taken in and ACKed: the master's offset is the last printed end_offset and
  // its INFO shows our ACK at that offset (ACKs go out every second).
  wait_quiet(c, t, 2500ms);
  // A default tail never counts for WAIT: of the two, only `t` (--ack-written) does.
  write(c, {"SET", "wq", "x"});
  const Reply both = must(c, {"WAIT", "2", "1500"});
  CHECK_MESSAGE(both.integer == 1, "WAIT 2 1500 answered ", both.describe());
  quiet.signal(SIGINT);  // from here on, WAIT counts one replica: `t`
  CHECK_MESSAGE(quiet.wait(10s) == 130, quiet.describe());
  REQUIRE(wait_until([&] { return info_field(c, "replication", "connected_slaves") == "1"; }, 5s));

  // WAIT counts us: the master sends REPLCONF GETACK and tail answers at once (four WAITs of
  // 300 ms in a row would not all be met by the once-a-second ACK alone).
  write(c, {"SET", "w0", "x"});
  const Reply w = must(c, {"WAIT", "1", "1000"});
  CHECK_MESSAGE(w.integer == 1, "WAIT 1 1000 answered ", w.describe());
  for (int i = 1; i <= 4; ++i) {
    write(c, {"SET", "w" + std::to_string(i), "x"});
    const Reply r = must(c, {"WAIT", "1", "300"});
    CHECK_MESSAGE(r.integer == 1, "WAIT 1 300 #", i, " answered ", r.describe());
  }
  t.wait_for_line(command_on("w4"), 5s, "w4");
  wait_quiet(c, t, 2500ms);
  const std::vector<Cmd> after = commands_of(parse_json_lines(t.lines()));
  check_contiguous(after, start + 1, "tail --noise after WAIT");
  CHECK(std::any_of(after.begin(), after.end(),
                    [](const Cmd& x) { return x.what() == "replconf@3 \"GETACK\" \"*\""; }));

  t.signal(SIGTERM);
  CHECK_MESSAGE(t.wait(10s) == 143, t.describe());
  CHECK_NOTHROW(parse_json_lines(t.out()));
}

// ---------------------------------------------------------------------------------------------
// 3. Stop and resume with --state

SERVER_TEST_CASE("tail: --state resumes after SIGINT with +CONTINUE, nothing lost or doubled") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  TempDir dir;
  const fs::path state = dir / "state.json";

  // The uninterrupted run, first: the first replica makes the master create its backlog.
  BackgroundProcess u(tail_args(m.port(), {"--noise"}));
  u.wait_for_line(kind_is("sync"), 20s, "the sync line");

  BackgroundProcess r1(tail_args(m.port(), {"--noise", "--state", state.string()}));
  const json sync1 = json::parse(r1.wait_for_line(kind_is("sync"), 20s, "the sync line"));
  CHECK(sync1.value("mode", "") == "partial");  // joined at the master's offset
  const std::int64_t x = sync1.at("offset").get<std::int64_t>();

  write(c, {"SET", "a1", "1"});
  write(c, {"RPUSH", "a2", "x", "y"});
  write(c, {"EVAL", "redis.call('set', KEYS[1], '1') redis.call('set', KEYS[2], '2')", "2", "a3",
            "a4"});
  write(c, {"SELECT", "2"});
  write(c, {"SET", "a5", "in db 2"});
  r1.wait_for_line(command_on("a5"), 10s, "a5");
  u.wait_for_line(command_on("a5"), 10s, "a5");
  r1.signal(SIGINT);
  CHECK_MESSAGE(r1.wait(10s) == 130, r1.describe());
  const std::vector<Cmd> run1 = commands_of(parse_json_lines(r1.lines()));
  check_contiguous(run1, x + 1, "run 1");
  REQUIRE_FALSE(run1.empty());

  // The state: the master's replid, the offset of the last command printed, its db.
  const json s1 = read_json_file(state);
  CHECK(s1.value("replid", "") == info_field(c, "replication", "master_replid"));
  CHECK(s1.at("offset").get<std::int64_t>() == run1.back().end);
  CHECK(s1.at("db").get<std::uint64_t>() == 2);
  CHECK(dir.list() == std::vector<std::string>{"state.json"});

  // Written while nobody resumable is connected; still in db 2, so no SELECT comes before them.
  write(c, {"SET", "b1", "still db 2"});
  write(c, {"SELECT", "0"});
  write(c, {"INCRBY", "b2", "5"});

  BackgroundProcess r2(tail_args(m.port(), {"--noise", "--state", state.string()}));
  const json sync2 = json::parse(r2.wait_for_line(kind_is("sync"), 20s, "the sync line"));
  CHECK(sync2.value("mode", "") == "partial");
  CHECK(sync2.value("new_replid", true) == false);
  CHECK(sync2.at("offset").get<std::int64_t>() == s1.at("offset").get<std::int64_t>());
  r2.wait_for_line(command_on("b2"), 10s, "b2");
  write(c, {"SET", "c1", "1"});
  c.send_raw(redis_repl::test::encode_command({"MULTI"}) +
             redis_repl::test::encode_command({"SET", "c2", "2"}) +
             redis_repl::test::encode_command({"SET", "c3", "3"}) +
             redis_repl::test::encode_command({"EXEC"}));
  for (int i = 0; i < 4; ++i) REQUIRE_FALSE(c.read_reply().is_error());
  r2.wait_for_line(command_on("c3"), 10s, "c3");
  u.wait_for_line(command_on("c3"), 10s, "c3");
  r2.signal(SIGTERM);
  CHECK_MESSAGE(r2.wait(10s) == 143, r2.describe());
  u.signal(SIGINT);
  CHECK_MESSAGE(u.wait(10s) == 130, u.describe());

  const std::vector<json> r2_lines = parse_json_lines(r2.lines());
  CHECK(of_kind(r2_lines, "snapshot_end").empty());  // no snapshot on a partial sync
  const std::vector<Cmd> run2 = commands_of(r2_lines);
  check_contiguous(run2, s1.at("offset").get<std::int64_t>() + 1, "run 2");
  REQUIRE_FALSE(run2.empty());
  CHECK_MESSAGE(run2.front().what() == "set@2 \"b1\" \"still db 2\"",
                "the db is carried over a +CONTINUE: ", run2.front().text());
  CHECK(read_json_file(state).at("offset").get<std::int64_t>() == run2.back().end);

  // Both runs together print exactly what the uninterrupted run printed over the same span.
  std::vector<Cmd> both = run1;
  both.insert(both.end(), run2.begin(), run2.end());
  const std::vector<Cmd> whole =
      after_offset(commands_of(parse_json_lines(u.lines())), x, run2.back().end);
  CHECK_MESSAGE(both == whole, "run 1 + run 2:\n", listing(both), "uninterrupted:\n",
                listing(whole));
  CHECK(whats(data_only(both)) ==
        std::vector<std::string>{"set@0 \"a1\" \"1\"", "rpush@0 \"a2\" \"x\" \"y\"",
                                 "set@0 \"a3\" \"1\"", "set@0 \"a4\" \"2\"",
                                 "set@2 \"a5\" \"in db 2\"", "set@2 \"b1\" \"still db 2\"",
                                 "incrby@0 \"b2\" \"5\"", "set@0 \"c1\" \"1\"",
                                 "set@0 \"c2\" \"2\"", "set@0 \"c3\" \"3\""});
}

SERVER_TEST_CASE("tail: --count stops after a whole transaction and --state resumes after it") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  TempDir dir;
  const fs::path state = dir / "state.json";
  BackgroundProcess u(tail_args(m.port()));
  u.wait_for_line(kind_is("sync"), 20s, "the sync line");

  // A first run only to make the state file.
  BackgroundProcess r0(tail_args(m.port(), {"--state", state.string(), "--count", "1"}));
  r0.wait_for_line(kind_is("sync"), 20s, "the sync line");
  write(c, {"SET", "c0", "0"});
  CHECK_MESSAGE(r0.wait(10s) == 0, r0.describe());
  const std::int64_t s0 = read_json_file(state).at("offset").get<std::int64_t>();

  write(c, {"SET", "c1", "1"});
  c.send_raw(redis_repl::test::encode_command({"MULTI"}) +
             redis_repl::test::encode_command({"SET", "c2", "2"}) +
             redis_repl::test::encode_command({"SET", "c3", "3"}) +
             redis_repl::test::encode_command({"SET", "c4", "4"}) +
             redis_repl::test::encode_command({"EXEC"}));
  for (int i = 0; i < 5; ++i) REQUIRE_FALSE(c.read_reply().is_error());
  write(c, {"SET", "c5", "5"});
  write(c, {"SET", "c6", "6"});
  u.wait_for_line(command_on("c6"), 10s, "c6");

  // --count 2 is reached inside the transaction: it ends after the whole of it.
  BackgroundProcess r1(tail_args(m.port(), {"--state", state.string(), "--count", "2"}));
  CHECK_MESSAGE(r1.wait(20s) == 0, r1.describe());
  BackgroundProcess r2(tail_args(m.port(), {"--state", state.string(), "--count", "1"}));
  CHECK_MESSAGE(r2.wait(20s) == 0, r2.describe());
  BackgroundProcess r3(tail_args(m.port(), {"--state", state.string(), "--count", "1"}));
  CHECK_MESSAGE(r3.wait(20s) == 0, r3.describe());
  u.signal(SIGINT);
  CHECK_MESSAGE(u.wait(10s) == 130, u.describe());

  const std::vector<Cmd> run1 = commands_of(parse_json_lines(r1.lines()));
  const std::vector<Cmd> run2 = commands_of(parse_json_lines(r2.lines()));
  const std::vector<Cmd> run3 = commands_of(parse_json_lines(r3.lines()));
  CHECK(whats(run1) == std::vector<std::string>{"set@0 \"c1\" \"1\"", "set@0 \"c2\" \"2\"",
                                                "set@0 \"c3\" \"3\"", "set@0 \"c4\" \"4\""});
  CHECK(whats(run2) == std::vector<std::string>{"set@0 \"c5\" \"5\""});
  CHECK(whats(run3) == std::vector<std::string>{"set@0 \"c6\" \"6\""});
  std::vector<Cmd> runs = run1;
  runs.insert(runs.end(), run2.begin(), run2.end());
  runs.insert(runs.end(), run3.begin(), run3.end());
  const std::vector<Cmd> whole = after_offset(commands_of(parse_json_lines(u.lines())), s0,
                                              runs.empty() ? 0 : runs.back().end);
  CHECK_MESSAGE(runs == whole, "runs:\n", listing(runs), "uninterrupted:\n", listing(whole));
  for (const BackgroundProcess* r : {&r1, &r2, &r3}) {
    const std::vector<json> lines = parse_json_lines(r->lines());
    REQUIRE_FALSE(lines.empty());
    CHECK(lines.front().value("mode", "") == "partial");
  }
}

SERVER_TEST_CASE(
    "tail: a resume the master cannot serve exits 9, or full-syncs with --allow-full-resync") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  TempDir dir;

  SUBCASE("a state file with a replid the master never had") {
    const fs::path state = dir / "state.json";
    const std::string bogus =
        "{\"replid\":\"0123456789abcdef0123456789abcdef01234567\",\"offset\":12345,\"db\":0}\n";
    write_text(state, bogus);
    BackgroundProcess r(tail_args(m.port(), {"--state", state.string()}));
    CHECK_MESSAGE(r.wait(20s) == 9, r.describe());
    CHECK(of_kind(parse_json_lines(r.lines()), "key").empty());
    CHECK(commands_of(parse_json_lines(r.lines())).empty());
    // Refused means nothing was accepted: the resume point is left as it was, so the next run is
    // refused the same way instead of "resuming" at the full sync's offset.
    CHECK_MESSAGE(read_text(state) == bogus, "state after exit 9: ", read_text(state));
    BackgroundProcess again(tail_args(m.port(), {"--state", state.string()}));
    CHECK_MESSAGE(exit_within(again, 5s) == 9, again.describe());
    write_text(state, bogus);  // the rest does not depend on the above

    BackgroundProcess ok(
        tail_args(m.port(), {"--state", state.string(), "--allow-full-resync", "--count", "1"}));
    const json sync = json::parse(ok.wait_for_line(kind_is("sync"), 20s, "the sync line"));
    CHECK(sync.value("mode", "") == "full");
    ok.wait_for_line(kind_is("snapshot_end"), 20s, "snapshot_end");
    write(c, {"SET", "k", "v"});
    CHECK_MESSAGE(ok.wait(10s) == 0, ok.describe());
    const std::vector<Cmd> cmds = commands_of(parse_json_lines(ok.lines()));
    REQUIRE(cmds.size() == 1);
    const json s = read_json_file(state);
    CHECK(s.value("replid", "") == info_field(c, "replication", "master_replid"));
    CHECK(s.at("offset").get<std::int64_t>() == cmds[0].end);
  }

  SUBCASE("the offset is no longer in the master's backlog") {
    write(c, {"CONFIG", "SET", "repl-backlog-size", "16384"});  // the smallest there is
    const fs::path state = dir / "state.json";
    BackgroundProcess r(tail_args(m.port(), {"--state", state.string(), "--count", "1"}));
    r.wait_for_line(kind_is("sync"), 20s, "the sync line");
    write(c, {"SET", "k", "v"});
    CHECK_MESSAGE(r.wait(10s) == 0, r.describe());
    const std::string before = read_text(state);
    for (int i = 0; i < 10; ++i) write(c, {"SET", "filler", std::string(5000, 'f')});
    BackgroundProcess refused(tail_args(m.port(), {"--state", state.string()}));
    CHECK_MESSAGE(refused.wait(20s) == 9, refused.describe());
    CHECK_MESSAGE(read_text(state) == before, "state after exit 9: ", read_text(state));
    const std::string log = m.log_tail(20000);
    CHECK_MESSAGE(log.find("lack of backlog") != std::string::npos, log);
  }

  SUBCASE("the master restarted without persistence") {
    const fs::path state = dir / "state.json";
    {
      RedisServer old(ServerOptions{.extra_args = master_args()});
      RespClient oc = old.client();
      BackgroundProcess r(tail_args(old.port(), {"--state", state.string(), "--count", "1"}));
      r.wait_for_line(kind_is("sync"), 20s, "the sync line");
      write(oc, {"SET", "k", "v"});
      CHECK_MESSAGE(r.wait(10s) == 0, r.describe());
    }
    const std::string before = read_text(state);
    REQUIRE_FALSE(before.empty());
    // `m` is the restarted master: no data, a new replid, no backlog.
    BackgroundProcess refused(tail_args(m.port(), {"--state", state.string()}));
    CHECK_MESSAGE(refused.wait(20s) == 9, refused.describe());
    CHECK_MESSAGE(read_text(state) == before, "state after exit 9: ", read_text(state));
    write_text(state, before);  // the rest does not depend on the above
    BackgroundProcess ok(tail_args(m.port(), {"--state", state.string(), "--allow-full-resync"}));
    ok.wait_for_line(kind_is("snapshot_end"), 20s, "snapshot_end");
    ok.signal(SIGINT);
    CHECK_MESSAGE(ok.wait(10s) == 130, ok.describe());
    CHECK(read_json_file(state).value("replid", "") ==
          info_field(c, "replication", "master_replid"));
  }
}

// ---------------------------------------------------------------------------------------------
// 4. A master restarted from its RDB keeps the old history as replid2

SERVER_TEST_CASE(
    "tail: --state resumes with +CONTINUE <new replid> after the master restarts from RDB") {
  TempDir dir;
  const fs::path state = dir / "state.json";
  const fs::path rdb = dir / "master.rdb";
  std::string old_replid;
  std::int64_t saved_offset = -1;
  {
    RedisServer m1(ServerOptions{.extra_args = master_args()});
    RespClient c1 = m1.client();
    BackgroundProcess r1(tail_args(m1.port(), {"--noise", "--state", state.string()}));
    r1.wait_for_line(kind_is("sync"), 20s, "the sync line");
    write(c1, {"SET", "before", "restart"});
    write(c1, {"SELECT", "4"});
    write(c1, {"RPUSH", "l4", "a"});
    r1.wait_for_line(command_on("l4"), 10s, "l4");
    wait_quiet(c1, r1);
    r1.signal(SIGINT);
    CHECK_MESSAGE(r1.wait(10s) == 130, r1.describe());
    write(c1, {"SAVE"});
    old_replid = info_field(c1, "replication", "master_replid");
    saved_offset = master_repl_offset(c1);
    fs::copy_file(m1.dir() / "dump.rdb", rdb);
  }
  const json s1 = read_json_file(state);
  CHECK(s1.value("replid", "") == old_replid);
  CHECK(s1.at("offset").get<std::int64_t>() == saved_offset);

  RedisServer m2(ServerOptions{.rdb_file = rdb, .extra_args = master_args()});
  RespClient c2 = m2.client();
  REQUIRE(info_field(c2, "replication", "master_replid2") == old_replid);
  const std::string new_replid = info_field(c2, "replication", "master_replid");
  REQUIRE(new_replid != old_replid);

  BackgroundProcess r2(tail_args(m2.port(), {"--noise", "--state", state.string()}));
  const json sync = json::parse(r2.wait_for_line(kind_is("sync"), 20s, "the sync line"));
  CHECK(sync.value("mode", "") == "partial");
  CHECK(sync.value("new_replid", false) == true);
  CHECK(sync.value("replid", "") == new_replid);
  CHECK(sync.at("offset").get<std::int64_t>() == saved_offset);
  write(c2, {"SET", "after", "restart"});
  r2.wait_for_line(command_on("after"), 10s, "after");
  wait_quiet(c2, r2);
  r2.signal(SIGINT);
  CHECK_MESSAGE(r2.wait(10s) == 130, r2.describe());
  const std::vector<Cmd> cmds = commands_of(parse_json_lines(r2.lines()));
  check_contiguous(cmds, saved_offset + 1, "after the restart");
  CHECK(whats(data_only(cmds)) == std::vector<std::string>{"set@0 \"after\" \"restart\""});
  const json s2 = read_json_file(state);
  CHECK(s2.value("replid", "") == new_replid);
  CHECK(s2.at("offset").get<std::int64_t>() == master_repl_offset(c2));
}

// ---------------------------------------------------------------------------------------------
// 5. --from-rdb with the RDB of a real replica

SERVER_TEST_CASE("tail: --from-rdb resumes with PSYNC from a real replica's RDB") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  write(c, {"SET", "k0", "v0"});
  RedisServer r(ServerOptions{
      .extra_args = master_args({"--replicaof", "127.0.0.1", std::to_string(m.port())})});
  RespClient rc = r.client();
  std::string link;
  std::int64_t r_offset = -1, m_offset = -2;
  auto in_sync = [&] {
    link = info_field(rc, "replication", "master_link_status");
    r_offset = std::stoll("0" + info_field(rc, "replication", "slave_repl_offset"));
    m_offset = master_repl_offset(c);
    return link == "up" && r_offset == m_offset;
  };
  REQUIRE_MESSAGE(wait_until(in_sync, 15s, 50ms), "replica link ", link, ", replica offset ",
                  r_offset, ", master ", m_offset, "\n", r.log_tail());
  // Through the stream, so that the replica's master client is left in db 3.
  write(c, {"SELECT", "3"});
  write(c, {"SET", "k3", "v3"});
  REQUIRE_MESSAGE(wait_until(in_sync, 15s, 50ms), "replica link ", link, ", replica offset ",
                  r_offset, ", master ", m_offset, "\n", r.log_tail());
  write(rc, {"SAVE"});
  TempDir dir;
  const fs::path rdb = dir / "replica.rdb";
  fs::copy_file(r.dir() / "dump.rdb", rdb);
  std::string repl_id, repl_offset, repl_db;
  for (const json& a : of_kind(redis_repl::test::dump_file_json(rdb), "aux")) {
    const std::string f = json_bytes(a.at("field"));
    if (f == "repl-id") repl_id = json_bytes(a.at("value"));
    if (f == "repl-offset") repl_offset = json_bytes(a.at("value"));
    if (f == "repl-stream-db") repl_db = json_bytes(a.at("value"));
  }
  REQUIRE(repl_id == info_field(c, "replication", "master_replid"));
  REQUIRE(repl_db == "3");
  const std::int64_t saved = std::stoll(repl_offset);
  REQUIRE(saved >= r_offset);  // a master PING may have come in since

  // Still in db 3: the master emits no SELECT before these, the RDB says which db it is.
  write(c, {"SET", "after1", "a"});
  write(c, {"SELECT", "0"});
  write(c, {"SET", "after2", "b"});

  BackgroundProcess t(tail_args(m.port(), {"--noise", "--from-rdb", rdb.string()}));
  const json sync = json::parse(t.wait_for_line(kind_is("sync"), 20s, "the sync line"));
  CHECK(sync.value("mode", "") == "partial");
  CHECK(sync.value("new_replid", true) == false);
  CHECK(sync.at("offset").get<std::int64_t>() == saved);
  t.wait_for_line(command_on("after2"), 10s, "after2");
  t.signal(SIGINT);
  CHECK_MESSAGE(t.wait(10s) == 130, t.describe());
  const std::vector<Cmd> cmds = commands_of(parse_json_lines(t.lines()));
  check_contiguous(cmds, saved + 1, "tail --from-rdb");
  CHECK(whats(data_only(cmds)) ==
        std::vector<std::string>{"set@3 \"after1\" \"a\"", "set@0 \"after2\" \"b\""});
  CHECK(of_kind(parse_json_lines(t.lines()), "key").empty());
}

// ---------------------------------------------------------------------------------------------
// 6. Links cut and stalled

SERVER_TEST_CASE("tail: a link cut mid-stream is resumed with PSYNC, nothing missing or doubled") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  TcpProxy proxy(m.port());
  BackgroundProcess t(tail_args(proxy.port(), {"--noise"}));
  const std::int64_t start =
      json::parse(t.wait_for_line(kind_is("sync"), 20s, "sync")).at("offset").get<std::int64_t>();
  write(c, {"SET", "a", "1"});
  t.wait_for_line(command_on("a"), 10s, "a");

  // Cut inside a 150 kB command: the master's stream stops after 1000 bytes of it.
  const std::string big1 = random_payload(150000, 1);
  proxy.cut_after(TcpProxy::Direction::to_client, 1000);
  write(c, {"SET", "big1", big1});
  write(c, {"SET", "b", "2"});
  t.wait_for_line(command_on("b"), 15s, "b, after the first cut");

  // Cut inside a transaction: held until EXEC, so it is printed once, whole, after the resume.
  const std::string big2 = random_payload(100000, 2);
  proxy.cut_after(TcpProxy::Direction::to_client, 300);
  c.send_raw(redis_repl::test::encode_command({"MULTI"}) +
             redis_repl::test::encode_command({"SET", "t1", "x"}) +
             redis_repl::test::encode_command({"SET", "t2", big2}) +
             redis_repl::test::encode_command({"EXEC"}));
  for (int i = 0; i < 4; ++i) REQUIRE_FALSE(c.read_reply().is_error());
  write(c, {"SET", "d", "4"});
  t.wait_for_line(command_on("d"), 15s, "d, after the second cut");

  // Cut the other way: the next ACK breaks the link.
  proxy.cut_after(TcpProxy::Direction::to_server, 0);
  REQUIRE_MESSAGE(wait_until([&] { return proxy.cuts() == 3; }, 5s), t.describe());
  write(c, {"SET", "e", "5"});
  t.wait_for_line(command_on("e"), 15s, "e, after the third cut");
  wait_quiet(c, t, 5s);
  t.signal(SIGINT);
  CHECK_MESSAGE(t.wait(10s) == 130, t.describe());

  const std::vector<json> lines = parse_json_lines(t.lines());
  const std::vector<json> syncs = of_kind(lines, "sync");
  REQUIRE(syncs.size() == 4);  // the first, then one per cut
  CHECK(proxy.cuts() == 3);
  const std::vector<Cmd> cmds = commands_of(lines);
  // One contiguous feed across the reconnects; each resume starts where the feed was.
  check_contiguous(cmds, start + 1, "tail through the proxy");
  for (std::size_t i = 1; i < syncs.size(); ++i) {
    CHECK(syncs[i].value("mode", "") == "partial");
    CHECK(syncs[i].value("new_replid", true) == false);
  }
  std::size_t cmd_index = 0;
  for (const json& l : lines) {
    if (l.value("kind", "") == "command") ++cmd_index;
    if (l.value("kind", "") == "sync" && cmd_index > 0)
      CHECK_MESSAGE(l.at("offset").get<std::int64_t>() == cmds[cmd_index - 1].end, "resumed at ",
                    l.dump(), " after ", cmds[cmd_index - 1].text());
  }
  const std::vector<Cmd> data = data_only(cmds);
  CHECK(whats(data) == std::vector<std::string>{"set@0 \"a\" \"1\"",
                                                "set@0 \"big1\" " + quote_bytes(big1, 60),
                                                "set@0 \"b\" \"2\"", "set@0 \"t1\" \"x\"",
                                                "set@0 \"t2\" " + quote_bytes(big2, 60),
                                                "set@0 \"d\" \"4\"", "set@0 \"e\" \"5\""});
  for (const Cmd& x : data) {
    if (x.args[0] == "big1") CHECK(x.args[1] == big1);
    if (x.args[0] == "t2") CHECK(x.args[1] == big2);
  }
}

SERVER_TEST_CASE("tail: a stalled link times out (--timeout) and is resumed with PSYNC") {
  RedisServer m(ServerOptions{.extra_args = master_args({"--repl-ping-replica-period", "1"})});
  RespClient c = m.client();
  TcpProxy proxy(m.port());
  BackgroundProcess t(tail_args(proxy.port(), {"--timeout", "2"}));
  t.wait_for_line(kind_is("sync"), 20s, "the sync line");
  write(c, {"SET", "a", "1"});
  std::size_t a_at = 0;
  t.wait_for_line(command_on("a"), 10s, "a", 0, &a_at);
  const int before_stall = proxy.connections();
  proxy.stall();
  write(c, {"SET", "b", "2"});  // held in the stalled link
  const auto stalled_at = std::chrono::steady_clock::now();
  t.wait_for_line(
      [](std::string_view l) {
        const auto j = parse_line(l);
        return j && j->value("kind", "") == "sync" && j->value("mode", "") == "partial";
      },
      15s, "a partial sync after the stall", a_at + 1);
  const auto waited = std::chrono::steady_clock::now() - stalled_at;
  // --timeout 2 counts from the last byte (a PING, at most 1 s before the stall), then the
  // backoff (500 ms): not before 1.5 s; 1 s leaves room for scheduling.
  CHECK(waited >= 1000ms);
  t.wait_for_line(command_on("b"), 10s, "b");
  t.signal(SIGINT);
  CHECK_MESSAGE(t.wait(10s) == 130, t.describe());
  CHECK(whats(commands_of(parse_json_lines(t.lines()))) ==
        std::vector<std::string>{"set@0 \"a\" \"1\"", "set@0 \"b\" \"2\""});
  CHECK(proxy.connections() == before_stall + 1);  // one reconnect, resuming: no join again
}

SERVER_TEST_CASE("tail: --snapshot cut mid-transfer exits 3 and leaves well-formed JSON Lines") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  // One list of 2.4 MB of incompressible elements: the cut falls inside its line.
  for (unsigned batch = 0; batch < 20; ++batch) {
    std::vector<std::string> cmd = {"RPUSH", "biglist"};
    const std::string bytes = random_payload(10000 * 12, batch + 1);
    for (std::size_t i = 0; i < 10000; ++i) cmd.push_back(bytes.substr(i * 12, 12));
    write(c, cmd);
  }
  write(c, {"SET", "small", "1"});
  TcpProxy proxy(m.port());
  proxy.cut_after(TcpProxy::Direction::to_client, 1000000);
  BackgroundProcess t(tail_args(proxy.port(), {"--snapshot"}));
  CHECK_MESSAGE(t.wait(20s) == 3, t.describe());
  CHECK(proxy.cuts() == 1);
  const std::string out = t.out();
  CHECK(out.find("\"snapshot_end\"") == std::string::npos);
  std::vector<json> lines;
  CHECK_NOTHROW(lines = parse_json_lines(out));
  CHECK_MESSAGE((out.empty() || out.back() == '\n'), "stdout ends inside a line: ...",
                quote_bytes(out.substr(out.size() > 200 ? out.size() - 200 : 0), 200));
}

// ---------------------------------------------------------------------------------------------
// 7. Authentication, permissions, connection failures

SERVER_TEST_CASE("tail: passwords, ACL users and unreachable masters") {
  const std::string password = "test-master-pw";
  // Set after the start: the harness checks readiness with a PING that needs no password.
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  write(c, {"CONFIG", "SET", "requirepass", password});
  REQUIRE(must(c, {"AUTH", password}).str == "OK");
  write(c, {"ACL", "SETUSER", "repl", "on", ">test-repl-pw", "+psync", "+replconf", "+ping"});
  write(c, {"ACL", "SETUSER", "nopsync", "on", ">test-nopsync-pw", "+replconf", "+ping"});

  auto no_secret = [](const BackgroundProcess& p) {
    const std::string all = p.err() + p.out();
    for (const char* s : {"test-master-pw", "test-repl-pw", "test-nopsync-pw", "wrong-pw"})
      CHECK_MESSAGE(all.find(s) == std::string::npos,
                    "a password shows in the output: ", p.describe());
  };

  SUBCASE("the right password through REDISCLI_AUTH") {
    BackgroundProcess t(tail_args(m.port(), {"--count", "1"}), {{"REDISCLI_AUTH", password}});
    t.wait_for_line(kind_is("sync"), 20s, "the sync line");
    write(c, {"SET", "k", "v"});
    CHECK_MESSAGE(t.wait(10s) == 0, t.describe());
    CHECK(whats(commands_of(parse_json_lines(t.lines()))) ==
          std::vector<std::string>{"set@0 \"k\" \"v\""});
    no_secret(t);
  }
  SUBCASE("a wrong password exits 4") {
    BackgroundProcess t(tail_args(m.port()), {{"REDISCLI_AUTH", "wrong-pw"}});
    CHECK_MESSAGE(t.wait(20s) == 4, t.describe());
    CHECK(t.out().empty());
    no_secret(t);
  }
  SUBCASE("no password exits 4") {
    BackgroundProcess t(tail_args(m.port()));
    CHECK_MESSAGE(t.wait(20s) == 4, t.describe());
    CHECK(t.out().empty());
  }
  SUBCASE("an ACL user with +psync +replconf +ping") {
    BackgroundProcess t(tail_args(m.port(), {"--user", "repl", "--count", "1"}),
                        {{"REDISCLI_AUTH", "test-repl-pw"}});
    t.wait_for_line(kind_is("snapshot_end"), 20s, "snapshot_end");
    write(c, {"SET", "k", "v"});
    CHECK_MESSAGE(t.wait(10s) == 0, t.describe());
    CHECK(whats(commands_of(parse_json_lines(t.lines()))) ==
          std::vector<std::string>{"set@0 \"k\" \"v\""});
    no_secret(t);
  }
  SUBCASE("an ACL user without psync exits 5") {
    BackgroundProcess t(tail_args(m.port(), {"--user", "nopsync"}),
                        {{"REDISCLI_AUTH", "test-nopsync-pw"}});
    CHECK_MESSAGE(t.wait(20s) == 5, t.describe());
    CHECK(t.out().empty());
    no_secret(t);
  }
  SUBCASE("an ACL user with a wrong password exits 4") {
    BackgroundProcess t(tail_args(m.port(), {"--user", "repl"}), {{"REDISCLI_AUTH", "wrong-pw"}});
    CHECK_MESSAGE(t.wait(20s) == 4, t.describe());
    no_secret(t);
  }
  SUBCASE("nothing listening exits 3") {
    int free_port = 0;
    {
      // A port nothing listens on: the proxy's, once it is gone.
      TcpProxy p(m.port());
      free_port = p.port();
    }
    BackgroundProcess t(tail_args(free_port, {"--timeout", "3"}));
    CHECK_MESSAGE(t.wait(20s) == 3, t.describe());
    CHECK(t.out().empty());
  }
}

// ---------------------------------------------------------------------------------------------
// 6. From the first moment: no gap, no fork, timestamps; what the ACKs do to the master

namespace {

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SERVER_TEST_CASE(
    "tail: a master with Debian's defaults is joined at once, with no gap and no fork") {
  // No repl-diskless-sync-delay 0 here: the default diskless sync waits 5 s before it forks.
  RedisServer m(ServerOptions{});
  RespClient c = m.client();
  write(c, {"SELECT", "5"});
  write(c, {"SET", "before", "1"});
  const std::int64_t t0 = unix_ms_now();
  BackgroundProcess t(tail_args(m.port()));
  std::this_thread::sleep_for(100ms);
  write(c, {"SET", "at100ms", "1"});
  std::this_thread::sleep_for(900ms);
  write(c, {"SET", "at1s", "1"});
  RespClient c0 = m.client();
  write(c0, {"SET", "db0", "1"});
  t.wait_for_line(command_on("db0"), 3s, "db0, within 3 s (a fork would take 5)");
  const std::int64_t t1 = unix_ms_now();
  const std::vector<json> lines = parse_json_lines(t.lines());
  const std::vector<Cmd> cmds = commands_of(lines);
  CHECK(whats(cmds) == std::vector<std::string>{"set@5 \"at100ms\" \"1\"", "set@5 \"at1s\" \"1\"",
                                                "set@0 \"db0\" \"1\""});
  // Every line has its time of arrival, in order, within the test's own clock.
  std::int64_t last = 0;
  for (const json& l : lines) {
    REQUIRE_MESSAGE(l.contains("ts"), l.dump());
    const std::int64_t ts = l.at("ts").get<std::int64_t>();
    CHECK(ts >= last);
    CHECK(ts >= t0 - 1000);
    CHECK(ts <= t1 + 1000);
    last = ts;
  }
  const std::string log = m.log_tail(200000);
  CHECK_MESSAGE(log.find("Starting BGSAVE") == std::string::npos, log);
  CHECK_MESSAGE(log.find("Partial resynchronization request") != std::string::npos, log);

  // A master that already has a replica (and so a backlog) is joined at its offset at once.
  RedisServer replica(
      ServerOptions{.extra_args = {"--replicaof", "127.0.0.1", std::to_string(m.port())}});
  RespClient rc = replica.client();
  REQUIRE(
      wait_until([&] { return info_field(rc, "replication", "master_link_status") == "up"; }, 20s));
  const std::size_t forks = [&] {
    const std::string l = m.log_tail(200000);
    std::size_t n = 0;
    for (std::size_t at = l.find("Starting BGSAVE"); at != std::string::npos;
         at = l.find("Starting BGSAVE", at + 1))
      ++n;
    return n;
  }();
  const auto start = std::chrono::steady_clock::now();
  BackgroundProcess t2(tail_args(m.port()));
  t2.wait_for_line(kind_is("sync"), 5s, "the sync line");
  write(c0, {"SET", "second", "1"});
  t2.wait_for_line(command_on("second"), 5s, "second");
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  const std::string log2 = m.log_tail(200000);
  std::size_t forks2 = 0;
  for (std::size_t at = log2.find("Starting BGSAVE"); at != std::string::npos;
       at = log2.find("Starting BGSAVE", at + 1))
    ++forks2;
  CHECK_MESSAGE(forks2 == forks, log2);
}

SERVER_TEST_CASE("tail: by default no WAIT or FAILOVER is satisfied by it, --ack-written counts") {
  RedisServer m(ServerOptions{.extra_args = master_args({"--repl-timeout", "2"})});
  RespClient c = m.client();
  {
    BackgroundProcess t(tail_args(m.port()));
    t.wait_for_line(kind_is("sync"), 10s, "the sync line");
    write(c, {"SET", "w", "1"});
    t.wait_for_line(command_on("w"), 5s, "w");
    std::this_thread::sleep_for(1200ms);  // an ACK went out since
    CHECK(must(c, {"WAIT", "1", "100"}).integer == 0);
    // A FAILOVER finds no replica at the master's offset: it gives up, the master stays one.
    must(c, {"FAILOVER", "TIMEOUT", "1000"});
    REQUIRE(wait_until(
        [&] { return info_field(c, "replication", "master_failover_state") == "no-failover"; },
        5s));
    CHECK(info_field(c, "replication", "role") == "master");
    CHECK_MESSAGE(m.log_tail().find("aborted") != std::string::npos, m.log_tail());
    // Idle for longer than repl-timeout: still attached.
    std::this_thread::sleep_for(3s);
    CHECK(info_field(c, "replication", "connected_slaves") == "1");
    CHECK_FALSE(t.exit_code().has_value());
    t.signal(SIGTERM);
    CHECK(t.wait(10s) == 143);
  }
  REQUIRE(wait_until([&] { return info_field(c, "replication", "connected_slaves") == "0"; }, 5s));
  BackgroundProcess t(tail_args(m.port(), {"--ack-written"}));
  t.wait_for_line(kind_is("sync"), 10s, "the sync line");
  write(c, {"SET", "w", "2"});
  CHECK(must(c, {"WAIT", "1", "2000"}).integer == 1);
  std::this_thread::sleep_for(3s);
  CHECK(info_field(c, "replication", "connected_slaves") == "1");
  CHECK_FALSE(t.exit_code().has_value());
}

SERVER_TEST_CASE("tail | head -1 on an idle master ends at once and leaves no replica behind") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  BackgroundProcess p({"/bin/bash", "-c", "\"$1\" tail -p \"$2\" | head -1; exit ${PIPESTATUS[0]}",
                       "bash", binary, std::to_string(m.port())});
  CHECK_MESSAGE(p.wait(2s) == 0, p.describe());
  CHECK(parse_json_lines(p.out()).size() == 1);
  CHECK(wait_until([&] { return info_field(c, "replication", "connected_slaves") == "0"; }, 2s));
}

SERVER_TEST_CASE(
    "tail: a reader that stops for a while costs the master nothing: the output waits") {
  // A master that drops a replica holding more than 1 MB for 5 s; a reader that reads nothing
  // for the first 9 s while 4 MB of writes flow.
  RedisServer m(ServerOptions{
      .extra_args = master_args({"--client-output-buffer-limit", "replica 1mb 512kb 5"})});
  RespClient c = m.client();
  TempDir dir;
  const fs::path out = dir / "feed.resp";
  BackgroundProcess p({"/bin/bash", "-c",
                       "\"$1\" tail -p \"$2\" --format resp --duration 14 | "
                       "{ sleep 9; cat > \"$3\"; }; exit ${PIPESTATUS[0]}",
                       "bash", binary, std::to_string(m.port()), out.string()});
  REQUIRE(wait_until([&] { return info_field(c, "replication", "connected_slaves") == "1"; }, 10s));
  std::this_thread::sleep_for(300ms);  // joined: its pin is in the stream
  const std::string value(1000, 'v');
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<std::vector<std::string>> cmds;
    for (int i = 0; i < 100; ++i)
      cmds.push_back({"SET", "k" + std::to_string(batch * 100 + i), value});
    for (const Reply& r : c.pipeline(cmds)) REQUIRE_FALSE(r.is_error());
    std::this_thread::sleep_for(50ms);
  }
  CHECK_MESSAGE(p.wait(30s) == 0, p.describe());
  const std::string log = m.log_tail(200000);
  CHECK_MESSAGE(log.find("overcoming of output buffer limits") == std::string::npos, log);
  CHECK(info_field(c, "replication", "connected_slaves") == "0");

  RedisServer target(ServerOptions{.extra_args = master_args()});
  const redis_repl::test::ProgramResult replay = redis_repl::test::run_program(
      {"sh", "-c", "\"$3\" -p \"$1\" --pipe < \"$2\"", "sh", std::to_string(target.port()),
       out.string(), std::string(flavour.cli)});
  REQUIRE_MESSAGE(replay.exit_code == 0, replay.out, replay.err);
  RespClient tc = target.client();
  CHECK(must(tc, {"DBSIZE"}).integer == 4000);
  CHECK(must(tc, {"DEBUG", "DIGEST"}).str == must(c, {"DEBUG", "DIGEST"}).str);
}
