// Nothing lost, as a test: a real master (Redis 7.0.15, then Valkey 8.0.1) takes a mixed workload
// of every type in several dbs (far-future expiries, MULTI/EXEC, EVAL, FUNCTION LOAD and FCALL,
// DEL, FLUSHDB, streams with XADD/XGROUP/XREADGROUP/XACK) from a writer thread, while two tails
// follow it with --state and are interrupted again and again while the writes flow:
// * `tail --format json --noise`, started on the empty master: SIGKILL (twice), the link cut by
//   CLIENT KILL TYPE replica, the master shut down (SHUTDOWN SAVE) and restarted from its RDB.
//   Dropping the command lines whose offset was already seen (the recipe of the man page) must
//   leave one contiguous feed (each offset one past the previous end_offset, from the first sync
//   to the master's last offset), with reprints only after a SIGKILL; its commands, replayed into
//   an empty server with `redis-cli --pipe`, must give the master's DEBUG DIGEST and data set;
// * `tail --snapshot --format resp`: SIGINT, SIGTERM, the same link cut and restart. Its runs'
//   outputs, concatenated, must be the snapshot's commands followed by exactly the commands of
//   the JSON feed from there on (none missing, none twice: RESP has no offsets, so this is
//   compared command by command), and replayed must give the master's digest and data set too.
// No resume needs a full sync (the master's sync_full and sync_partial_err counters). Every
// wait is bounded; the servers and tails are stopped by the objects that own them.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
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

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using redis_repl::test::BackgroundProcess;
using redis_repl::test::encode_command;
using redis_repl::test::HarnessError;
using redis_repl::test::info_field;
using redis_repl::test::json_bytes;
using redis_repl::test::master_args;
using redis_repl::test::master_repl_offset;
using redis_repl::test::must;
using redis_repl::test::parse_json_lines;
using redis_repl::test::quote_bytes;
using redis_repl::test::RedisServer;
using redis_repl::test::Reply;
using redis_repl::test::RespClient;
using redis_repl::test::ServerOptions;
using redis_repl::test::TempDir;
using redis_repl::test::wait_until;

const std::string binary = REDIS_REPL_BINARY;

// The two tails announce these ports (REPLCONF listening-port), so that INFO replication tells
// their ACKs apart. Nothing listens on them.
constexpr int resp_tag = 1001;
constexpr int json_tag = 1002;

// A master with room in its backlog for every write made while a tail is away.
std::vector<std::string> lost_master_args() { return master_args({"--repl-backlog-size", "32mb"}); }

std::string library(std::uint64_t revision) {
  return "#!lua name=lostlib\n-- revision " + std::to_string(revision) +
         "\nredis.register_function('lost_write', function(keys, args)\n"
         "  redis.call('SET', keys[1], args[1])\n"
         "  return redis.call('INCR', keys[2])\n"
         "end)\n";
}

// ---------------------------------------------------------------------------------------------
// The workload: a writer thread, bounded in batches and in time

class Workload {
 public:
  static constexpr std::uint64_t max_batches = 100000;
  static constexpr auto max_run = 30s;

  ~Workload() { stop(); }

  void start(int port) {
    stop();
    halt_ = false;
    {
      std::lock_guard lock(mutex_);
      error_.clear();
      ended_.clear();
    }
    finished_ = false;
    thread_ = std::thread([this, port] { run(port); });
  }
  // Asks the writer to stop and joins it (each request it may be in has a bounded timeout).
  void stop() {
    halt_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t batches() const { return done_.load(); }
  // The first error reply not expected; "" when none.
  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }
  // What ended the writer before it was stopped (the connection failed, a request timed out);
  // "" when nothing did.
  std::string ended() const {
    std::lock_guard lock(mutex_);
    return ended_;
  }
  // Waits until n more batches have been answered.
  void wait_more(std::uint64_t n, std::string_view what) {
    const std::uint64_t target = batches() + n;
    const bool ok = wait_until([&] { return batches() >= target || !thread_running(); }, 20s, 5ms);
    REQUIRE_MESSAGE((ok && batches() >= target), "the writer did not write ", n, " more batches (",
                    what, "): at ", batches(), "; ", error(), " ", ended());
  }

 private:
  bool thread_running() const { return !finished_.load(); }

  void fail(std::string why) {
    std::lock_guard lock(mutex_);
    if (error_.empty()) error_ = std::move(why);
  }

