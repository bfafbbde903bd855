#include "core/link_policy.hpp"

#include <algorithm>

namespace redis_repl::core {

Failure failure_of(Errc code) noexcept {
  return code == Errc::rdb_unsupported ? Failure::rdb_unsupported : Failure::rdb_corrupt;
}

Failure failure_of(FailKind kind, Errc code) noexcept {
  switch (kind) {
    case FailKind::auth:
      return Failure::auth;
    case FailKind::permission:
      return Failure::permission;
    case FailKind::rdb:
      return failure_of(code);
    case FailKind::protocol:
      return Failure::protocol;
    case FailKind::transient:
    case FailKind::closed:
    case FailKind::timeout:
      break;
  }
  return Failure::connect;
}

Decision Reconnect::after(const LinkOutcome& outcome, Clock::time_point now) {
  if (outcome.streamed) {
    ever_streamed_ = true;
    wait_ = rules_.first_wait;  // the link worked: the backoff starts afresh
  }
  if (outcome.end == SessionEnd::stopped) return Decision{};
  if (outcome.end == SessionEnd::finished && !outcome.fail_kind) return Decision{};
  // A certificate that does not verify will not verify on the next try either.
  if (outcome.end == SessionEnd::tls_failed)
    return Decision{Decision::Action::fail, Failure::tls, {}};

  const bool mend = rules_.mend_lost_links && ever_streamed_;
  bool retry = mend;
  Failure failure = Failure::connect;
  if (outcome.fail_kind) {
    const FailKind k = *outcome.fail_kind;
    failure = failure_of(k, outcome.code);
    const bool mendable =
        k == FailKind::transient || k == FailKind::closed || k == FailKind::timeout;
    if (!mendable) return Decision{Decision::Action::fail, failure, {}};
    retry = retry || k == FailKind::transient;
  }
  if (outcome.output_started) retry = false;
  if (rules_.give_up_at && now + wait_ >= *rules_.give_up_at) retry = false;
  if (!retry) return Decision{Decision::Action::fail, failure, {}};
  const Decision d{Decision::Action::retry, Failure::none, wait_};
  wait_ = std::min(wait_ * 2, rules_.max_wait);
  return d;
}

}  // namespace redis_repl::core
