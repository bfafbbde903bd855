// core/cluster_feed.hpp — telling slot migration from writes in a shard's command stream, without
// I/O. tail --cluster hides what this calls migration unless --noise, so that a consumer does not
// take moved keys for new writes.
//
// Migration is:
// - RESTORE-ASKING (the importing side of MIGRATE, as redis-cli --cluster reshard moves keys);
// - RESTORE of a key whose slot the shard imports (MIGRATE ... REPLACE and atomic slot migration
//   without ASKING);
// - CLUSTER SYNCSLOTS ... (Redis 8.4 and Valkey 9 atomic slot migration) and CLUSTER FLUSHSLOT;
// - heuristics for the source side, which deletes what MIGRATE moved with a plain DEL: a DEL or
//   UNLINK whose every key is in a slot the shard migrates out (as the last topology read showed
//   it), or whose every key another shard took in lately with RESTORE-ASKING (RecentlyMoved). A
//   user's DEL of such keys is labelled migration too.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace redis_repl::core {

// The slots a shard is moving, as the last topology read showed them.
struct SlotMoves {
  std::vector<bool> importing = std::vector<bool>(16384);  // taken in from another shard
  std::vector<bool> migrating = std::vector<bool>(16384);  // given away to another shard
};

// Keys that other shards took in by migration lately (RESTORE-ASKING), each until the source
// shard's DEL of it is seen, or for `ttl`; at most `cap` keys (the oldest go first): memory is
// bounded whatever the feed.
class RecentlyMoved {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RecentlyMoved(std::size_t cap = 100000, Clock::duration ttl = std::chrono::seconds(30))
      : cap_(cap), ttl_(ttl) {}
  void add(std::string_view key, Clock::time_point now);
  // All of keys were moved lately: true, and they are forgotten. Else false, nothing changes.
  bool take_all(std::span<const std::string_view> keys, Clock::time_point now);
  std::size_t size() const noexcept { return when_.size(); }

 private:
  void expire(Clock::time_point now);
  std::size_t cap_;
  Clock::duration ttl_;
  std::map<std::string, Clock::time_point, std::less<>> when_;   // key -> last added
  std::deque<std::pair<Clock::time_point, std::string>> order_;  // by time added
};

// What migration a command is (see above). recent: RESTORE-ASKING's key is added to it, and a
// DEL or UNLINK of keys in it is migration; null: only the slots tell.
bool is_migration(std::span<const std::string_view> args, const SlotMoves& moves,
                  RecentlyMoved* recent = nullptr,
                  RecentlyMoved::Clock::time_point now = RecentlyMoved::Clock::time_point{});

}  // namespace redis_repl::core
