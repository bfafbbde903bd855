// SentinelSet: see sentinel_set.hpp.
#include "support/sentinel_set.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/replica_set.hpp"

namespace redis_repl::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The current server kind's Sentinel, from PATH; a missing one is an error, never a skip.
std::string find_sentinel() {
  const ServerKind& kind = current_server_kind();
  const std::string p = find_program(std::string(kind.sentinel));
  if (p.empty())
    throw HarnessError(std::string(kind.sentinel) + " not found in PATH (" +
                       std::string(kind.packages) + ")");
  return p;
}

// The fields of one SENTINEL MASTER / REPLICAS entry (a flat array of name, value pairs).
std::string field(const Reply& entry, const std::string& name) {
  for (std::size_t i = 0; i + 1 < entry.elements.size(); i += 2)
    if (entry.elements[i].str == name) return entry.elements[i + 1].str;
  return {};
}

}  // namespace

SentinelSet::SentinelSet(int master_port, SentinelOptions options) : options_(options) {
  const std::string exe = find_sentinel();
  const std::string& name = options_.master_name;
  for (std::size_t i = 0; i < options_.count; ++i) {
    const int port = unused_loopback_port();
    const fs::path dir = dir_ / ("sentinel-" + std::to_string(i));
    fs::create_directories(dir);
    std::ofstream conf(dir / "sentinel.conf");
    conf << "port " << port << "\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir " << dir.string()
         << "\nsentinel announce-ip 127.0.0.1\nsentinel monitor " << name << " 127.0.0.1 "
         << master_port << " " << options_.quorum << "\nsentinel down-after-milliseconds " << name
         << " " << options_.down_after.count() << "\nsentinel failover-timeout " << name << " "
         << options_.failover_timeout.count() << "\nsentinel parallel-syncs " << name << " 1\n";
    if (!options_.requirepass.empty())
      conf << "requirepass " << options_.requirepass << "\nsentinel sentinel-pass "
           << options_.requirepass << "\n";
    if (options_.extra_config)
      for (const std::string& line : options_.extra_config(i)) conf << line << "\n";
    conf.close();
    if (!conf) throw HarnessError("cannot write " + (dir / "sentinel.conf").string());
    ports_.push_back(port);
    procs_.push_back(std::make_unique<BackgroundProcess>(
        std::vector<std::string>{exe, (dir / "sentinel.conf").string()}));
  }
  for (std::size_t i = 0; i < size(); ++i) {
    const bool up = wait_until(
        [&] {
          try {
            RespClient c = client(i);
            const Reply r = c.command({"PING"});
            return r.type == Reply::Type::simple && r.str == "PONG";
          } catch (const HarnessError&) {
            return false;
          }
        },
        milliseconds(10000));
    if (!up)
      throw HarnessError("sentinel on 127.0.0.1:" + std::to_string(port(i)) +
                         " does not answer PING:\n" + describe());
  }
}

SentinelSet::~SentinelSet() {
  for (auto& p : procs_) p->signal(SIGKILL);
  for (auto& p : procs_) {
    try {
      p->wait(milliseconds(5000));
    } catch (const HarnessError&) {
    }
  }
}

RespClient SentinelSet::client(std::size_t i) const {
  RespClient c(port(i), milliseconds(5000));
  if (!options_.requirepass.empty()) c.command({"AUTH", options_.requirepass});
  return c;
}

std::vector<std::string> SentinelSet::flags() const {
  std::vector<std::string> f;
  for (const int p : ports_) {
    f.push_back("--sentinel");
    f.push_back("127.0.0.1:" + std::to_string(p));
  }
  f.push_back("--master-name");
  f.push_back(options_.master_name);
  return f;
}