  void run(int port) {
    const auto deadline = std::chrono::steady_clock::now() + max_run;
    try {
      RespClient c(port, 15000ms);
      while (!halt_ && done_ < max_batches && std::chrono::steady_clock::now() < deadline) {
        const std::uint64_t i = done_.load();
        const std::vector<std::vector<std::string>> cmds = batch(i);
        const std::vector<Reply> replies = c.pipeline(cmds);
        for (std::size_t k = 0; k < replies.size(); ++k)
          if (replies[k].is_error() && replies[k].str.rfind("BUSYGROUP", 0) != 0)
            fail("batch " + std::to_string(i) + ": " + quote_bytes(cmds[k][0]) + " answered " +
                 replies[k].describe());
        // XACK the first entry the XREADGROUP of this batch delivered.
        for (std::size_t k = 0; k < cmds.size(); ++k) {
          if (cmds[k][0] != "XREADGROUP" || replies[k].type != Reply::Type::array) continue;
          const Reply& r = replies[k];
          if (r.elements.empty() || r.elements[0].elements.size() < 2 ||
              r.elements[0].elements[1].elements.empty())
            continue;
          const std::string& id = r.elements[0].elements[1].elements[0].elements.at(0).str;
          must(c, {"XACK", cmds[k][cmds[k].size() - 2], "g", id});
        }
        ++done_;
        // Pacing, not waiting for anything: about a thousand batches a second at most, so that
        // the tails (sanitized ones included) keep up on a shared machine.
        std::this_thread::sleep_for(500us);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      ended_ = e.what();
    }
    finished_ = true;
  }

  // Batch i: a SELECT of one of dbs 0 to 3, then the commands of one of 14 kinds, on one of 6
  // keys per kind and db (the data set stays small however long it runs).
  static std::vector<std::vector<std::string>> batch(std::uint64_t i) {
    constexpr std::uint64_t kinds = 14;
    const std::uint64_t kind = i % kinds;
    const std::uint64_t db = (i / kinds) % 4;
    const std::uint64_t round = i / (kinds * 4);
    const std::string j = std::to_string(round % 6);
    const std::string v = "v" + std::to_string(i);
    const std::string n = std::to_string(i);
    const std::string far = std::to_string(4102444800000 + i);  // 2100-01-01, plus i ms
    std::vector<std::vector<std::string>> c = {{"SELECT", std::to_string(db)}};
    switch (kind) {
      case 0:
        c.push_back({"SET", "s:" + j, v, "EX", "31536000"});
        c.push_back({"APPEND", "s:" + j, "+" + n});
        break;
      case 1:
        c.push_back({"INCRBY", "n:" + j, "3"});
        c.push_back({"INCRBYFLOAT", "f:" + j, "0.25"});
        c.push_back({"DECR", "n:" + j});
        break;
      case 2:
        c.push_back({"RPUSH", "l:" + j, v, "x" + n});
        c.push_back({"LPUSH", "l:" + j, "head"});
        c.push_back({"LTRIM", "l:" + j, "0", "30"});
        if (round % 3 == 0) c.push_back({"LPOP", "l:" + j});
        break;
      case 3:
        c.push_back({"SADD", "set:" + j, std::to_string(i % 40), "m" + std::to_string(i % 25)});
        c.push_back({"SREM", "set:" + j, "m" + std::to_string((i + 7) % 25)});
        c.push_back({"SPOP", "set:" + j});
        break;
      case 4:
        c.push_back({"ZADD", "z:" + j, std::to_string(static_cast<double>(i % 97) / 8 - 3),
                     "m" + std::to_string(i % 50)});
        c.push_back({"ZINCRBY", "z:" + j, "1.25", "m" + std::to_string((i + 3) % 50)});
        c.push_back({"ZREMRANGEBYRANK", "z:" + j, "0", "-31"});
        break;
      case 5:
        c.push_back({"HSET", "h:" + j, "f" + std::to_string(i % 20), v});
        c.push_back({"HINCRBY", "h:" + j, "count", "1"});
        c.push_back({"HDEL", "h:" + j, "f" + std::to_string((i + 5) % 20)});
        c.push_back({"PEXPIREAT", "h:" + j, far});
        break;
      case 6:
        c.push_back({"XADD", "x:" + j, "*", "n", n});
        c.push_back({"XADD", "x:" + j, "*", "n", n, "pad", std::string(i % 30, 'p')});
        c.push_back({"XGROUP", "CREATE", "x:" + j, "g", "0", "MKSTREAM"});  // BUSYGROUP: fine
        c.push_back({"XREADGROUP", "GROUP", "g", "c" + std::to_string(i % 3), "COUNT", "2",
                     "STREAMS", "x:" + j, ">"});
        c.push_back({"XTRIM", "x:" + j, "MAXLEN", "40"});
        break;
      case 7:
        c.push_back({"MULTI"});
        c.push_back({"SET", "t:" + j, v});
        c.push_back({"INCR", "tn:" + j});
        c.push_back({"RPUSH", "tl:" + j, v});
        c.push_back({"LTRIM", "tl:" + j, "-10", "-1"});
        c.push_back({"EXEC"});
        break;
      case 8:
        c.push_back({"EVAL",
                     "redis.call('SET', KEYS[1], ARGV[1]) "
                     "redis.call('HSET', KEYS[2], 'last', ARGV[1]) "
                     "redis.call('EXPIRE', KEYS[1], 34560000) "
                     "return redis.call('INCR', KEYS[3])",
                     "3", "e:" + j, "eh:" + j, "en:" + j, v});
        break;
      case 9:
        if (round % 5 == 4) c.push_back({"FUNCTION", "LOAD", "REPLACE", library(round)});
        c.push_back({"FCALL", "lost_write", "2", "fs:" + j, "fn:" + j, v});
        break;
      case 10:
        c.push_back({"DEL", "s:" + j, "l:" + j, "nothing:" + j});
        break;
      case 11:
        c.push_back({"EXPIRE", "l:" + j, "2592000"});
        c.push_back({"PERSIST", "s:" + j});
        c.push_back({"COPY", "h:" + j, "hc:" + j, "REPLACE"});
        break;
      case 12:
        if (db == 3 && round % 2 == 1)
          c.push_back({"FLUSHDB"});
        else
          c.push_back({"SET", "big:" + j,
                       std::string(2000 + i % 500, static_cast<char>('a' + i % 26)), "PXAT", far});
        break;
      default:
        c.push_back({"MSET", "ms:a:" + j, v, "ms:b:" + j, v});
        c.push_back({"SETRANGE", "ms:a:" + j, "2", "zz"});
        c.push_back({"LMOVE", "tl:" + j, "tl2:" + j, "LEFT", "RIGHT"});
        c.push_back({"GETDEL", "ms:b:" + j});
        break;
    }
    return c;
  }

  std::atomic<bool> halt_{false};
  std::atomic<bool> finished_{true};
  std::atomic<std::uint64_t> done_{0};  // batches answered, across starts (keys keep varying)
  mutable std::mutex mutex_;
  std::string error_;
  std::string ended_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// The tails

// The runs of one tail command line: each run resumes from the state file of the one before.
class Tail {
 public:
  Tail(int tag, std::vector<std::string> args) : tag_(tag), args_(std::move(args)) {}

  BackgroundProcess& start(int port) {
    std::vector<std::string> argv = {
        binary, "tail", "-p", std::to_string(port), "--announce-port", std::to_string(tag_),
        // ACK all that was written, so that "caught up" is the master's own offset.
        "--ack-written"};
    argv.insert(argv.end(), args_.begin(), args_.end());
    runs_.push_back(std::make_unique<BackgroundProcess>(argv));
    return *runs_.back();
  }
  BackgroundProcess& last() { return *runs_.back(); }
  const std::vector<std::unique_ptr<BackgroundProcess>>& runs() const { return runs_; }
  int tag() const { return tag_; }

  // Stops the current run with sig and requires the exit code.
  void stop(int sig, int expected) {
    BackgroundProcess& p = last();
    p.signal(sig);
    int code = -1;
    try {
      code = p.wait(15s);
    } catch (const HarnessError& e) {
      FAIL("tail run ", runs_.size(), " did not exit on signal ", sig, ": ", e.what());
    }
    REQUIRE_MESSAGE(code == expected, "tail run ", runs_.size(), " exited ", code, " on signal ",
                    sig, "; ", p.describe());
  }

 private:
  int tag_;
  std::vector<std::string> args_;
  std::vector<std::unique_ptr<BackgroundProcess>> runs_;
};

// The offset the master last got in an ACK from the tail announcing `tag`; nullopt when that
// tail is not connected.
std::optional<std::int64_t> ack_of(RespClient& c, int tag) {
  const Reply r = must(c, {"INFO", "replication"});
  const std::string port = "port=" + std::to_string(tag) + ",";
  std::istringstream lines(r.str);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("slave", 0) != 0 || line.find(port) == std::string::npos) continue;
    const std::size_t at = line.find("offset=");
    if (at == std::string::npos) return std::nullopt;
    return std::stoll(line.substr(at + 7));
  }
  return std::nullopt;
}

