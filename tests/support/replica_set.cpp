// ReplicaSet, SigstopGuard and unused_loopback_port: see replica_set.hpp.
#include "support/replica_set.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace redis_repl::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// "state=online" from "ip=...,port=...,state=online,offset=...,lag=...".
std::map<std::string, std::string> comma_fields(const std::string& s) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    const std::string kv = s.substr(pos, comma - pos);
    const std::size_t eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
    pos = comma + 1;
  }
  return out;
}

// The process state letter from /proc/<pid>/stat ('T' when stopped), or 0.
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const std::size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return 0;
  return line[paren + 2];
}

}  // namespace

std::map<std::string, std::string> info_fields(RespClient& c, const std::string& section) {
  const Reply r = c.command({"INFO", section});
  if (r.type != Reply::Type::bulk) throw HarnessError("INFO " + section + ": " + r.describe());
  std::map<std::string, std::string> out;
  std::istringstream in(r.str);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return out;
}

int unused_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw HarnessError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw HarnessError(std::string("cannot pick a loopback port: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---------------------------------------------------------------------------------------------
// ReplicaSet

ReplicaSet::ReplicaSet(std::size_t replicas, const std::vector<std::string>& master_extra,
                       const std::vector<std::string>& replica_extra, milliseconds online_timeout) {
  ServerOptions m;
  m.extra_args = {"--repl-diskless-sync-delay", "0",   "--hz", "100", "--shutdown-timeout", "0",
                  "--repl-ping-replica-period", "3600"};
  m.extra_args.insert(m.extra_args.end(), master_extra.begin(), master_extra.end());
  master_ = std::make_unique<RedisServer>(m);
  for (std::size_t i = 0; i < replicas; ++i) {
    ServerOptions r;
    r.extra_args = {"--hz", "100", "--replicaof", "127.0.0.1", std::to_string(master_->port())};
    r.extra_args.insert(r.extra_args.end(), replica_extra.begin(), replica_extra.end());
    replicas_.push_back(std::make_unique<RedisServer>(r));
  }
  const auto started = Clock::now();
  wait_online(online_timeout);
  // "online" is not yet "streaming": after a diskless sync the master holds the stream back until
  // the replica's first REPLCONF ACK (up to a second later). A PUBLISH (no key) that every replica
  // has applied shows the stream flows.
  {
    RespClient c = master_->client();
    const Reply r = c.command({"PUBLISH", "__replica-set:ready", "1"});
    if (r.type != Reply::Type::integer) throw HarnessError("PUBLISH: " + r.describe());
  }
  const auto left =
      online_timeout - std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  wait_in_step(left > milliseconds(1000) ? left : milliseconds(1000));
}

ReplicaSet::~ReplicaSet() {
  for (auto& r : replicas_) r->request_stop();
  if (master_) master_->request_stop();
  for (auto& r : replicas_) r->stop();
  if (master_) master_->stop();
}

void ReplicaSet::wait_online(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "not asked yet";
  for (;;) {
    try {
      RespClient mc = master_->client(milliseconds(2000));
      const auto info = info_fields(mc, "replication");
      std::size_t online = 0;
      for (const auto& r : replicas_) {
        bool listed = false;
        for (const auto& [k, v] : info) {
          if (!k.starts_with("slave") || k.find_first_not_of("0123456789", 5) != std::string::npos)
            continue;
          const auto f = comma_fields(v);
          const auto port = f.find("port");
          const auto state = f.find("state");
          if (port != f.end() && port->second == std::to_string(r->port()) && state != f.end() &&
              state->second == "online")
            listed = true;
        }
        if (!listed) break;
        RespClient rc = r->client(milliseconds(2000));
        if (info_fields(rc, "replication")["master_link_status"] != "up") break;
        ++online;
      }
      if (online == replicas_.size()) return;
      last = std::to_string(online) + " of " + std::to_string(replicas_.size()) + " online";
    } catch (const HarnessError& e) {
      last = e.what();
    }
    if (Clock::now() >= deadline) {
      std::string msg = "replicas not online after " + std::to_string(timeout.count()) + " ms (" +
                        last + ")\n" + describe();
      msg += "master log:\n" + master_->log_tail(2000);
      for (const auto& r : replicas_) msg += "replica log:\n" + r->log_tail(2000);
      throw HarnessError(msg);
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

void ReplicaSet::wait_in_step(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "not asked yet";
  for (;;) {
    try {
      RespClient mc = master_->client(milliseconds(2000));
      const std::string want = info_fields(mc, "replication")["master_repl_offset"];
      bool all = true;
      for (const auto& r : replicas_) {
        RespClient rc = r->client(milliseconds(2000));
        const std::string got = info_fields(rc, "replication")["slave_repl_offset"];
        if (got != want) {
          all = false;
          last = "master at " + want + ", replica on " + std::to_string(r->port()) + " at " + got;
          break;
        }
      }
      if (all) return;
    } catch (const HarnessError& e) {
      last = e.what();
    }
    if (Clock::now() >= deadline)
      throw HarnessError("replicas not in step after " + std::to_string(timeout.count()) + " ms (" +
                         last + ")\n" + describe());
    std::this_thread::sleep_for(milliseconds(10));
  }
}

std::string ReplicaSet::describe() {
  std::string out;
  auto one = [&](const char* what, RedisServer& s) {
    out += std::string(what) + " on port " + std::to_string(s.port()) + ":\n";
    try {
      RespClient c = s.client(milliseconds(1000));
      out += c.command({"INFO", "replication"}).str;
    } catch (const HarnessError& e) {
      out += std::string("(no INFO: ") + e.what() + ")\n";
    }
  };
  one("master", *master_);
  for (const auto& r : replicas_) one("replica", *r);
  return out;
}

// ---------------------------------------------------------------------------------------------
// SigstopGuard

SigstopGuard::SigstopGuard(pid_t pid) : pid_(pid) {
  if (pid_ <= 0) throw HarnessError("SigstopGuard: no process");
  if (::kill(pid_, SIGSTOP) != 0)
    throw HarnessError("SIGSTOP " + std::to_string(pid_) + ": " + std::strerror(errno));
  stopped_ = true;
  const auto deadline = Clock::now() + milliseconds(5000);
  while (process_state(pid_) != 'T') {
    if (Clock::now() >= deadline) {
      resume();
      throw HarnessError("process " + std::to_string(pid_) + " not seen stopped within 5 s");
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
}

void SigstopGuard::resume() noexcept {
  if (stopped_.exchange(false)) ::kill(pid_, SIGCONT);
}

}  // namespace redis_repl::test