std::string SentinelSet::config(std::size_t i) const {
  std::ifstream in(dir_ / ("sentinel-" + std::to_string(i)) / "sentinel.conf");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void SentinelSet::wait_ready(std::size_t replicas, milliseconds timeout) {
  std::string last;
  const bool ready = wait_until(
      [&] {
        for (std::size_t i = 0; i < size(); ++i) {
          RespClient c = client(i);
          const Reply m = c.command({"SENTINEL", "MASTER", options_.master_name});
          if (field(m, "num-other-sentinels") != std::to_string(size() - 1)) {
            last = "sentinel " + std::to_string(i) + ": " + m.describe(2000);
            return false;
          }
          const Reply r = c.command({"SENTINEL", "REPLICAS", options_.master_name});
          std::size_t up = 0;
          for (const Reply& e : r.elements)
            up += field(e, "flags") == "slave" && field(e, "master-link-status") == "ok";
          if (up < replicas) {
            last = "sentinel " + std::to_string(i) + ": " + r.describe(2000);
            return false;
          }
        }
        return true;
      },
      timeout, milliseconds(100));
  if (!ready) throw HarnessError("sentinels not ready: " + last + "\n" + describe());
}

void SentinelSet::wait_info_since(Clock::time_point since, milliseconds timeout) {
  const bool read = wait_until(
      [&] {
        for (std::size_t i = 0; i < size(); ++i) {
          RespClient c = client(i);
          const Reply m = c.command({"SENTINEL", "MASTER", options_.master_name});
          const auto ago = milliseconds(std::atoll(field(m, "info-refresh").c_str()));
          if (field(m, "info-refresh").empty() || Clock::now() - ago <= since) return false;
        }
        return true;
      },
      timeout, milliseconds(100));
  if (!read) throw HarnessError("a sentinel did not read the master's INFO in time\n" + describe());
}

int SentinelSet::master_port(std::size_t i) const {
  RespClient c = client(i);
  const Reply r = c.command({"SENTINEL", "get-master-addr-by-name", options_.master_name});
  if (r.type != Reply::Type::array || r.elements.size() != 2) return 0;
  return std::atoi(r.elements[1].str.c_str());
}

void SentinelSet::wait_master(int port, milliseconds timeout) {
  const bool all = wait_until(
      [&] {
        for (std::size_t i = 0; i < size(); ++i)
          if (master_port(i) != port) return false;
        return true;
      },
      timeout, milliseconds(50));
  if (!all)
    throw HarnessError("not every sentinel names 127.0.0.1:" + std::to_string(port) + "\n" +
                       describe());
}

int SentinelSet::failover(int old_port, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  for (;;) {
    RespClient c = client(0);
    const Reply r = c.command({"SENTINEL", "FAILOVER", options_.master_name});
    if (!r.is_error()) break;
    last = r.str;
    if (Clock::now() >= deadline)
      throw HarnessError("SENTINEL FAILOVER: " + last + "\n" + describe());
    std::this_thread::sleep_for(milliseconds(200));
  }
  int now = 0;
  const bool moved = wait_until(
      [&] {
        now = master_port(0);
        return now != 0 && now != old_port;
      },
      std::chrono::duration_cast<milliseconds>(deadline - Clock::now()), milliseconds(20));
  if (!moved) throw HarnessError("the failover did not happen\n" + describe());
  wait_master(now, std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  return now;
}

std::vector<std::string> SentinelSet::replicas(std::size_t i) const {
  RespClient c = client(i);
  const Reply r = c.command({"SENTINEL", "REPLICAS", options_.master_name});
  std::vector<std::string> out;
  for (const Reply& e : r.elements) out.push_back(field(e, "ip") + ":" + field(e, "port"));
  return out;
}

std::string SentinelSet::describe() const {
  std::string out;
  for (std::size_t i = 0; i < procs_.size(); ++i)
    out += "--- sentinel " + std::to_string(i) + " (127.0.0.1:" + std::to_string(ports_[i]) +
           ")\n" + procs_[i]->describe() + "\n";
  return out;
}

}  // namespace redis_repl::test
