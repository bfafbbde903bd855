// core/net/sentinel.hpp — asks Redis Sentinel where the master is: SENTINEL
// get-master-addr-by-name on each sentinel in turn (with the sentinels' own credentials), then
// ROLE on the address given (with the master's), over the same transports as every link (TLS
// to the sentinels when the master's endpoint has it). The decisions are core/sentinel.hpp's.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/net/endpoint.hpp"
#include "core/net/session.hpp"
#include "core/sentinel.hpp"

namespace redis_repl::core::net {

struct SentinelConfig {
  std::vector<HostPort> sentinels;
  std::string master_name;
  std::string user;      // the sentinels' ACL user; empty: AUTH <password> alone
  std::string password;  // the sentinels' password; empty: no AUTH
  // The longest wait for each sentinel and for the master's ROLE (the master's timeout when
  // shorter).
  std::chrono::milliseconds step_timeout{5000};
};

struct Discovery {
  bool found = false;
  Server master;             // found: the master's credentials and TLS, at the address found
  std::string sentinel;      // found: the sentinel that named it
  DiscoveryFailure failure;  // not found: why, one line naming every sentinel
};

// Remembers which sentinel answered last, to ask it first next time.
class MasterFinder {
 public:
  // master: the credentials, TLS options and timeout of the master (its host and port unused).
  MasterFinder(SentinelConfig config, Server master);
  // moved_from: an address a sentinel announced the master moved away from; a sentinel that
  // still names it has not heard of the failover yet, and the next one is asked.
  Discovery find(const std::optional<HostPort>& moved_from = std::nullopt);
  // The configuration with the sentinels in the order they are asked in now (the one that
  // answered last first): a link listens to that one.
  SentinelConfig config_in_order() const;

 private:
  SentinelConfig config_;
  Server master_;
  SentinelOrder order_;
};

// A replica link (run_session) that also listens to a sentinel's "+switch-master" channel: the
// session ends (SessionEnd::stopped, switched_to set) as soon as the sentinel announces that the
// master moved, not when the old master, demoted, drops its replicas (Sentinel converts it only
// some seconds after the switch, and until then it would still serve us as a master). With no
// sentinel to listen to, a plain session. The sentinels are tried in their order, each for at most
// its step timeout.
SessionResult run_session_following(const Server& server, Replica& replica, SessionHandler& handler,
                                    const SentinelConfig& sentinels,
                                    std::optional<HostPort>& switched_to);

}  // namespace redis_repl::core::net
