#include "core/cluster_feed.hpp"

#include "core/cluster.hpp"

namespace redis_repl::core {
namespace {

bool same_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lo = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lo(a[i]) != lo(b[i])) return false;
  }
  return true;
}

}  // namespace

bool is_migration(std::span<const std::string_view> args, const SlotMoves& moves) {
  if (args.empty()) return false;
  const std::string_view name = args[0];
  if (same_nocase(name, "restore-asking")) return true;
  if (same_nocase(name, "cluster"))
    return args.size() >= 2 &&
           (same_nocase(args[1], "syncslots") || same_nocase(args[1], "flushslot"));
  if (same_nocase(name, "restore")) return args.size() >= 2 && moves.importing[key_slot(args[1])];
  if (same_nocase(name, "del") || same_nocase(name, "unlink")) {
    if (args.size() < 2) return false;
    for (std::size_t i = 1; i < args.size(); ++i)
      if (!moves.migrating[key_slot(args[i])]) return false;
    return true;
  }
  return false;
}

}  // namespace redis_repl::core
