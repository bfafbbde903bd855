// SentinelSet: N real `redis-sentinel` processes (found in PATH) on free 127.0.0.1 ports,
// monitoring one master under one name, each with its own configuration file in a private
// directory (Sentinel rewrites it: tests read it back). Short timings so that a test's failover
// takes seconds: down-after-milliseconds 1000, failover-timeout 5000, quorum 2 (for three).
// Each sentinel runs as a BackgroundProcess (killed on destruction); every wait has a deadline
// and its failure message carries the sentinels' logs.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/background_process.hpp"
#include "support/redis_server.hpp"
#include "support/replication.hpp"

namespace redis_repl::test {

struct SentinelOptions {
  std::string master_name = "mymaster";
  std::size_t count = 3;
  int quorum = 2;
  std::chrono::milliseconds down_after{1000};
  std::chrono::milliseconds failover_timeout{5000};
  std::string requirepass;  // the sentinels' own password (empty: none)
  // More configuration lines for sentinel i (TLS: tls-port, certificates), given its index.
  std::function<std::vector<std::string>(std::size_t)> extra_config;
};

class SentinelSet {
 public:
  // Starts the sentinels and waits (bounded) until each answers PING.
  SentinelSet(int master_port, SentinelOptions options = {});
  ~SentinelSet();
  SentinelSet(const SentinelSet&) = delete;
  SentinelSet& operator=(const SentinelSet&) = delete;

  std::size_t size() const { return ports_.size(); }
  int port(std::size_t i) const { return ports_.at(i); }
  const std::string& master_name() const { return options_.master_name; }
  // A client of sentinel i, authenticated when the sentinels have a password.
  RespClient client(std::size_t i) const;
  // "--sentinel 127.0.0.1:<port>" for every sentinel, then "--master-name <name>".
  std::vector<std::string> flags() const;
  // Sentinel i's configuration file as it is now.
  std::string config(std::size_t i) const;

  // Waits until every sentinel knows the others and `replicas` replicas of the master, each up
  // (no s_down, link ok): a failover can then choose one.
  void wait_ready(std::size_t replicas, std::chrono::milliseconds timeout);
  // Waits until every sentinel has read the master's INFO (which lists its replicas) after
  // `since`; Sentinel reads it every 10 seconds.
  void wait_info_since(std::chrono::steady_clock::time_point since,
                       std::chrono::milliseconds timeout);
  // The port of the master sentinel i names (SENTINEL get-master-addr-by-name), or 0.
  int master_port(std::size_t i) const;
  // Waits until every sentinel names the master at this port.
  void wait_master(int port, std::chrono::milliseconds timeout);
  // SENTINEL FAILOVER on sentinel 0 (asked again while it answers -NOGOODSLAVE or
  // -INPROG), then waits until every sentinel names a master other than old_port; returns its
  // port.
  int failover(int old_port, std::chrono::milliseconds timeout);
  // SENTINEL REPLICAS <name> of sentinel i: the "ip:port" of each.
  std::vector<std::string> replicas(std::size_t i) const;
  // For failure messages: the end of every sentinel's log.
  std::string describe() const;

 private:
  SentinelOptions options_;
  TempDir dir_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<BackgroundProcess>> procs_;
};

}  // namespace redis_repl::test