// Waits until the tail has ACKed (so written out) the stream up to at least `offset`.
void wait_acked(RespClient& c, Tail& t, std::int64_t offset, std::string_view what) {
  std::optional<std::int64_t> got;
  const bool ok = wait_until(
      [&] {
        got = ack_of(c, t.tag());
        return got && *got >= offset;
      },
      30s, 20ms);
  REQUIRE_MESSAGE(ok, "tail ", t.tag(), " (", what, ") did not ACK offset ", offset, ": ",
                  got ? std::to_string(*got) : std::string("not connected"), "; ",
                  t.last().describe());
}

// Waits until the master is quiet and both tails have ACKed all of it; returns that offset.
std::int64_t wait_caught_up(RespClient& c, Tail& a, Tail& b) {
  std::int64_t master = -1;
  std::optional<std::int64_t> x, y;
  const bool ok = wait_until(
      [&] {
        master = master_repl_offset(c);
        x = ack_of(c, a.tag());
        y = ack_of(c, b.tag());
        return x == master && y == master;
      },
      30s, 50ms);
  auto text = [](std::optional<std::int64_t> v) {
    return v ? std::to_string(*v) : std::string("not connected");
  };
  REQUIRE_MESSAGE(ok, "master_repl_offset ", master, ", tail ", a.tag(), " ACKed ", text(x),
                  ", tail ", b.tag(), " ACKed ", text(y), "; ", a.last().describe(), "; ",
                  b.last().describe());
  return master;
}

