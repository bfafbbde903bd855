// Finding a master through Sentinel without a server (core/sentinel.hpp): the replies read, the
// order sentinels are asked in, what a round of answers adds up to, and when a new address is a
// failover; and the address every replica link announces (REPLCONF ip-address), which keeps
// Sentinel from taking our links for replicas.
#include <doctest/doctest.h>

#include "core/lag.hpp"
#include "core/replica.hpp"
#include "core/resp_writer.hpp"
#include "core/sentinel.hpp"
#include "formats/sink.hpp"
#include "support/fixtures.hpp"

namespace redis_repl::test {
namespace {

using core::HostPort;
using core::MasterAddress;
using core::Reply;
using core::SentinelAttempt;

Reply bulk(std::string s) {
  Reply r;
  r.type = Reply::Type::bulk;
  r.str = std::move(s);
  return r;
}

Reply array(std::vector<Reply> elements) {
  Reply r;
  r.type = Reply::Type::array;
  r.elements = std::move(elements);
  return r;
}

Reply error(std::string s) {
  Reply r;
  r.type = Reply::Type::error;
  r.str = std::move(s);
  return r;
}

SentinelAttempt attempt(std::string sentinel, SentinelAttempt::Outcome o, std::string detail = "") {
  return SentinelAttempt{std::move(sentinel), o, std::move(detail)};
}

}  // namespace

TEST_CASE("sentinel: HOST:PORT") {
  CHECK(core::parse_host_port("127.0.0.1:26379") == HostPort{"127.0.0.1", 26379});
  CHECK(core::parse_host_port("[::1]:26379") == HostPort{"::1", 26379});
  CHECK(core::parse_host_port("sentinel-a.example:5000") == HostPort{"sentinel-a.example", 5000});
  CHECK(HostPort{"::1", 26379}.name() == "[::1]:26379");
  for (const char* bad : {"", "localhost", ":26379", "h:0", "h:65536", "h:-1", "h:26379x", "::1:2",
                          "[::1:2", "[]:2", "a b:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(core::parse_host_port(bad));
  }
}

TEST_CASE("sentinel: the replies of get-master-addr-by-name and ROLE") {
  const MasterAddress a = core::read_master_address(array({bulk("10.0.0.5"), bulk("6380")}));
  CHECK(a.kind == MasterAddress::Kind::address);
  CHECK(a.master == HostPort{"10.0.0.5", 6380});
  CHECK(core::read_master_address(Reply{}).kind == MasterAddress::Kind::unknown_name);
  for (const char* e : {"NOAUTH Authentication required.", "WRONGPASS invalid username-password",
                        "NOPERM this user has no permissions"})
    CHECK(core::read_master_address(error(e)).kind == MasterAddress::Kind::auth);
  const MasterAddress other = core::read_master_address(error("ERR unknown command"));
  CHECK(other.kind == MasterAddress::Kind::error);
  CHECK(other.message == "ERR unknown command");
  for (const Reply& r : {array({bulk("h")}), array({bulk("h"), bulk("0")}),
                         array({bulk(""), bulk("6379")}), bulk("h:6379")})
    CHECK(core::read_master_address(r).kind == MasterAddress::Kind::error);

  CHECK(core::role_is_master(array({bulk("master"), Reply{}, array({})})));
  CHECK_FALSE(core::role_is_master(array({bulk("slave"), bulk("h"), bulk("1")})));
  CHECK_FALSE(core::role_is_master(error("NOAUTH")));
}

TEST_CASE("sentinel: +switch-master messages") {
  CHECK(core::read_switch_master("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster") ==
        HostPort{"127.0.0.1", 6380});
  CHECK_FALSE(core::read_switch_master("other 127.0.0.1 6379 127.0.0.1 6380", "mymaster"));
  CHECK_FALSE(core::read_switch_master("mymaster 127.0.0.1 6379 127.0.0.1", "mymaster"));
  CHECK_FALSE(core::read_switch_master("mymaster 127.0.0.1 6379 127.0.0.1 x", "mymaster"));
}

TEST_CASE("sentinel: the one that answered is asked first") {
  core::SentinelOrder order(3);
  CHECK(order.order() == std::vector<std::size_t>{0, 1, 2});
  order.answered(2);
  CHECK(order.order() == std::vector<std::size_t>{2, 0, 1});
  order.answered(1);
  CHECK(order.order() == std::vector<std::size_t>{1, 2, 0});
  order.answered(1);
  CHECK(order.order() == std::vector<std::size_t>{1, 2, 0});
}

TEST_CASE("sentinel: a round without a master is one line and one class of failure") {
  using O = SentinelAttempt::Outcome;
  const core::DiscoveryFailure down =
      core::summarize({attempt("127.0.0.1:1", O::unreachable, "connection refused"),
                       attempt("127.0.0.1:2", O::unreachable, "connection refused")},
                      "mymaster");
  CHECK(down.failure == core::Failure::connect);
  CHECK(down.message ==
        "no sentinel reachable to find master 'mymaster': 127.0.0.1:1 unreachable (connection "
        "refused); 127.0.0.1:2 unreachable (connection refused)");
  CHECK(down.message.find('\n') == std::string::npos);

  const core::DiscoveryFailure unknown =
      core::summarize({attempt("a:1", O::unknown_name), attempt("b:2", O::unknown_name)}, "nope");
  CHECK(unknown.failure == core::Failure::connect);
  CHECK(unknown.message.starts_with("no sentinel knows a master named 'nope':"));

  // A refused password outranks the rest: it will not get better by asking again.
  const core::DiscoveryFailure auth =
      core::summarize({attempt("a:1", O::unreachable), attempt("b:2", O::auth, "WRONGPASS")}, "m");
  CHECK(auth.failure == core::Failure::auth);
  CHECK(auth.message.find("b:2 refused our credentials (WRONGPASS)") != std::string::npos);
  CHECK(core::summarize({attempt("a:1", O::tls)}, "m").failure == core::Failure::tls);
  CHECK(core::summarize({attempt("a:1", O::master_auth)}, "m").failure == core::Failure::auth);
  CHECK(core::summarize({attempt("a:1", O::not_master)}, "m").failure == core::Failure::connect);
}

TEST_CASE("sentinel: a failed round under the reconnect policy") {
  using O = SentinelAttempt::Outcome;
  core::Reconnect policy(
      {std::chrono::milliseconds(500), std::chrono::milliseconds(30000), true, std::nullopt});
  const core::Clock::time_point t0{};
  // Before the feed flowed: a round that found nothing ends it (exit 3).
  const auto nothing = core::summarize({attempt("a:1", O::unreachable)}, "m");
  CHECK(policy.after(core::link_outcome_of(nothing), t0).action == core::Decision::Action::fail);
  // Once it flowed (a failover under way): asked again, with the backoff.
  core::LinkOutcome lost;
  lost.end = core::SessionEnd::finished;
  lost.fail_kind = core::FailKind::closed;
  lost.streamed = true;
  CHECK(policy.after(lost, t0).action == core::Decision::Action::retry);
  const core::Decision again = policy.after(core::link_outcome_of(nothing), t0);
  CHECK(again.action == core::Decision::Action::retry);
  CHECK(again.wait == std::chrono::milliseconds(1000));
  // A refused password is never retried.
  const auto refused = core::summarize({attempt("a:1", O::auth)}, "m");
  const core::Decision no = policy.after(core::link_outcome_of(refused), t0);
  CHECK(no.action == core::Decision::Action::fail);
  CHECK(no.failure == core::Failure::auth);
}

TEST_CASE("sentinel: a new address is a failover, once") {
  core::MasterTracker t;
  CHECK_FALSE(t.observe({"127.0.0.1", 6379}));
  CHECK_FALSE(t.observe({"127.0.0.1", 6379}));
  const auto c = t.observe({"127.0.0.1", 6380});
  REQUIRE(c);
  CHECK(c->from == HostPort{"127.0.0.1", 6379});
  CHECK(c->to == HostPort{"127.0.0.1", 6380});
  CHECK_FALSE(t.observe({"127.0.0.1", 6380}));
}

TEST_CASE(
    "replica: REPLCONF ip-address announces inspector_host, and an error to it is tolerated") {
  RecordingVisitor v;
  core::ReplicaConfig config;
  config.announce_ip = std::string(core::inspector_host);
  core::Replica r(config, v, core::Clock::time_point{});
  std::string ping;
  core::append_command(ping, {"PING"});
  CHECK(r.take_output() == ping);
  r.receive("+PONG\r\n");
  CHECK(r.next_event().kind == core::Event::Kind::need_data);
  std::string sent;
  core::append_command(sent, {"REPLCONF", "ip-address", "redis-repl.invalid"});
  core::append_command(sent, {"REPLCONF", "capa", "eof", "capa", "psync2"});
  CHECK(r.take_output() == sent);
  r.receive("-ERR Unrecognized REPLCONF option: ip-address\r\n+OK\r\n");
  CHECK(r.next_event().kind == core::Event::Kind::need_data);
  CHECK(r.take_output().find("PSYNC") != std::string::npos);
  // lag-check counts such a link as an inspector, whatever port it announces.
  CHECK(core::is_inspector(core::ListedReplica{"redis-repl.invalid", 7000, "online", 0, 0}));
  CHECK(core::is_inspector(core::ListedReplica{"10.0.0.1", 0, "online", 0, 0}));
  CHECK_FALSE(core::is_inspector(core::ListedReplica{"10.0.0.1", 6380, "online", 0, 0}));
}

TEST_CASE("sentinel: the failover line in each format tail writes") {
  auto render = [](formats::Format f) {
    std::string out;
    formats::OutBuffer buf(&out);
    auto sink = formats::make_sink(f, buf);
    sink->on_failover(formats::Failover{"mymaster", "10.0.0.5:6379", "[::1]:6380", 1795492000417});
    buf.flush();
    return out;
  };
  CHECK(render(formats::Format::json) ==
        "{\"kind\":\"failover\",\"master_name\":\"mymaster\",\"from\":\"10.0.0.5:6379\","
        "\"to\":\"[::1]:6380\",\"ts\":1795492000417}\n");
  const std::string human = render(formats::Format::human);
  CHECK(human.starts_with("# "));
  CHECK(human.ends_with(" failover: master \"mymaster\" moved from 10.0.0.5:6379 to [::1]:6380\n"));
  // resp stays commands only: redis-cli --pipe reads every byte of it.
  CHECK(render(formats::Format::resp).empty());
}

}  // namespace redis_repl::test

TEST_CASE("sentinel: resuming on a promoted replica, past what the old master sent after it") {
  const std::string a(40, 'a'), b(40, 'b');
  // Promoted at 1000 (second_repl_offset 1001); we hold 1200, the last data command ended at 990.
  CHECK(redis_repl::core::resume_on_promoted(a, 1200, 990, a, 1001) == 1000);
  CHECK(redis_repl::core::resume_on_promoted(a, 1200, 1000, a, 1001) == 1000);
  // Data after the promotion: only a full resync can help.
  CHECK_FALSE(redis_repl::core::resume_on_promoted(a, 1200, 1001, a, 1001));
  // The new master has all we hold: PSYNC continues as it is.
  CHECK_FALSE(redis_repl::core::resume_on_promoted(a, 1000, 990, a, 1001));
  CHECK_FALSE(redis_repl::core::resume_on_promoted(a, 900, 900, a, 1001));
  // Another history, or none.
  CHECK_FALSE(redis_repl::core::resume_on_promoted(a, 1200, 990, b, 1001));
  CHECK_FALSE(redis_repl::core::resume_on_promoted(a, 1200, 990, a, -1));
  CHECK_FALSE(redis_repl::core::resume_on_promoted("", 1200, 990, "", 1001));
}
