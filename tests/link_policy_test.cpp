// The reconnect policy (core/link_policy.hpp) without a server: which endings finish, which are
// retried after how long, and which failure each one is.
#include "core/link_policy.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <tuple>

namespace redis_repl::test {
namespace {

using core::Decision;
using core::FailKind;
using core::Failure;
using core::LinkOutcome;
using core::SessionEnd;
using std::chrono::milliseconds;

const core::Clock::time_point t0{};

// tail's rules: 0.5 s doubling to 30 s, lost links mended once the feed flowed.
core::RetryRules tail_rules() { return {milliseconds(500), milliseconds(30000), true, {}}; }

LinkOutcome failed(FailKind kind, bool streamed = false, Errc code = Errc::none) {
  LinkOutcome o;
  o.end = SessionEnd::finished;
  o.fail_kind = kind;
  o.code = code;
  o.streamed = streamed;
  return o;
}

LinkOutcome ended(SessionEnd end) {
  LinkOutcome o;
  o.end = end;
  return o;
}

}  // namespace

TEST_CASE("link policy: a stop or a clean end finishes") {
  core::Reconnect r(tail_rules());
  CHECK(r.after(ended(SessionEnd::stopped), t0).action == Decision::Action::done);
  CHECK(r.after(ended(SessionEnd::finished), t0).action == Decision::Action::done);
}

TEST_CASE("link policy: a first connection that fails is the user's to fix") {
  core::Reconnect r(tail_rules());
  const Decision d = r.after(ended(SessionEnd::connect_failed), t0);
  CHECK(d.action == Decision::Action::fail);
  CHECK(d.failure == Failure::connect);
}

TEST_CASE("link policy: TLS failures are never retried, even after streaming") {
  core::Reconnect r(tail_rules());
  CHECK(r.after(failed(FailKind::closed, true), t0).action == Decision::Action::retry);
  const Decision d = r.after(ended(SessionEnd::tls_failed), t0);
  CHECK(d.action == Decision::Action::fail);
  CHECK(d.failure == Failure::tls);
}

TEST_CASE("link policy: refusals and corrupt snapshots fail with their own class") {
  for (const auto& [kind, code, failure] :
       {std::tuple{FailKind::auth, Errc::none, Failure::auth},
        std::tuple{FailKind::permission, Errc::none, Failure::permission},
        std::tuple{FailKind::protocol, Errc::protocol, Failure::protocol},
        std::tuple{FailKind::rdb, Errc::rdb_corrupt, Failure::rdb_corrupt},
        std::tuple{FailKind::rdb, Errc::rdb_truncated, Failure::rdb_corrupt},
        std::tuple{FailKind::rdb, Errc::rdb_unsupported, Failure::rdb_unsupported}}) {
    core::Reconnect r(tail_rules());
    const Decision d = r.after(failed(kind, true, code), t0);  // streamed or not
    CAPTURE(static_cast<int>(kind));
    CHECK(d.action == Decision::Action::fail);
    CHECK(d.failure == failure);
  }
}

TEST_CASE("link policy: a lost link is mended once the feed flowed, with a doubling wait") {
  core::Reconnect r(tail_rules());
  // Closed before any stream: the first connection is not mended.
  CHECK(core::Reconnect(tail_rules()).after(failed(FailKind::closed), t0).action ==
        Decision::Action::fail);
  Decision d = r.after(failed(FailKind::closed, true), t0);
  CHECK(d.action == Decision::Action::retry);
  CHECK(d.wait == milliseconds(500));
  // The reconnects that follow fail to connect: each waits twice as long, up to 30 s.
  milliseconds expected(1000);
  for (int i = 0; i < 8; ++i) {
    d = r.after(ended(SessionEnd::connect_failed), t0);
    CHECK(d.action == Decision::Action::retry);
    CHECK(d.wait == expected);
    expected = std::min(expected * 2, milliseconds(30000));
  }
  CHECK(d.wait == milliseconds(30000));
  // A link that reaches the stream again starts the backoff afresh.
  d = r.after(failed(FailKind::timeout, true), t0);
  CHECK(d.wait == milliseconds(500));
}

TEST_CASE("link policy: a master not ready yet is asked again, within the time given") {
  // dump-rdb's rules: 250 ms doubling to 5 s, no retry past the timeout, none once written.
  const core::RetryRules rules{milliseconds(250), milliseconds(5000), false,
                               t0 + milliseconds(1000)};
  core::Reconnect r(rules);
  Decision d = r.after(failed(FailKind::transient), t0);
  CHECK(d.action == Decision::Action::retry);
  CHECK(d.wait == milliseconds(250));
  d = r.after(failed(FailKind::transient), t0 + milliseconds(300));
  CHECK(d.action == Decision::Action::retry);
  CHECK(d.wait == milliseconds(500));
  // 1000 ms more would end past the deadline.
  d = r.after(failed(FailKind::transient), t0 + milliseconds(800));
  CHECK(d.action == Decision::Action::fail);
  CHECK(d.failure == Failure::connect);

  LinkOutcome written = failed(FailKind::transient);
  written.output_started = true;
  CHECK(core::Reconnect(rules).after(written, t0).action == Decision::Action::fail);
  // Without mend_lost_links a closed link is not retried, streamed or not.
  CHECK(core::Reconnect(rules).after(failed(FailKind::closed, true), t0).action ==
        Decision::Action::fail);
}

TEST_CASE("link policy: an RDB error code maps to its failure") {
  CHECK(core::failure_of(Errc::rdb_unsupported) == Failure::rdb_unsupported);
  CHECK(core::failure_of(Errc::rdb_corrupt) == Failure::rdb_corrupt);
  CHECK(core::failure_of(Errc::limit_exceeded) == Failure::rdb_corrupt);
  CHECK(core::failure_of(FailKind::timeout, Errc::none) == Failure::connect);
}

}  // namespace redis_repl::test
