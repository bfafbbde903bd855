// core/link_policy.hpp — what to do when a replica link ends: finish, reconnect after a wait, or
// fail with one class of failure (each its own exit code). Pure decisions, no I/O: the caller
// reports what happened and sleeps the wait itself.
//
// As a Redis replica does: a master that cannot serve us yet (-LOADING, -NOMASTERLINK) is asked
// again; once the feed has flowed, a lost link is mended by reconnecting; a first connection
// that fails, a refused password or a corrupt snapshot are the user's to fix. The wait doubles
// from first_wait up to max_wait and starts afresh after a link that reached the stream.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>

#include "core/error.hpp"
#include "core/replica.hpp"

namespace redis_repl::core {

// How one session over a replica link ended.
enum class SessionEnd : std::uint8_t {
  finished,        // the replica reported done or failed
  stopped,         // the caller or its handler asked to stop
  connect_failed,  // no connection
  tls_failed,      // a TLS handshake or certificate verification failed
};

// What the user is told went wrong; the command line maps each to an exit code.
enum class Failure : std::uint8_t {
  none,
  connect,          // cannot connect, lost the link, timed out
  tls,              // TLS handshake or verification
  auth,             // authentication
  permission,       // -NOPERM
  protocol,         // a reply or byte the protocol does not allow
  rdb_corrupt,      // corrupt or truncated snapshot, checksum mismatch
  rdb_unsupported,  // a snapshot format this build does not read
};

// A snapshot's (or file's) error code as a failure.
Failure failure_of(Errc code) noexcept;
// A replica's failure kind; code matters for FailKind::rdb.
Failure failure_of(FailKind kind, Errc code) noexcept;

struct LinkOutcome {
  SessionEnd end = SessionEnd::finished;
  std::optional<FailKind> fail_kind;  // the replica failed
  Errc code = Errc::none;             // with fail_kind rdb: which way the snapshot was bad
  bool streamed = false;              // this session reached the command stream
  bool output_started = false;        // a retry could not start the output afresh
};

struct RetryRules {
  std::chrono::milliseconds first_wait{500};
  std::chrono::milliseconds max_wait{30000};
  // After the feed has flowed once, a link lost for any mendable reason is reconnected.
  bool mend_lost_links = false;
  // No retry whose wait would end at or after this point.
  std::optional<Clock::time_point> give_up_at;
};

struct Decision {
  enum class Action : std::uint8_t { done, retry, fail };
  Action action = Action::done;
  Failure failure = Failure::none;   // with fail
  std::chrono::milliseconds wait{};  // with retry
};

class Reconnect {
 public:
  explicit Reconnect(RetryRules rules) : rules_(rules), wait_(rules.first_wait) {}
  // Called once after each session.
  Decision after(const LinkOutcome& outcome, Clock::time_point now);

 private:
  RetryRules rules_;
  std::chrono::milliseconds wait_;
  bool ever_streamed_ = false;
};

}  // namespace redis_repl::core
