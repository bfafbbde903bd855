// core/cluster_feed.hpp — telling slot migration from writes in a shard's command stream, without
// I/O. tail --cluster hides what this calls migration unless --noise, so that a consumer does not
// take moved keys for new writes.
//
// Migration is:
// - RESTORE-ASKING (the importing side of MIGRATE, as redis-cli --cluster reshard moves keys);
// - RESTORE of a key whose slot the shard imports (MIGRATE ... REPLACE and atomic slot migration
//   without ASKING);
// - CLUSTER SYNCSLOTS ... (Redis 8.4 and Valkey 9 atomic slot migration) and CLUSTER FLUSHSLOT;
// - a heuristic: DEL or UNLINK whose every key is in a slot the shard migrates out (MIGRATE's
//   source side deletes what it moved with a plain DEL). A user's DEL of such keys during the
//   migration is labelled migration too; a migration not seen in a topology read is not.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace redis_repl::core {

// The slots a shard is moving, as the last topology read showed them.
struct SlotMoves {
  std::vector<bool> importing = std::vector<bool>(16384);  // taken in from another shard
  std::vector<bool> migrating = std::vector<bool>(16384);  // given away to another shard
};

bool is_migration(std::span<const std::string_view> args, const SlotMoves& moves);

}  // namespace redis_repl::core
