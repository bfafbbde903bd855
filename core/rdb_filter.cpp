#include "core/rdb_filter.hpp"

#include <algorithm>

#include "core/glob.hpp"

namespace redis_repl::core {

bool KeyFilter::wants_db(std::uint64_t db) const noexcept {
  return dbs.empty() || std::find(dbs.begin(), dbs.end(), db) != dbs.end();
}

bool KeyFilter::wants(std::uint64_t db, std::string_view key, ValueType type) const noexcept {
  if (!wants_db(db)) return false;
  if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) return false;
  if (globs.empty()) return true;
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return glob_match(g, key); });
}

Flow FilterVisitor::on_select_db(std::uint64_t db) {
  db_wanted_ = filter_.wants_db(db);
  return db_wanted_ ? inner_.on_select_db(db) : Flow::next;
}

Flow FilterVisitor::on_resize_db(std::uint64_t k, std::uint64_t e) {
  return db_wanted_ ? inner_.on_resize_db(k, e) : Flow::next;
}

Flow FilterVisitor::on_slot_info(std::uint64_t s, std::uint64_t k, std::uint64_t e) {
  return db_wanted_ ? inner_.on_slot_info(s, k, e) : Flow::next;
}

Flow FilterVisitor::on_key_begin(const KeyInfo& k) {
  if (!filter_.wants(k.db, k.key, k.type)) return Flow::skip;
  return inner_.on_key_begin(k);
}

}  // namespace redis_repl::core
