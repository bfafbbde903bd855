// ReplicaSet: a real master and N real replicas (`--replicaof 127.0.0.1 <master port>`), each a
// RedisServer on its own loopback port, started together and stopped together; the constructor
// waits (bounded) until the master lists every replica as state=online, every replica reports
// its link up, and the replication stream flows (a PUBLISH on the master, which writes no key,
// has reached every replica: after a diskless sync the master starts the stream only on the
// replica's first ACK, up to a second after "online"). SigstopGuard freezes a server with SIGSTOP
// and always resumes it (SIGCONT) when it goes out of scope, so that a failed check never leaves a
// stopped server behind. unused_loopback_port() names a 127.0.0.1 port nothing listens on, for
// "unreachable" cases.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.hpp"

namespace redis_repl::test {

// "key:value" lines of `INFO <section>` (section headers skipped). Throws HarnessError on an error
// reply.
std::map<std::string, std::string> info_fields(RespClient& c, const std::string& section);

// A port on 127.0.0.1 that was free a moment ago (bound, then closed): connecting to it is
// refused unless something took it since.
int unused_loopback_port();

class ReplicaSet {
 public:
  // Master arguments: no diskless-sync delay (replicas sync at once), hz 100 (quick to stop),
  // shutdown-timeout 0 (no wait for replicas on SIGTERM), repl-ping-replica-period 3600 (no
  // PING in the replication stream: the master's offset moves only with what the test and the
  // tool under test do; a test lasts far less than the replicas' 60 s repl-timeout); then
  // master_extra. Replicas: hz 100,
  // --replicaof the master; then replica_extra.
  explicit ReplicaSet(std::size_t replicas = 2, const std::vector<std::string>& master_extra = {},
                      const std::vector<std::string>& replica_extra = {},
                      std::chrono::milliseconds online_timeout = std::chrono::milliseconds(20000));
  ~ReplicaSet();  // stops every server (in parallel)
  ReplicaSet(const ReplicaSet&) = delete;
  ReplicaSet& operator=(const ReplicaSet&) = delete;

  RedisServer& master() { return *master_; }
  RedisServer& replica(std::size_t i) { return *replicas_.at(i); }
  std::size_t size() const { return replicas_.size(); }

  // Waits until the master lists every replica with state=online and each replica reports
  // master_link_status:up. Throws HarnessError (with INFO and log tails) on timeout.
  void wait_online(std::chrono::milliseconds timeout);
  // Waits until every replica's slave_repl_offset equals the master's master_repl_offset (call it
  // once writes have stopped). Throws HarnessError on timeout.
  void wait_in_step(std::chrono::milliseconds timeout);
  // For failure messages: INFO replication of every server.
  std::string describe();

 private:
  std::unique_ptr<RedisServer> master_;
  std::vector<std::unique_ptr<RedisServer>> replicas_;
};

// SIGSTOP now; SIGCONT on resume() and on destruction (idempotent, callable from any thread).
class SigstopGuard {
 public:
  // Throws HarnessError when the process cannot be signalled or is not seen stopped within 5 s.
  explicit SigstopGuard(pid_t pid);
  ~SigstopGuard() { resume(); }
  SigstopGuard(const SigstopGuard&) = delete;
  SigstopGuard& operator=(const SigstopGuard&) = delete;
  void resume() noexcept;

 private:
  pid_t pid_;
  std::atomic<bool> stopped_{false};
};

}  // namespace redis_repl::test
