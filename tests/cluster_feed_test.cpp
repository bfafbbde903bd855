// The migration classifier of tail --cluster (core/cluster_feed.hpp).
#include "core/cluster_feed.hpp"

#include <doctest/doctest.h>

#include <string_view>
#include <vector>

namespace core = redis_repl::core;

TEST_CASE("cluster feed: migration is told from writes") {
  using V = std::vector<std::string_view>;
  core::SlotMoves moves;
  const auto mig = [&](V args) { return core::is_migration(args, moves); };
  // Whatever the topology says.
  CHECK(mig(V{"RESTORE-ASKING", "foo", "0", "payload"}));
  CHECK(mig(V{"restore-asking", "foo", "0", "payload"}));
  CHECK(mig(V{"CLUSTER", "SYNCSLOTS", "ESTABLISH", "x"}));
  CHECK(mig(V{"cluster", "syncslots", "conf", "asm-task", "x"}));
  CHECK(mig(V{"CLUSTER", "FLUSHSLOT", "12182"}));
  CHECK_FALSE(mig(V{"CLUSTER", "SETSLOT", "1", "STABLE"}));
  CHECK_FALSE(mig(V{"CLUSTER"}));
  CHECK_FALSE(mig(V{}));
  CHECK_FALSE(mig(V{"SET", "foo", "1"}));
  // RESTORE, DEL and UNLINK depend on the slots moving ("foo" is slot 12182, "bar" 5061).
  CHECK_FALSE(mig(V{"RESTORE", "foo", "0", "payload"}));
  CHECK_FALSE(mig(V{"DEL", "foo"}));
  moves.importing[12182] = true;
  CHECK(mig(V{"RESTORE", "foo", "0", "payload", "REPLACE"}));
  CHECK(mig(V{"RESTORE", "{foo}.other", "0", "payload"}));  // a hash tag: the same slot
  CHECK_FALSE(mig(V{"RESTORE", "bar", "0", "payload"}));
  CHECK_FALSE(mig(V{"DEL", "foo"}));  // imported, not migrating: a user's DEL
  moves.migrating[12182] = true;
  CHECK(mig(V{"DEL", "foo"}));
  CHECK(mig(V{"unlink", "foo", "{foo}x"}));
  CHECK_FALSE(mig(V{"DEL", "foo", "bar"}));  // bar's slot does not move: a user's DEL
  CHECK_FALSE(mig(V{"DEL"}));
  CHECK_FALSE(mig(V{"SET", "foo", "1"}));
  moves.migrating[5061] = true;
  CHECK(mig(V{"DEL", "foo", "bar"}));
}

TEST_CASE("cluster feed: a DEL of keys another shard took in lately is migration") {
  using V = std::vector<std::string_view>;
  using Clock = core::RecentlyMoved::Clock;
  const core::SlotMoves none;
  core::RecentlyMoved recent(3, std::chrono::seconds(10));
  const Clock::time_point t0{};
  const auto mig = [&](V args, Clock::time_point at) {
    return core::is_migration(args, none, &recent, at);
  };
  CHECK_FALSE(mig(V{"DEL", "a"}, t0));  // nothing moved yet: a user's DEL
  CHECK(mig(V{"RESTORE-ASKING", "a", "0", "p"}, t0));
  CHECK(mig(V{"RESTORE-ASKING", "b", "0", "p"}, t0));
  CHECK_FALSE(mig(V{"DEL", "a", "zz"}, t0));  // not every key: a user's DEL, nothing forgotten
  CHECK(mig(V{"DEL", "a", "b"}, t0));
  CHECK_FALSE(mig(V{"DEL", "a"}, t0));  // taken once: a second DEL is the user's
  // Moved too long ago: forgotten.
  CHECK(mig(V{"RESTORE-ASKING", "c", "0", "p"}, t0));
  CHECK_FALSE(mig(V{"UNLINK", "c"}, t0 + std::chrono::seconds(11)));
  // At most cap keys are held: the oldest go first.
  for (const char* k : {"k1", "k2", "k3", "k4"}) mig(V{"RESTORE-ASKING", k, "0", "p"}, t0);
  CHECK(recent.size() <= 3);
  CHECK_FALSE(mig(V{"DEL", "k1"}, t0));
  CHECK(mig(V{"DEL", "k4"}, t0));
  // Added again after being taken: held again.
  CHECK(mig(V{"RESTORE-ASKING", "k4", "0", "p"}, t0));
  CHECK(mig(V{"DEL", "k4"}, t0));
}
