// Lag arithmetic and verdicts: INFO as real servers write it, thresholds, probes that never came.
#include "core/lag.hpp"

#include <doctest/doctest.h>

#include <string>

namespace redis_repl::test {

using core::Status;

// INFO replication of a Redis 7.0.15 master with two replicas (the second stopped, 2 s since its
// last ACK).
const char* const master_info =
    "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
    "slave0:ip=127.0.0.1,port=17001,state=online,offset=5000,lag=0\r\n"
    "slave1:ip=127.0.0.1,port=17002,state=online,offset=4200,lag=2\r\n"
    "master_failover_state:no-failover\r\nmaster_replid:"
    "c3adb08ad394aaa5ea3aa57b9064b9f8284ba9fd\r\n"
    "master_repl_offset:5000\r\nrepl_backlog_active:1\r\n";

TEST_CASE("lag: INFO replication is read as the master writes it") {
  const auto info = core::parse_info(master_info);
  CHECK(info.at("role") == "master");
  CHECK(info.at("master_repl_offset") == "5000");
  const auto replicas = core::listed_replicas(info);
  REQUIRE(replicas.size() == 2);
  CHECK(replicas[1].ip == "127.0.0.1");
  CHECK(replicas[1].port == 17002);
  CHECK(replicas[1].state == "online");
  CHECK(replicas[1].offset == 4200);
  CHECK(replicas[1].ack_age_s == 2);
}

// INFO replication of a valkey-server 8.0.1 master (dual-channel-replication-enabled yes,
// repl-diskless-sync yes) while a valkey-server 8.0.1 replica with dual channel on takes its
// full sync, as read from the master (the third replica added): one replica, listed twice.
const char* const valkey_dual_channel_info =
    "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
    "slave0:ip=127.0.0.1,port=26502,state=wait_bgsave,offset=0,lag=0,type=rdb-channel\r\n"
    "slave1:ip=127.0.0.1,port=26502,state=bg_transfer,offset=0,lag=0,type=main-channel\r\n"
    "slave2:ip=127.0.0.1,port=26503,state=online,offset=828927,lag=0,type=replica\r\n"
    "replicas_waiting_psync:0\r\nmaster_repl_offset:828927\r\n";

TEST_CASE("lag: a Valkey dual-channel pair is one replica, in full sync") {
  const auto listed = core::listed_replicas(core::parse_info(valkey_dual_channel_info));
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].port == 26502);
  CHECK(listed[0].type == "main-channel");
  CHECK(listed[0].state == "bg_transfer");
  CHECK(listed[0].two_connection_sync);
  CHECK(listed[1].port == 26503);
  CHECK(listed[1].type == "replica");
  CHECK_FALSE(listed[1].two_connection_sync);

  // An rdb-channel whose main channel is not listed yet stands for the replica.
  const auto alone = core::listed_replicas(core::parse_info(
      "slave0:ip=127.0.0.1,port=26502,state=wait_bgsave,offset=0,lag=0,type=rdb-channel\r\n"));
  REQUIRE(alone.size() == 1);
  CHECK(alone[0].two_connection_sync);
  // Two replicas on one host are not a pair.
  const auto two = core::listed_replicas(core::parse_info(
      "slave0:ip=127.0.0.1,port=1,state=wait_bgsave,offset=0,lag=0,type=rdb-channel\r\n"
      "slave1:ip=127.0.0.1,port=2,state=online,offset=9,lag=0,type=main-channel\r\n"));
  REQUIRE(two.size() == 2);
  // Redis lists no type: nothing is folded.
  CHECK(core::listed_replicas(core::parse_info(master_info)).size() == 2);
}

TEST_CASE("lag: more than one sync attempt since the link was up is a flapping WARNING") {
  core::ReplicaLag r;
  r.name = "127.0.0.1:6380";
  r.reachable = true;
  r.role = "slave";
  r.link_up = true;
  r.state = "online";
  r.lag_bytes = 0;
  const core::Thresholds t{};
  CHECK(core::judge(r, t).status == Status::ok);  // a server without the field
  r.sync_attempts = 1;
  CHECK(core::judge(r, t).status == Status::ok);
  r.sync_attempts = 3;
  const core::Verdict v = core::judge(r, t);
  CHECK(v.status == Status::warning);
  REQUIRE(v.reasons.size() == 1);
  CHECK(v.reasons[0] == "flapping: 3 sync attempts since the link was up");
}

TEST_CASE("lag: the replica's own offset beats its last ACK") {
  core::ReplicaLag r;
  r.acked_offset = 4200;
  core::derive_lag_bytes(r, 5000);
  CHECK(r.lag_bytes == 800);
  r.replica_offset = 4900;
  core::derive_lag_bytes(r, 5000);
  CHECK(r.lag_bytes == 100);
}

TEST_CASE("lag: probe statistics") {
  const auto st = core::probe_stats({0.004, 0.001, 0.010, 0.002});
  REQUIRE(st);
  CHECK(st->min == doctest::Approx(0.001));
  CHECK(st->median == doctest::Approx(0.003));
  CHECK(st->max == doctest::Approx(0.010));
  CHECK_FALSE(core::probe_stats({}));
}

