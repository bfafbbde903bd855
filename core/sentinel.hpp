// core/sentinel.hpp — finding a master through Redis Sentinel, without I/O: what the replies of
// SENTINEL get-master-addr-by-name and ROLE say, the order in which sentinels are asked, what a
// round of asking adds up to (one line, one class of failure), and when a new address is a
// failover. core/net/sentinel.hpp asks; this decides.
//
// As the Sentinel client guidelines describe: ask each sentinel in turn, the last one that
// answered first; check with ROLE that the address given is a master (a sentinel that has not
// heard of a failover yet names the old one); ask again after every lost link.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/link_policy.hpp"
#include "core/resp_reader.hpp"

namespace redis_repl::core {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string name() const;  // "host:port", "[v6]:port"
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// "HOST:PORT" or "[V6]:PORT", the port from 1 to 65535; nullopt for anything else.
std::optional<HostPort> parse_host_port(std::string_view text);

// What one sentinel said to SENTINEL get-master-addr-by-name.
struct MasterAddress {
  enum class Kind : std::uint8_t {
    address,       // master is set
    unknown_name,  // a nil: this sentinel monitors no master of that name
    auth,          // -NOAUTH, -WRONGPASS, -NOPERM: the sentinel's own credentials
    error,         // another error, or a reply that is no address (message says which)
  };
  Kind kind = Kind::error;
  HostPort master;
  std::string message;
};
MasterAddress read_master_address(const Reply& reply);

// ROLE's reply names a master ("master" first).
bool role_is_master(const Reply& reply);

// A message on Sentinel's "+switch-master" channel ("<name> <old ip> <old port> <new ip> <new
// port>"): the new address when it is about master_name.
std::optional<HostPort> read_switch_master(std::string_view payload, std::string_view master_name);

// How asking one sentinel went.
struct SentinelAttempt {
  enum class Outcome : std::uint8_t {
    found,         // it named a master that says it is one
    unreachable,   // no connection, or no answer in time
    tls,           // the TLS handshake or verification failed
    auth,          // the sentinel refused our credentials
    unknown_name,  // it monitors no master of that name
    not_master,    // it named an address that is not a master (yet), or that we cannot reach
    master_auth,   // the master it named refused the master's credentials
    error,         // anything else it answered
  };
  std::string sentinel;  // host:port
  Outcome outcome = Outcome::error;
  std::string detail;  // why, for the message
};

// A round in which no sentinel led to a master: the failure class and one line naming every
// sentinel and what it said. An authentication failure (sentinel or master) outranks TLS, which
// outranks the rest (connect: exit 3, retried by tail once the feed has flowed).
struct DiscoveryFailure {
  Failure failure = Failure::connect;
  std::string message;
};
DiscoveryFailure summarize(const std::vector<SentinelAttempt>& attempts,
                           std::string_view master_name);

// The same failure as a link outcome, for core::Reconnect: a round of asking counts as a session
// that could not connect (or failed authentication, which is never retried).
LinkOutcome link_outcome_of(const DiscoveryFailure& failure);

// The order to ask n sentinels in: as given at first; the one that last answered moves to the
// front.
class SentinelOrder {
 public:
  explicit SentinelOrder(std::size_t n);
  const std::vector<std::size_t>& order() const { return order_; }
  void answered(std::size_t sentinel);

 private:
  std::vector<std::size_t> order_;
};

// The master a replica link follows, address after address: a different address from the one
// before is a failover, reported once with where it came from.
class MasterTracker {
 public:
  struct Change {
    HostPort from, to;
  };
  std::optional<Change> observe(const HostPort& master);
  const std::optional<HostPort>& current() const { return current_; }

 private:
  std::optional<HostPort> current_;
};

// Where to resume on a promoted replica. A replica promoted at offset P keeps the old history
// as replid2 up to P (INFO replication: master_replid2, second_repl_offset = P + 1); the old
// master may have gone on sending until it was demoted, and a link that stayed with it holds
// bytes past P that the new master never had. When all of those were housekeeping (Sentinel's
// hellos, PINGs: nothing after data_end, the end of the last data command), resuming at P
// misses nothing; the new offset is returned. nullopt: resume where we are (the new master has
// it all, or is not of this history, or data came after P: then only a full resync helps).
std::optional<std::int64_t> resume_on_promoted(const std::string& replid, std::int64_t offset,
                                               std::int64_t data_end, const std::string& replid2,
                                               std::int64_t second_repl_offset);

}  // namespace redis_repl::core