json read_json_file(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in.good(), "cannot read ", p.filename().string());
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

std::int64_t state_offset(const fs::path& p) {
  return read_json_file(p).at("offset").get<std::int64_t>();
}

// The end_offset of the last complete command line a JSON tail printed, or -1.
std::int64_t last_printed_end(const BackgroundProcess& p) {
  const std::string out = p.out();
  std::size_t end = out.rfind('\n');
  while (end != std::string::npos && end > 0) {
    const std::size_t begin = out.rfind('\n', end - 1);
    const std::size_t from = begin == std::string::npos ? 0 : begin + 1;
    const json l = json::parse(out.substr(from, end - from), nullptr, false);
    if (l.is_object() && l.value("kind", "") == "command")
      return l.at("end_offset").get<std::int64_t>();
    if (begin == std::string::npos) break;
    end = begin;
  }
  return -1;
}

// The process is stopped (SIGSTOP has taken effect): state T in /proc/<pid>/stat.
bool is_stopped(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const std::size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
}

// SIGKILL for the JSON tail at a moment when it has printed commands past its saved state, so
// that the next run prints some again and the reader has to drop them. The state file moves
// after every write, so the moment is caught with the tail stopped (SIGSTOP): while it stands
// still, what it printed and what it saved cannot move.
void kill_json_tail(Tail& t, const fs::path& state) {
  BackgroundProcess& p = t.last();
  std::int64_t printed = -1, saved = -1;
  const bool ok = wait_until(
      [&] {
        p.signal(SIGSTOP);
        if (!wait_until([&] { return is_stopped(p.pid()); }, 5s, 1ms)) return false;
        // What we read of its output may lag what it wrote: that errs on the safe side.
        printed = last_printed_end(p);
        saved = fs::exists(state) ? state_offset(state) : -1;
        if (saved >= 0 && printed > saved) return true;
        p.signal(SIGCONT);
        return false;
      },
      20s, 5ms);
  REQUIRE_MESSAGE(ok, "the JSON tail printed up to ", printed, ", saved ", saved, "; ",
                  p.describe());
  t.stop(SIGKILL, 128 + SIGKILL);
}

// ---------------------------------------------------------------------------------------------
// Replay and comparison

// `redis-cli --pipe` (the server kind's client) of the file into the server on port: requires no
// error reply.
void pipe_into(int port, const fs::path& file, std::string_view what) {
  const std::string cli(redis_repl::test::current_server_kind().cli);
  const redis_repl::test::ProgramResult r = redis_repl::test::run_program(
      {"sh", "-c", "exec \"$3\" -h 127.0.0.1 -p \"$1\" --pipe < \"$2\"", "sh", std::to_string(port),
       file.string(), cli},
      60000ms);
  INFO(cli, " --pipe of ", what, ": exit ", r.exit_code, "\nstdout: ", r.out, "\nstderr: ", r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("errors: 0,") != std::string::npos);
}

// The commands in bytes that must be whole RESP commands (arrays of bulk strings); a failed
// check names where they are not.
std::vector<std::vector<std::string>> parse_commands(std::string_view s, std::string_view who) {
  std::vector<std::vector<std::string>> out;
  std::size_t pos = 0;
  auto number = [&](char type) -> std::int64_t {
    if (pos >= s.size() || s[pos] != type) return -1;
    const std::size_t eol = s.find("\r\n", pos);
    if (eol == std::string_view::npos || eol == pos + 1) return -1;
    std::int64_t v = 0;
    for (std::size_t k = pos + 1; k < eol; ++k) {
      if (s[k] < '0' || s[k] > '9') return -1;
      v = v * 10 + (s[k] - '0');
    }
    pos = eol + 2;
    return v;
  };
  while (pos < s.size()) {
    const std::size_t at = pos;
    const std::int64_t args = number('*');
    bool ok = args > 0;
    std::vector<std::string> cmd;
    for (std::int64_t a = 0; ok && a < args; ++a) {
      const std::int64_t len = number('$');
      const auto n = static_cast<std::size_t>(len);
      ok = len >= 0 && s.size() - pos >= n + 2 && s.substr(pos + n, 2) == "\r\n";
      if (ok) cmd.emplace_back(s.substr(pos, n));
      pos += ok ? n + 2 : 0;
    }
    if (!ok) {
      FAIL_CHECK(who, ": not a whole RESP command at byte ", at, " of ", s.size(), ": ",
                 quote_bytes(s.substr(at, 120)));
      break;
    }
    out.push_back(std::move(cmd));
  }
  return out;
}