TEST_CASE("lag: verdicts by thresholds, the worst reason decides") {
  core::Thresholds t;
  t.warn_bytes = 1000;
  t.crit_bytes = 100000;
  t.warn_seconds = 1;
  t.crit_seconds = 5;
  core::ReplicaLag healthy;
  healthy.reachable = true;
  healthy.role = "slave";
  healthy.link_up = true;
  healthy.state = "online";
  healthy.lag_bytes = 0;
  healthy.probe_seconds = {0.001, 0.002};
  CHECK(core::judge(healthy, t).status == Status::ok);

  core::ReplicaLag behind = healthy;
  behind.lag_bytes = 5000;
  auto v = core::judge(behind, t);
  CHECK(v.status == Status::warning);
  CHECK(v.reasons == std::vector<std::string>{"5000 bytes behind"});

  behind.probe_seconds = {0.5, 6.25};
  v = core::judge(behind, t);
  CHECK(v.status == Status::critical);
  CHECK(v.reasons.back() == "6.250 s behind");

  core::ReplicaLag stuck = healthy;
  stuck.probe_seconds.clear();
  stuck.probe_waited_s = 2;  // a probe that never came is never "0 s"
  v = core::judge(stuck, t);
  CHECK(v.status == Status::warning);
  CHECK(v.reasons.back() == "probe not delivered after 2.000 s");
  stuck.probe_waited_s = 5;
  CHECK(core::judge(stuck, t).status == Status::critical);
  CHECK(core::judge(stuck, core::Thresholds{}).status == Status::warning);

  core::ReplicaLag down = healthy;
  down.link_up = false;
  CHECK(core::judge(down, core::Thresholds{}).status == Status::critical);
  core::ReplicaLag syncing = healthy;
  syncing.sync_in_progress = true;
  CHECK(core::judge(syncing, core::Thresholds{}).reasons.front() == "full sync in progress");
  core::ReplicaLag gone;
  gone.error = "Connection refused";
  CHECK(core::judge(gone, t).status == Status::unknown);
  CHECK(core::judge(gone, t).reasons.front() == "unreachable: Connection refused");
  gone.lag_bytes = 200000;  // its last ACK, as the master reports it, still counts
  CHECK(core::judge(gone, t).status == Status::critical);
}

TEST_CASE("lag: a replication client listed with port 0 is an inspector, never a replica") {
  const auto listed = core::listed_replicas(
      core::parse_info("slave0:ip=127.0.0.1,port=0,state=online,offset=10,lag=0\r\n"
                       "slave1:ip=127.0.0.1,port=6380,state=online,offset=10,lag=0\r\n"
                       "slave2:ip=127.0.0.1,port=0,state=online,offset=10,lag=0\r\n"));
  REQUIRE(listed.size() == 3);
  CHECK(core::is_inspector(listed[0]));
  CHECK_FALSE(core::is_inspector(listed[1]));
  CHECK(core::is_inspector(listed[2]));
}

TEST_CASE("lag: fewer replicas than --min-replicas is CRITICAL") {
  CHECK(core::judge_replica_count(0, 0).status == Status::ok);
  CHECK(core::judge_replica_count(1, 1).status == Status::ok);
  const auto none = core::judge_replica_count(0, 1);
  CHECK(none.status == Status::critical);
  CHECK(none.reasons == std::vector<std::string>{"0 replicas, --min-replicas asks for 1"});
  const auto one = core::judge_replica_count(1, 2);
  CHECK(one.status == Status::critical);
  CHECK(one.reasons == std::vector<std::string>{"1 replica, --min-replicas asks for 2"});
}

TEST_CASE("lag: seconds never read 0.000 when they are not zero, thresholds never as 1e-05") {
  CHECK(core::format_seconds(0) == "0.000");
  CHECK(core::format_seconds(1.23456) == "1.235");
  CHECK(core::format_seconds(0.0012) == "0.001");
  CHECK(core::format_seconds(0.0004567) == "0.000457");
  CHECK(core::format_seconds(0.00001234) == "0.0000123");
  CHECK(core::format_decimal(0.00001) == "0.00001");
  CHECK(core::format_decimal(2.5) == "2.5");
  CHECK(core::format_decimal(10) == "10");
  // A WARNING on a sub-millisecond threshold shows the delay that crossed it.
  core::ReplicaLag quick;
  quick.reachable = true;
  quick.probe_seconds = {0.00004, 0.00003};
  const auto v = core::judge(quick, core::Thresholds{{}, {}, 0.00001, 1});
  CHECK(v.status == Status::warning);
  CHECK(v.reasons == std::vector<std::string>{"0.0000400 s behind"});
}

TEST_CASE("lag: statuses combine as monitoring plugins do") {
  CHECK(core::worst(Status::ok, Status::warning) == Status::warning);
  CHECK(core::worst(Status::critical, Status::unknown) == Status::critical);
  CHECK(core::worst(Status::warning, Status::unknown) == Status::unknown);
  CHECK(core::status_name(Status::critical) == "CRITICAL");
}

}  // namespace redis_repl::test
