// Streams (RDB_TYPE_STREAM_LISTPACKS to _5): the node listpacks, the consumer groups, the NACK
// zones and the IDMP state.
#include <string>

#include "core/bytes.hpp"
#include "core/rdb_cursor.hpp"
#include "core/rdb_parser.hpp"

namespace redis_repl::core {
namespace {

constexpr std::int64_t stream_item_deleted = 1;     // STREAM_ITEM_FLAG_DELETED
constexpr std::int64_t stream_item_samefields = 2;  // STREAM_ITEM_FLAG_SAMEFIELDS

StreamId raw_id(const char* p) { return StreamId{load_be64(p), load_be64(p + 8)}; }

}  // namespace

RdbParser::Status RdbParser::step_stream(Cursor& c) {
  Status s;
  const char* p;
  const bool v2 = info_.rdb_type != RdbType::stream_listpacks;
  const bool v3 = info_.rdb_type == RdbType::stream_listpacks_3 ||
                  info_.rdb_type == RdbType::stream_listpacks_4 ||
                  info_.rdb_type == RdbType::stream_listpacks_5;
  auto group_end = [&] {
    if (!skip_) flow(visitor_.on_stream_group_end());
    if (--groups_left_ > 0) {
      state_ = State::stream_group;
    } else {
      stream_groups_done();
    }
  };
  // Type 27 (REDIS 14): each group's consumers are followed by its NACK zone.
  auto consumers_done = [&] {
    if (info_.rdb_type == RdbType::stream_listpacks_5) {
      state_ = State::stream_nack_count;
    } else {
      group_end();
    }
  };
  auto consumer_end = [&] {
    if (!skip_) flow(visitor_.on_stream_consumer_end());
    if (--consumers_left_ > 0) {
      state_ = State::stream_consumer;
      return;
    }
    consumers_done();
  };
  switch (state_) {
    case State::stream_nodes: {
      std::string_view node_key, lp;
      if ((s = read_string(c, node_key, 0)) != Status::ok) return s;
      const std::uint64_t at = offset_ + c.used();
      if ((s = read_string(c, lp, 1)) != Status::ok) return s;
      if (node_key.size() != 16)
        return fail_corrupt(
            c, "stream node key of " + std::to_string(node_key.size()) + " bytes (16 expected)");
      if ((s = decode_stream_node(node_key, lp, at)) != Status::ok) return s;
      if (--left_ == 0) state_ = State::stream_meta;
      return Status::ok;
    }
    case State::stream_meta: {
      StreamMeta m;
      if ((s = read_len(c, m.length)) != Status::ok) return s;
      if ((s = read_stream_id(c, m.last_id)) != Status::ok) return s;
      if (v2) {
        m.has_v2 = true;
        if ((s = read_stream_id(c, m.first_id)) != Status::ok) return s;
        if ((s = read_stream_id(c, m.max_deleted_id)) != Status::ok) return s;
        if ((s = read_len(c, m.entries_added)) != Status::ok) return s;
      }
      if ((s = read_count(c, m.groups, 4)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_stream_meta(m));
      groups_left_ = m.groups;
      if (groups_left_ == 0) {
        stream_groups_done();
      } else {
        state_ = State::stream_group;
      }
      return Status::ok;
    }
    case State::stream_group: {
      StreamGroup g;
      if ((s = read_string(c, g.name, 0)) != Status::ok) return s;
      if ((s = read_stream_id(c, g.last_id)) != Status::ok) return s;
      if (v2) {
        std::uint64_t read = 0;
        if ((s = read_len(c, read)) != Status::ok) return s;
        if (read != ~0ULL) g.entries_read = static_cast<std::int64_t>(read);
      }
      if ((s = read_count(c, g.pending, 25)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_stream_group_begin(g));
      pel_left_ = g.pending;
      state_ = pel_left_ ? State::stream_pel : State::stream_consumer_count;
      return Status::ok;
    }
    case State::stream_pel: {
      StreamPending e;
      if (!c.take(24, p)) return Status::more;
      e.id = raw_id(p);
      e.delivery_time_ms = static_cast<std::int64_t>(load_le64(p + 16));
      if ((s = read_len(c, e.delivery_count)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_stream_pending(e));
      if (--pel_left_ == 0) state_ = State::stream_consumer_count;
      return Status::ok;
    }
    case State::stream_consumer_count:
      if ((s = read_count(c, consumers_left_, 10)) != Status::ok) return s;
      if (consumers_left_ == 0) {
        consumers_done();
        return Status::ok;
      }
      state_ = State::stream_consumer;
      return Status::ok;
    case State::stream_consumer: {
      StreamConsumer k;
      if ((s = read_string(c, k.name, 0)) != Status::ok) return s;
      if (!c.take(8, p)) return Status::more;
      k.seen_time_ms = static_cast<std::int64_t>(load_le64(p));
      if (v3) {
        if (!c.take(8, p)) return Status::more;
        k.active_time_ms = static_cast<std::int64_t>(load_le64(p));
      }
      if ((s = read_count(c, k.pending, 16)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_stream_consumer_begin(k));
      consumer_pel_left_ = k.pending;
      if (consumer_pel_left_ == 0) {
        consumer_end();
      } else {
        state_ = State::stream_consumer_pel;
      }
      return Status::ok;
    }
    case State::stream_consumer_pel:
      if (!c.take(16, p)) return Status::more;
      if (!skip_) flow(visitor_.on_stream_consumer_pending(raw_id(p)));
      if (--consumer_pel_left_ == 0) consumer_end();
      return Status::ok;
    // Type 27 (REDIS 14): a group's NACK zone, its pending entries that no consumer owns: a
    // count, then that many stream ids as 16 raw bytes (ms and seq, big-endian, as in the
    // PELs). redis/librdb src/lib/parser.c at 1afaa46f, elementStreamLP
    // (ST_LOAD_NACK_ZONE_COUNT, ST_LOAD_NACK_ZONE_ENTRY).
    case State::stream_nack_count:
      if ((s = read_count(c, nack_left_, 16)) != Status::ok) return s;
      if (nack_left_ == 0) {
        group_end();
      } else {
        state_ = State::stream_nack;
      }
      return Status::ok;
    case State::stream_nack:
      if (!c.take(16, p)) return Status::more;
      if (!skip_) flow(visitor_.on_stream_nack(raw_id(p)));
      if (--nack_left_ == 0) group_end();
      return Status::ok;
    // Types 26 (REDIS 13) and 27 only, after the groups: the IDMP state. redis/redis src/rdb.c at
    // 39518acb, rdbLoadObject and rdbLoadStreamIdmpEntries: duration, max entries, the
    // producers (each: pid string, entry count, entries of iid string, id ms, id seq), then
    // the all-time counts of iids added and of duplicates.
    case State::stream_idmp_config: {
      std::uint64_t duration, max_entries;
      if ((s = read_len(c, duration)) != Status::ok) return s;
      if ((s = read_len(c, max_entries)) != Status::ok) return s;
      if ((s = read_count(c, idmp_producers_left_, 2)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_stream_idmp_config(duration, max_entries));
      state_ = idmp_producers_left_ ? State::stream_idmp_producer : State::stream_idmp_tail;
      return Status::ok;
    }
    case State::stream_idmp_producer: {
      std::string_view pid;
      if ((s = read_string(c, pid, 0)) != Status::ok) return s;
      if ((s = read_count(c, idmp_entries_left_, 3)) != Status::ok) return s;
      idmp_pid_.assign(pid);
      if (idmp_entries_left_ > 0) {
        state_ = State::stream_idmp_entry;
      } else if (--idmp_producers_left_ == 0) {
        state_ = State::stream_idmp_tail;
      }
      return Status::ok;
    }
    case State::stream_idmp_entry: {
      std::string_view iid;
      StreamId id;
      if ((s = read_string(c, iid, 0)) != Status::ok) return s;
      if ((s = read_stream_id(c, id)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_stream_idmp_entry(idmp_pid_, iid, id));
      if (--idmp_entries_left_ == 0)
        state_ = --idmp_producers_left_ ? State::stream_idmp_producer : State::stream_idmp_tail;
      return Status::ok;
    }
    case State::stream_idmp_tail: {
      std::uint64_t added, duplicates;
      if ((s = read_len(c, added)) != Status::ok) return s;
      if ((s = read_len(c, duplicates)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_stream_idmp_end(added, duplicates));
      end_key();
      return Status::ok;
    }
    default:
      return fail_corrupt(c, "internal: not a stream state");
  }
}

void RdbParser::stream_groups_done() {
  if (info_.rdb_type == RdbType::stream_listpacks_4 ||
      info_.rdb_type == RdbType::stream_listpacks_5) {
    state_ = State::stream_idmp_config;
  } else {
    end_key();
  }
}

// One node: a listpack holding a master entry and then the entries, as deltas from node_key.
RdbParser::Status RdbParser::decode_stream_node(std::string_view node_key, std::string_view lp,
                                                std::uint64_t at) {
  auto bad = [&](const std::string& what) {
    return fail(Errc::rdb_corrupt, "stream node: " + what + " (key '" + key_.substr(0, 64) + "')",
                at);
  };
  const StreamId base = raw_id(node_key.data());
  ListpackReader r;
  if (const char* err = r.open(lp)) return bad(err);
  PackedItem item;
  auto next_int = [&](std::int64_t& out, const char* what) -> bool {
    Next n = r.next(item);
    if (n != Next::item || !item.is_int) {
      bad(n == Next::error ? std::string(r.error()) : std::string(what) + " is missing");
      return false;
    }
    out = item.num;
    return true;
  };
  std::int64_t count, deleted, nmf, v;
  if (!next_int(count, "entry count") || !next_int(deleted, "deleted count") ||
      !next_int(nmf, "master field count"))
    return Status::fail;
  if (count < 0 || deleted < 0 || nmf < 0 || count + deleted == 0)
    return bad("empty node or negative counts");
  master_fields_.clear();
  for (std::int64_t i = 0; i < nmf; ++i) {
    if (r.next(item) != Next::item) return bad("master fields cut short");
    master_fields_.push_back(item);
  }
  if (!next_int(v, "master terminator")) return Status::fail;
  if (v != 0) return bad("master entry terminator is not 0");

  std::int64_t live = 0, dead = 0;
  for (;;) {
    std::int64_t flags;
    Next n = r.next(item);
    if (n == Next::end) break;
    if (n == Next::error) return bad(r.error());
    if (!item.is_int) return bad("entry flags are not an integer");
    flags = item.num;
    std::int64_t ms_diff, seq_diff, nf, lp_count;
    if (!next_int(ms_diff, "entry id") || !next_int(seq_diff, "entry id")) return Status::fail;
    entry_items_.clear();
    const bool same = flags & stream_item_samefields;
    if (same) {
      nf = nmf;
    } else if (!next_int(nf, "entry field count")) {
      return Status::fail;
    }
    if (nf < 0 || static_cast<std::uint64_t>(nf) > lp.size()) return bad("bad entry field count");
    for (std::int64_t i = 0; i < nf; ++i) {
      if (same) entry_items_.push_back(master_fields_[static_cast<std::size_t>(i)]);
      for (int k = same ? 1 : 0; k < 2; ++k) {
        n = r.next(item);
        if (n != Next::item) return bad(n == Next::error ? r.error() : "entry cut short");
        entry_items_.push_back(item);
      }
    }
    if (!next_int(lp_count, "entry lp-count")) return Status::fail;
    if (lp_count != (same ? 3 + nf : 4 + 2 * nf)) return bad("entry lp-count does not match");
    if (flags & stream_item_deleted) {
      ++dead;
      continue;
    }
    ++live;
    if (skip_) continue;
    // Integers become text; lay it all out first so no view is taken into a growing buffer.
    entry_text_.resize(24 * entry_items_.size());
    entry_views_.clear();
    for (std::size_t i = 0; i < entry_items_.size(); ++i) {
      const PackedItem& e = entry_items_[i];
      entry_views_.push_back(e.is_int ? format_int(entry_text_.data() + 24 * i, e.num) : e.str);
    }
    const StreamId id{base.ms + static_cast<std::uint64_t>(ms_diff),
                      base.seq + static_cast<std::uint64_t>(seq_diff)};
    flow(visitor_.on_stream_entry(id, entry_views_));
  }
  if (live != count || dead != deleted) return bad("entry counts do not match the master entry");
  return Status::ok;
}

}  // namespace redis_repl::core