// A command and the db it applies to, its name in lower case: how the RESP and the JSON output
// are compared.
struct DbCommand {
  std::uint64_t db = 0;
  std::vector<std::string> args;
  std::string text() const {
    std::string s = "db" + std::to_string(db);
    for (std::size_t i = 0; i < args.size() && i < 4; ++i) s += " " + quote_bytes(args[i], 40);
    return s;
  }
  friend bool operator==(const DbCommand&, const DbCommand&) = default;
};

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  return s;
}

std::string keys_per_db(RespClient& c) {
  std::string out;
  for (int db = 0; db < 16; ++db) {
    must(c, {"SELECT", std::to_string(db)});
    const std::int64_t n = must(c, {"DBSIZE"}).integer;
    if (n) out += " db" + std::to_string(db) + "=" + std::to_string(n);
  }
  must(c, {"SELECT", "0"});
  return out.empty() ? " (none)" : out;
}

// "" when equal; else the keys missing, extra or different, each difference shown around the
// first byte where the two canonical texts part (a stream's text is long).
std::string data_diff(const std::map<std::string, std::string>& want,
                      const std::map<std::string, std::string>& got) {
  std::string out;
  int shown = 0;
  for (const auto& [k, v] : want) {
    const auto it = got.find(k);
    if (it == got.end()) {
      if (shown++ < 8) out += "missing " + k + ": " + v.substr(0, 200) + "\n";
    } else if (it->second != v) {
      if (shown++ >= 8) continue;
      const std::string& g = it->second;
      std::size_t at = 0;
      while (at < v.size() && at < g.size() && v[at] == g[at]) ++at;
      const std::size_t from = at > 100 ? at - 100 : 0;
      out += "differs " + k + " at byte " + std::to_string(at) + ":\n  want ..." +
             v.substr(from, 250) + "\n  got  ..." + g.substr(from, 250) + "\n";
    }
  }
  for (const auto& [k, v] : got)
    if (!want.count(k) && shown++ < 8) out += "extra " + k + ": " + v.substr(0, 200) + "\n";
  if (shown > 8) out += std::to_string(shown - 8) + " more differences\n";
  return out;
}

// The data set of a server (see server_dataset) without the groups' entries-read: replication
// does not carry it whole (XREADGROUP goes to replicas as XCLAIM ... LASTID, which leaves it
// unknown once entries were trimmed), so a real replica of the master shows null there too.
std::map<std::string, std::string> comparable_dataset(RespClient& c) {
  std::map<std::string, std::string> out = redis_repl::test::server_dataset(c);
  for (auto& [key, text] : out) {
    for (std::size_t at = text.find(" read="); at != std::string::npos;
         at = text.find(" read=", at)) {
      const std::size_t end = text.find(' ', at + 1);
      text.erase(at, end == std::string::npos ? std::string::npos : end - at);
    }
  }
  return out;
}

// The replayed server holds what the master holds: DEBUG DIGEST, keys per db, the data set key
// by key (streams with their groups, PEL and consumers) and the function libraries.
void check_same_data(RespClient& master, RespClient& replayed, std::string_view what) {
  CAPTURE(what);
  const std::string want = must(master, {"DEBUG", "DIGEST"}).str;
  const std::string got = must(replayed, {"DEBUG", "DIGEST"}).str;
  CHECK_MESSAGE(got == want, what, ": DEBUG DIGEST ", got, ", the master's ", want,
                "; keys per db: replayed", keys_per_db(replayed), ", master", keys_per_db(master));
  const std::string diff = data_diff(comparable_dataset(master), comparable_dataset(replayed));
  CHECK_MESSAGE(diff.empty(), what, " vs the master:\n", diff);
  CHECK(must(replayed, {"FUNCTION", "LIST", "WITHCODE"}) ==
        must(master, {"FUNCTION", "LIST", "WITHCODE"}));
}

// One line of the JSON tail.
struct Line {
  std::string kind;
  std::int64_t offset = 0;
  std::int64_t end = 0;
  std::uint64_t db = 0;
  std::vector<std::string> args;  // the command's name first
  std::string text() const {
    std::string s = kind + " " + std::to_string(offset) + ".." + std::to_string(end);
    for (std::size_t i = 0; i < args.size() && i < 4; ++i) s += " " + quote_bytes(args[i], 40);
    return s;
  }
};

