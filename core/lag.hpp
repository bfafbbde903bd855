// core/lag.hpp — replication lag as lag-check reports it: INFO parsing, probe statistics and
// threshold verdicts, with no I/O.
//
// INFO's own `lag=` is only the seconds since a replica's last ACK (a replica hours behind can
// show 0), so lag here is measured two ways: bytes (the master's master_repl_offset minus the
// replica's offset) and time (how long a probe published on the master takes to reach the
// replica). A probe that never arrives is reported as such, with how long it has been waited
// for, never as zero.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/replica.hpp"

namespace redis_repl::core {

// "key:value" lines of an INFO reply (sections and comments skipped).
std::map<std::string, std::string, std::less<>> parse_info(std::string_view text);

// One "slaveN:ip=...,port=...,state=...,offset=...,lag=..." line, as the master sees a replica.
struct ListedReplica {
  std::string ip;
  std::uint16_t port = 0;
  std::string state;           // online, wait_bgsave, send_bulk, ...
  std::int64_t offset = 0;     // the last offset it ACKed
  std::int64_t ack_age_s = 0;  // INFO's "lag": seconds since that ACK
  std::string type;            // Valkey 8+: replica, rdb-channel or main-channel; else empty
  // Valkey's dual-channel full sync lists one replica twice, as its rdb-channel and its
  // main-channel connection (same ip and port): they are one replica here, in full sync.
  bool two_connection_sync = false;
};
// The replicas a master lists, a dual-channel pair (or an rdb-channel whose main channel is not
// listed yet) as one replica in full sync.
std::vector<ListedReplica> listed_replicas(
    const std::map<std::string, std::string, std::less<>>& info);

// A replication client that announces no port (listed with port 0: `redis-cli --replica`), or
// that is one of ours (listed under inspector_host, even with --announce-port), is an inspector,
// not a server: INFO gives only its ip, port and offset, so two of them cannot be told apart.
// Inspectors are counted, never measured, judged or counted as replicas.
inline bool is_inspector(const ListedReplica& r) noexcept {
  return r.port == 0 || r.ip == inspector_host;
}

enum class Status : std::uint8_t { ok = 0, warning = 1, critical = 2, unknown = 3 };
std::string_view status_name(Status s) noexcept;  // "OK", "WARNING", "CRITICAL", "UNKNOWN"
Status worst(Status a, Status b) noexcept;

struct Thresholds {
  std::optional<std::int64_t> warn_bytes, crit_bytes;
  std::optional<double> warn_seconds, crit_seconds;
};

// What lag-check learnt about one replica.
struct ReplicaLag {
  std::string name;        // host:port as reported or given
  bool reachable = false;  // we could query the replica itself
  std::string error;       // why not, or why its answer is unusable
  // Our own replica link (lag-check --self): measured, but not a replica of the master's to count.
  bool self_link = false;
  // From the master's INFO.
  std::string state;
  std::optional<std::int64_t> acked_offset;
  std::optional<std::int64_t> ack_age_s;
  // From the replica's own INFO.
  std::string role;                       // "slave" expected
  std::optional<bool> link_up;            // master_link_status
  std::optional<std::int64_t> last_io_s;  // master_last_io_seconds_ago
  bool sync_in_progress = false;
  std::optional<std::int64_t> replica_offset;  // slave_repl_offset
  // Redis 8's repl_current_sync_attempts: attempts since the link was last up; above 1, the
  // replica keeps failing to sync (flapping).
  std::optional<std::int64_t> sync_attempts;
  // Derived.
  std::optional<std::int64_t> lag_bytes;
  std::vector<double> probe_seconds;     // arrivals
  std::optional<double> probe_waited_s;  // set when probes did not all arrive: how long waited
  std::uint32_t probes_sent = 0;
};

struct ProbeStats {
  double min = 0, median = 0, max = 0;
};
std::optional<ProbeStats> probe_stats(const std::vector<double>& seconds);

// Byte lag: master offset minus the replica's own offset when we could ask it, else its ACK.
void derive_lag_bytes(ReplicaLag& r, std::int64_t master_offset);

// The verdict for one replica and the reasons behind it ("link down", "12345 bytes behind").
struct Verdict {
  Status status = Status::ok;
  std::vector<std::string> reasons;
};
Verdict judge(const ReplicaLag& r, const Thresholds& t);

// Fewer replicas than expected is CRITICAL: the master is up and answering, it lacks replicas.
// `found` counts the replicas measured or listed (not inspectors, not our own link).
Verdict judge_replica_count(std::int64_t found, std::int64_t min_replicas);

// One verdict for a cluster: the worst shard's status, and a reason per shard that is not OK
// ("shard 3f2a...: 127.0.0.1:7004: 2.000 s behind"), in the order given.
struct ShardVerdict {
  std::string shard;  // the shard's label
  Verdict verdict;    // its replicas' and its replica count's, combined
};
Verdict combine_shards(const std::vector<ShardVerdict>& shards);

// Time lag without PUBLISH (cluster mode, where PUBLISH travels over the cluster bus, not the
// replication stream): a probe is the master's master_repl_offset read at a time t0, and it has
// reached a replica once the replica's own offset (its INFO's slave_repl_offset) is at least that.
// The time is from t0 to the poll that saw it: an upper bound, within one poll of the truth.
// One OffsetProbes per replica; the I/O (reading offsets, polling) is the caller's.
class OffsetProbes {
 public:
  void sent(Clock::time_point t0, std::int64_t master_offset);
  // The replica's offset as one poll read it at `at`: every probe it has reached arrives at `at`.
  void seen(std::int64_t replica_offset, Clock::time_point at);
  bool complete() const noexcept;       // every probe sent has arrived
  std::vector<double> seconds() const;  // the arrived probes' delays
  // When a probe has not arrived: how long since the first such one was sent, as of `end`.
  std::optional<double> waited(Clock::time_point end) const;
  std::size_t size() const noexcept { return probes_.size(); }

 private:
  struct Probe {
    Clock::time_point t0;
    std::int64_t target = 0;
    std::optional<Clock::time_point> arrived;
  };
  std::vector<Probe> probes_;
};

// Whether a probe must write to make the master's offset move: when it has not moved since the
// last look (nothing else is writing), a replica would have "reached" it before it was sent, and
// the probe would time only the poll. `previous` is empty at the first look.
bool probe_needs_write(std::optional<std::int64_t> previous, std::int64_t current) noexcept;

// The key an offset probe writes on a cluster master: "__redis-repl:lag:{TAG}", with TAG chosen
// so that the key hashes to `slot` (a slot the master owns; see core/cluster.hpp key_slot).
std::string probe_key_for_slot(std::uint16_t slot);

// Seconds for messages: three decimals, or three significant digits below a millisecond, so that
// a delay that is not zero never reads "0.000".
std::string format_seconds(double s);
// A threshold as the user would write it: plain decimal, never an exponent ("0.00001", "2.5").
std::string format_decimal(double v);

}  // namespace redis_repl::core
