// Fuzz target: the replica state machine as a master's bytes drive it. The first byte picks the
// configuration (AUTH, listening port, snapshot kind, resume point, how the run ends); the
// handshake replies are then given as a master would, and the rest of the input is what the
// master says after PSYNC. Runs twice, with the bytes whole and in chunks (the clock advancing
// between them, never as far as the timeout): the events and the snapshot's events must be the
// same (error messages up to the bytes they quote). What the replica sends stays small, and a
// failure is final and explained.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/replica.hpp"
#include "fuzz_support.hpp"
#include "rdb_recorder.hpp"

namespace {

using redis_repl::core::Clock;
using redis_repl::core::Event;
using redis_repl::core::Replica;
using redis_repl::core::ReplicaConfig;
namespace fz = redis_repl::fuzz;
using namespace std::chrono_literals;

constexpr std::size_t max_output_per_turn = 256;  // two ACKs at most

ReplicaConfig config_from(std::uint8_t flags) {
  ReplicaConfig c;
  if (flags & 1) c.password = "secret";
  if (flags & 2) c.user = "repl";
  if (flags & 4) c.listening_port = 6380;
  switch ((flags >> 3) & 3) {
    case 1:
      c.snapshot = ReplicaConfig::Snapshot::empty;
      break;
    case 2:
      c.snapshot = ReplicaConfig::Snapshot::only;
      break;
    default:
      break;
  }
  if (flags & 32) {
    c.replid = "da0ed49aae9150cf9f6cb5f0a119dbf02bf42777";
    c.offset = 1000;
    c.db = 3;
  }
  return c;
}

std::string describe(const Event& e) {
  std::string s = std::to_string(static_cast<int>(e.kind));
  switch (e.kind) {
    case Event::Kind::full_resync:
    case Event::Kind::partial_resync:
      s += " " + std::string(e.replid) + " " + std::to_string(e.new_replid) + " " +
           std::to_string(e.offset);
      break;
    case Event::Kind::transfer_begin:
    case Event::Kind::transfer_end:
      s += " " + std::to_string(e.offset) + " " + std::to_string(e.length) + " " +
           std::to_string(e.eof_mark);
      break;
    case Event::Kind::command:
      s += " " + std::to_string(e.offset) + "-" + std::to_string(e.end_offset) + " db" +
           std::to_string(e.db) + " " + std::to_string(e.noise);
      for (std::string_view a : e.args) s += " " + std::to_string(a.size()) + ":" + std::string(a);
      break;
    case Event::Kind::failed:
      s += " " + std::to_string(static_cast<int>(e.fail_kind)) + " " +
           std::to_string(static_cast<int>(e.error.code)) + " " +
           std::string(fz::unquoted(e.error.message));
      break;
    default:
      break;
  }
  return s;
}

struct Run {
  explicit Run(const ReplicaConfig& config) : replica(config, recorder, now) {}

  // Takes every event until need_data, checking what the event contract promises.
  void drain() {
    for (int guard = 0;; ++guard) {
      FUZZ_CHECK(guard < (1 << 22));
      const Event e = replica.next_event();
      if (e.kind == Event::Kind::need_data) break;
      FUZZ_CHECK(!finished);  // nothing after failed or done
      log += describe(e) + "\n";
      switch (e.kind) {
        case Event::Kind::command:
          FUZZ_CHECK(!e.args.empty());
          FUZZ_CHECK(e.offset <= e.end_offset);
          FUZZ_CHECK(e.offset > last_end);
          last_end = e.end_offset;
          replica.confirm(e.end_offset);
          break;
        case Event::Kind::failed:
          FUZZ_CHECK(e.error.code != redis_repl::Errc::none);
          FUZZ_CHECK(!e.error.message.empty());
          finished = true;
          break;
        case Event::Kind::done:
          finished = true;
          break;
        case Event::Kind::full_resync:
        case Event::Kind::partial_resync:
          FUZZ_CHECK(e.offset >= 0);
          last_end = e.offset;
          break;
        default:
          break;
      }
    }
    const std::string out = replica.take_output();
    FUZZ_CHECK(out.size() <= max_output_per_turn);
    sent += out;
  }

  Clock::time_point now{};
  fz::RdbRecorder recorder;
  Replica replica;
  std::string log;
  std::string sent;
  std::int64_t last_end = -1;
  bool finished = false;
};

// Answers the handshake as a master would: PONG, then +OK to each of the commands that follow.
void handshake(Run& r, const ReplicaConfig& c) {
  r.drain();
  FUZZ_CHECK(r.sent.starts_with("*1\r\n$4\r\nPING\r\n"));
  r.replica.receive("+PONG\r\n");
  r.drain();
  const int steps = (c.password.empty() ? 0 : 1) + (c.listening_port ? 1 : 0) + 1 +
                    (c.snapshot == ReplicaConfig::Snapshot::full ? 0 : 1);
  for (int i = 0; i < steps; ++i) {
    FUZZ_CHECK(r.sent.find("PSYNC") == std::string::npos);
    r.replica.receive("+OK\r\n");
    r.drain();
  }
  FUZZ_CHECK(r.sent.find("$5\r\nPSYNC\r\n") != std::string::npos);
  FUZZ_CHECK(r.log.empty());
}

// The end of the conversation as the flags say: the link closes, or silence past the timeout.
void finish(Run& r, std::uint8_t flags, const ReplicaConfig& c) {
  if (flags & 64) {
    r.replica.peer_closed();
    r.drain();
    FUZZ_CHECK(r.finished);
  }
  if (flags & 128) {
    r.now += c.timeout + 1s;
    r.replica.tick(r.now);
    r.drain();
    FUZZ_CHECK(r.finished);
  }
  if (r.finished) {
    // A finished replica stays so: more bytes and time change nothing.
    const std::string before = r.log;
    const std::string sent_before = r.sent;
    FUZZ_CHECK(!r.replica.streaming());
    r.replica.receive("+OK\r\n*1\r\n$4\r\nPING\r\n");
    r.now += 10s;
    r.replica.tick(r.now);
    r.drain();
    FUZZ_CHECK(r.log == before);
    FUZZ_CHECK(r.sent == sent_before);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view master = fz::rest_of({reinterpret_cast<const char*>(data), size});
  const ReplicaConfig config = config_from(flags);
  fz::Choices choices(fz::hash_bytes(master));

  Run whole(config);
  handshake(whole, config);
  whole.replica.receive(master);
  whole.drain();
  finish(whole, flags, config);

  Run split(config);
  handshake(split, config);
  for (std::size_t at = 0, n = 0; at < master.size(); at += n) {
    n = 1 + choices.below(std::min<std::size_t>(master.size() - at, 64));
    split.replica.receive(master.substr(at, n));
    split.drain();
    // Time passes between pieces, well within the timeout: ACKs may go out, nothing else.
    split.now += std::chrono::milliseconds(choices.below(3000));
    split.replica.tick(split.now);
    split.drain();
  }
  finish(split, flags, config);

  FUZZ_CHECK_MSG(whole.log == split.log && whole.recorder.log == split.recorder.log,
                 "whole:\n" + whole.log + "\nsplit:\n" + split.log);
  return 0;
}