std::vector<Line> json_run(const BackgroundProcess& p) {
  std::vector<Line> out;
  // Complete lines only: a SIGKILL may cut the last one, and its command comes again.
  for (const json& j : parse_json_lines(p.lines())) {
    Line l;
    l.kind = j.value("kind", "");
    if (l.kind == "sync") l.offset = j.at("offset").get<std::int64_t>();
    if (l.kind == "command") {
      l.offset = j.at("offset").get<std::int64_t>();
      l.end = j.at("end_offset").get<std::int64_t>();
      l.db = j.at("db").get<std::uint64_t>();
      l.args.push_back(json_bytes(j.at("command")));
      for (const json& a : j.at("args")) l.args.push_back(json_bytes(a));
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::string listing(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& i : items) s += "  " + i + "\n";
  return s;
}

bool is_noise(const Line& l) {
  const std::string& name = l.args.at(0);
  return name == "ping" || name == "replconf" || name == "select" || name == "multi" ||
         name == "exec";
}

}  // namespace

SERVER_TEST_CASE(
    "nothing lost: tail --state through SIGINT, SIGTERM, SIGKILL, link cuts and a restart") {
  TempDir dir;
  const fs::path resp_state = dir / "resp.state";
  const fs::path json_state = dir / "json.state";
  Tail resp(resp_tag, {"--snapshot", "--format", "resp", "--state", resp_state.string()});
  Tail jsn(json_tag, {"--format", "json", "--noise", "--state", json_state.string()});
  // How each JSON run ended: true for SIGKILL (it may have printed commands the next run prints
  // again), false for a clean stop.
  std::vector<bool> json_killed;
  Workload w;
  const fs::path rdb = dir / "master.rdb";
  std::string old_replid;
  std::int64_t json_start = -1;
  std::int64_t resp_feed_from = -1;

  {
    auto m1 = std::make_unique<RedisServer>(ServerOptions{.extra_args = lost_master_args()});
    RespClient c = m1->client();

    // The JSON tail joins the empty master (at its offset, no snapshot): its feed alone
    // rebuilds everything.
    BackgroundProcess& j1 = jsn.start(m1->port());
    const json sync = json::parse(
        j1.wait_for_line([](std::string_view l) { return l.find("\"kind\":\"sync\"") != l.npos; },
                         20s, "the JSON tail's sync line"));
    json_start = sync.at("offset").get<std::int64_t>();
    must(c, {"FUNCTION", "LOAD", library(0)});
    redis_repl::test::populate_all_types(c);
    // The RESP tail starts from a snapshot of all that.
    resp.start(m1->port());
    wait_acked(c, resp, master_repl_offset(c), "after its snapshot");
    // Nothing is written from here until the workload starts: the RESP tail's feed is the
    // workload's writes, all of them.
    resp_feed_from = master_repl_offset(c);
    const std::string full_syncs = info_field(c, "stats", "sync_full");

    w.start(m1->port());
    w.wait_more(100, "before the first interruption");

    // SIGINT, while writes flow.
    wait_acked(c, resp, master_repl_offset(c), "before SIGINT");
    resp.stop(SIGINT, 130);
    w.wait_more(100, "while the RESP tail is away");
    resp.start(m1->port());
    wait_acked(c, resp, master_repl_offset(c), "resumed after SIGINT");

    // SIGKILL of the JSON tail.
    kill_json_tail(jsn, json_state);
    json_killed.push_back(true);
    w.wait_more(50, "while the JSON tail is away");
    jsn.start(m1->port());
    wait_acked(c, jsn, master_repl_offset(c), "resumed after SIGKILL");

    // SIGTERM.
    w.wait_more(100, "before SIGTERM");
    resp.stop(SIGTERM, 143);
    w.wait_more(100, "while the RESP tail is away");
    resp.start(m1->port());
    wait_acked(c, resp, master_repl_offset(c), "resumed after SIGTERM");

    // Both links cut by the master; the tails reconnect on their own.
    w.wait_more(100, "before CLIENT KILL");
    const Reply killed = must(c, {"CLIENT", "KILL", "TYPE", "replica"});
    CHECK_MESSAGE(killed.integer == 2, "CLIENT KILL TYPE replica: ", killed.describe());
    w.wait_more(50, "after CLIENT KILL");
    const std::int64_t after_kill = master_repl_offset(c);
    wait_acked(c, resp, after_kill, "reconnected after CLIENT KILL");
    wait_acked(c, jsn, after_kill, "reconnected after CLIENT KILL");
    w.wait_more(100, "before the restart");

    // Every resume and reconnection was partial.
    CHECK(info_field(c, "stats", "sync_full") == full_syncs);
    CHECK(std::stoi(info_field(c, "stats", "sync_partial_ok")) >= 5);
    CHECK(info_field(c, "stats", "sync_partial_err") == "0");

    // SHUTDOWN SAVE while the writer writes: the master waits for its replicas (the tails), then
    // saves and exits.
    old_replid = info_field(c, "replication", "master_replid");
    {
      RespClient s = m1->client(20000ms);
      try {
        const Reply r = s.command({"SHUTDOWN", "SAVE"});
        FAIL("SHUTDOWN SAVE answered ", r.describe(), "; ", m1->log_tail());
      } catch (const HarnessError&) {
        // the connection closes as the server exits
      }
    }
    REQUIRE_MESSAGE(
        wait_until(
            [&] { return m1->log_tail(3000).find("ready to exit, bye bye") != std::string::npos; },
            20s),
        "the master did not exit: ", m1->log_tail());
    w.stop();
    CHECK_MESSAGE(w.error().empty(), "the writer: ", w.error());
    const std::string log = m1->log_tail(20000);
    CHECK_MESSAGE(log.find("Lagging replica") == std::string::npos, log);
    fs::copy_file(m1->dir() / "dump.rdb", rdb);
    m1.reset();
    // Both tails are reconnecting to nothing; stop them.
    resp.stop(SIGINT, 130);
    jsn.stop(SIGINT, 130);
    json_killed.push_back(false);
  }

  RedisServer m2(ServerOptions{.rdb_file = rdb, .extra_args = lost_master_args()});
  RespClient c = m2.client();
  REQUIRE(info_field(c, "replication", "master_replid2") == old_replid);
  // The tails wrote out everything the master had when it saved: they resume where it resumes.
  const std::int64_t restart_offset = master_repl_offset(c);
  CHECK(state_offset(resp_state) == restart_offset);
  CHECK(state_offset(json_state) == restart_offset);

  resp.start(m2.port());
  BackgroundProcess& j3 = jsn.start(m2.port());
  const json sync3 = json::parse(
      j3.wait_for_line([](std::string_view l) { return l.find("\"kind\":\"sync\"") != l.npos; },
                       20s, "the sync line after the restart"));
  CHECK(sync3.value("mode", "") == "partial");
  CHECK(sync3.value("new_replid", false) == true);
  w.start(m2.port());
  w.wait_more(100, "after the restart");
  wait_acked(c, resp, master_repl_offset(c), "resumed after the restart");
  wait_acked(c, jsn, master_repl_offset(c), "resumed after the restart");

  // SIGKILL once more.
  kill_json_tail(jsn, json_state);
  json_killed.push_back(true);
  w.wait_more(50, "while the JSON tail is away");
  jsn.start(m2.port());
  w.wait_more(100, "at the end");
  w.stop();
  REQUIRE_MESSAGE((w.error().empty() && w.ended().empty()), "the writer: ", w.error(), " ",
                  w.ended());

  const std::int64_t final_offset = wait_caught_up(c, resp, jsn);
  resp.stop(SIGINT, 130);
  jsn.stop(SIGINT, 130);
  json_killed.push_back(false);
  CHECK(info_field(c, "stats", "sync_full") == "0");
  CHECK(std::stoi(info_field(c, "stats", "sync_partial_ok")) >= 3);
  CHECK(info_field(c, "stats", "sync_partial_err") == "0");
  for (const fs::path& s : {resp_state, json_state}) {
    CAPTURE(s.filename().string());
    CHECK(state_offset(s) >= final_offset);
    CHECK(state_offset(s) <= master_repl_offset(c));
  }

  // The JSON outputs, reprints dropped by offset, rebuild the master.
  std::vector<Line> kept;  // the JSON feed, each command once
  {
    REQUIRE(json_killed.size() == jsn.runs().size());
    std::int64_t seen_end = json_start;  // the feed starts at json_start + 1
    std::size_t dropped = 0;
    std::vector<std::string> wrong;  // the first few faults found
    auto fault = [&](std::string what) {
      if (wrong.size() < 8) wrong.push_back(std::move(what));
    };
    for (std::size_t r = 0; r < jsn.runs().size(); ++r) {
      const std::string run = "run " + std::to_string(r + 1) + ": ";
      const std::vector<Line> lines = json_run(*jsn.runs()[r]);
      REQUIRE_MESSAGE((!lines.empty() && lines.front().kind == "sync"), run,
                      "does not start with a sync line");
      // A resume starts at most where the run before stopped: exactly there after a clean stop.
      const std::int64_t resumed = lines.front().offset;
      if (resumed > seen_end || (r > 0 && !json_killed[r - 1] && resumed != seen_end))
        fault(run + "resumes after " + std::to_string(resumed) + ", the feed was printed up to " +
              std::to_string(seen_end) + (r > 0 && json_killed[r - 1] ? "" : " (a clean stop)"));
      // Within a run, reconnections included, each command follows the one before.
      std::int64_t next = -1;
      for (const Line& l : lines) {
        if (l.kind == "sync") next = l.offset + 1;
        if (l.kind != "command") continue;
        if (l.offset != next)
          fault(run + l.text() + " where offset " + std::to_string(next) + " was due");
        next = l.end + 1;
        // The recipe: a command whose offset was already seen is a reprint; drop it.
        if (l.offset <= seen_end) {
          ++dropped;
          if (r == 0 || !json_killed[r - 1]) fault(run + l.text() + " again after a clean stop");
          continue;
        }
        if (l.offset != seen_end + 1)
          fault(run + l.text() + " after the feed was printed up to " + std::to_string(seen_end));
        seen_end = l.end;
        kept.push_back(l);
      }
    }
    CHECK_MESSAGE(wrong.empty(), "the JSON runs:\n", listing(wrong));
    CHECK_MESSAGE(seen_end >= final_offset, "the JSON runs printed the feed up to ", seen_end,
                  ", the master was at ", final_offset);
    CHECK_MESSAGE(dropped > 0, "no command was printed twice after the SIGKILLs");

    std::string commands;
    std::uint64_t db = ~0ULL;
    for (const Line& l : kept) {
      if (is_noise(l)) continue;
      if (l.db != db) commands += encode_command({"SELECT", std::to_string(l.db)});
      db = l.db;
      commands += encode_command(l.args);
    }
    const fs::path file = dir / "json.resp";
    std::ofstream(file, std::ios::binary) << commands;
    RedisServer replay(ServerOptions{.extra_args = master_args()});
    pipe_into(replay.port(), file, "the JSON runs' commands");
    RespClient rc = replay.client();
    check_same_data(c, rc, "replayed JSON");
  }

  // The RESP outputs, concatenated: the snapshot's commands, then exactly the feed the JSON runs
  // printed from where the RESP tail's snapshot ends (the writes of the workload), each command
  // once (no offsets to go by: compared command by command); replayed, they rebuild the master.
  {
    std::string all;
    std::vector<DbCommand> printed;
    std::uint64_t db = 0;
    for (std::size_t i = 0; i < resp.runs().size(); ++i) {
      const std::string out = resp.runs()[i]->out();
      const std::string who = "RESP run " + std::to_string(i + 1);
      const std::vector<std::vector<std::string>> cmds = parse_commands(out, who);
      CHECK_MESSAGE(!cmds.empty(), who, " printed nothing");
      for (const std::vector<std::string>& cmd : cmds) {
        if (lower(cmd[0]) == "select" && cmd.size() == 2) {
          db = std::stoull(cmd[1]);
          continue;
        }
        printed.push_back(DbCommand{db, cmd});
        printed.back().args[0] = lower(cmd[0]);
      }
      all += out;
    }
    std::vector<DbCommand> feed;
    for (const Line& l : kept)
      if (!is_noise(l) && l.offset > resp_feed_from) feed.push_back(DbCommand{l.db, l.args});
    REQUIRE(feed.size() > 1000);
    // From the end backwards: where the two part, if they do.
    std::size_t same = 0;
    while (same < feed.size() && same < printed.size() &&
           printed[printed.size() - 1 - same] == feed[feed.size() - 1 - same])
      ++same;
    if (same < feed.size()) {
      const std::size_t f = feed.size() - 1 - same;
      const std::size_t p = printed.size() - std::min(printed.size(), same + 1);
      FAIL_CHECK("the RESP runs and the JSON feed part ", same, " commands before the end (of ",
                 feed.size(), " written after the RESP snapshot): feed #", f, " ", feed[f].text(),
                 ", RESP ", printed[p].text(),
                 f > 0 ? "; the feed's command before: " + feed[f - 1].text() : std::string());
    }
    // What comes before the feed is the snapshot: only the commands that rebuild keys.
    const std::vector<std::string> rebuild = {"del",    "set",    "rpush",     "sadd",
                                              "zadd",   "hset",   "xadd",      "xsetid",
                                              "xgroup", "xclaim", "pexpireat", "function"};
    std::size_t snapshot = printed.size() - same, odd = 0;
    for (std::size_t i = 0; i < snapshot; ++i)
      if (std::find(rebuild.begin(), rebuild.end(), printed[i].args[0]) == rebuild.end() &&
          odd++ < 3)
        FAIL_CHECK("RESP command #", i,
                   " before the feed is not the snapshot's: ", printed[i].text());
    CHECK_MESSAGE(snapshot > 30, "the RESP snapshot holds ", snapshot, " commands");

    const fs::path file = dir / "resp.out";
    std::ofstream(file, std::ios::binary) << all;
    RedisServer replay(ServerOptions{.extra_args = master_args()});
    pipe_into(replay.port(), file, "the RESP runs");
    RespClient rc = replay.client();
    check_same_data(c, rc, "replayed RESP");
  }
}
