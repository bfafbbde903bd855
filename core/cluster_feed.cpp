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

void RecentlyMoved::expire(Clock::time_point now) {
  while (!order_.empty() && (order_.size() > cap_ || now - order_.front().first >= ttl_)) {
    const auto it = when_.find(order_.front().second);
    if (it != when_.end() && it->second == order_.front().first) when_.erase(it);
    order_.pop_front();
  }
}

void RecentlyMoved::add(std::string_view key, Clock::time_point now) {
  when_.insert_or_assign(std::string(key), now);
  order_.emplace_back(now, std::string(key));
  expire(now);
}

bool RecentlyMoved::take_all(std::span<const std::string_view> keys, Clock::time_point now) {
  expire(now);
  for (const std::string_view k : keys)
    if (when_.find(k) == when_.end()) return false;
  for (const std::string_view k : keys)
    if (const auto it = when_.find(k); it != when_.end()) when_.erase(it);
  return true;
}

bool is_migration(std::span<const std::string_view> args, const SlotMoves& moves,
                  RecentlyMoved* recent, RecentlyMoved::Clock::time_point now) {
  if (args.empty()) return false;
  const std::string_view name = args[0];
  if (same_nocase(name, "restore-asking")) {
    if (recent && args.size() >= 2) recent->add(args[1], now);
    return true;
  }
  if (same_nocase(name, "cluster"))
    return args.size() >= 2 &&
           (same_nocase(args[1], "syncslots") || same_nocase(args[1], "flushslot"));
  if (same_nocase(name, "restore")) return args.size() >= 2 && moves.importing[key_slot(args[1])];
  if (same_nocase(name, "del") || same_nocase(name, "unlink")) {
    if (args.size() < 2) return false;
    const std::span<const std::string_view> keys = args.subspan(1);
    if (recent && recent->take_all(keys, now)) return true;
    for (const std::string_view k : keys)
      if (!moves.migrating[key_slot(k)]) return false;
    return true;
  }
  return false;
}

}  // namespace redis_repl::core
