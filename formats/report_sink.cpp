// --format report: where the memory goes, in one pass and bounded memory.
//
// Totals per db, type and encoding; the top keys by estimated memory, by elements and by their
// largest element; the biggest key of each type (what redis-cli --bigkeys finds); the top key
// prefixes; the expiry distribution. Every table is a bounded structure: the top lists hold
// `top` keys each (a key's name is kept up to 512 bytes), and the prefix table at most
// `prefix_cap` prefixes: when it is full, the half that uses the least memory is dropped and
// counted as dropped, so a prefix seen again after a prune shows lower-bound figures (the report
// says when that happened).
#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bytes.hpp"
#include "formats/json_writer.hpp"
#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

using core::Flow;
using core::ValueType;

constexpr std::size_t kept_key_bytes = 512;
constexpr std::size_t max_prefix_bytes = 256;

struct Totals {
  std::uint64_t keys = 0;
  std::uint64_t expires = 0;
  std::uint64_t bytes = 0;
  std::uint64_t memory = 0;
  void add(const core::KeySize& s, bool expires_set) {
    ++keys;
    expires += expires_set ? 1 : 0;
    bytes += s.bytes;
    memory += s.memory;
  }
};

// One key as a report line shows it.
struct KeyRow {
  std::uint64_t db = 0;
  std::string key;  // at most kept_key_bytes
  std::uint64_t key_length = 0;
  ValueType type = ValueType::string;
  std::string_view encoding;
  std::uint64_t bytes = 0;
  std::uint64_t len = 0;
  std::uint64_t max_element = 0;
  std::uint64_t memory = 0;
  std::optional<std::int64_t> expire_ms;
  std::uint64_t seq = 0;  // file order, for ties
};

KeyRow make_row(const core::KeyInfo& k, const core::KeySize& s, std::uint64_t seq) {
  KeyRow r;
  r.db = k.db;
  r.key.assign(k.key.substr(0, kept_key_bytes));
  r.key_length = k.key.size();
  r.type = k.type;
  r.encoding = s.encoding;
  r.bytes = s.bytes;
  r.len = s.len;
  r.max_element = s.max_element;
  r.memory = s.memory;
  r.expire_ms = k.expire_ms;
  r.seq = seq;
  return r;
}

// The `n` largest rows by a measure, ties kept in file order: a min-heap while collecting.
class TopKeys {
 public:
  using Measure = std::uint64_t (*)(const KeyRow&);
  TopKeys(std::size_t n, Measure m) : n_(n), measure_(m) {}

  // Whether a row of this measure would enter (so the row is built only when it does).
  bool wanted(std::uint64_t v) const {
    return n_ > 0 && (heap_.size() < n_ || v > measure_(heap_.front()));
  }
  void add(KeyRow row) {
    if (heap_.size() < n_) {
      heap_.push_back(std::move(row));
      std::push_heap(heap_.begin(), heap_.end(), cmp());
      return;
    }
    std::pop_heap(heap_.begin(), heap_.end(), cmp());
    heap_.back() = std::move(row);
    std::push_heap(heap_.begin(), heap_.end(), cmp());
  }
  // Largest first.
  std::vector<KeyRow> sorted() const {
    std::vector<KeyRow> out = heap_;
    std::sort(out.begin(), out.end(), cmp());
    return out;
  }
  Measure measure() const { return measure_; }

 private:
  // "a before b": larger, or as large and earlier. A heap on it keeps the smallest on top.
  struct Before {
    Measure m;
    bool operator()(const KeyRow& a, const KeyRow& b) const {
      return m(a) != m(b) ? m(a) > m(b) : a.seq < b.seq;
    }
  };
  Before cmp() const { return Before{measure_}; }
  std::size_t n_;
  Measure measure_;
  std::vector<KeyRow> heap_;
};

std::uint64_t by_memory(const KeyRow& r) { return r.memory; }
std::uint64_t by_len(const KeyRow& r) { return r.len; }
std::uint64_t by_max_element(const KeyRow& r) { return r.max_element; }

struct PrefixStat {
  std::uint64_t keys = 0;
  std::uint64_t bytes = 0;
  std::uint64_t memory = 0;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Expiry buckets, relative to the time the snapshot was saved.
constexpr std::array<const char*, 6> expiry_names = {"none",     "expired",  "under_1h",
                                                     "under_1d", "under_1w", "later"};
constexpr std::array<const char*, 6> expiry_labels = {
    "no expiry", "expired at save", "within 1 hour", "within 1 day", "within 1 week", "later"};

std::size_t expiry_bucket(const std::optional<std::int64_t>& at, std::int64_t now_ms) {
  if (!at) return 0;
  const std::int64_t left = *at - now_ms;
  if (left <= 0) return 1;
  if (left < 3600'000) return 2;
  if (left < 86400'000) return 3;
  if (left < 7 * 86400'000LL) return 4;
  return 5;
}

// The unit redis-cli --bigkeys gives each type's size in.
const char* size_unit(ValueType t) {
  switch (t) {
    case ValueType::string:
      return "bytes";
    case ValueType::list:
      return "items";
    case ValueType::set:
    case ValueType::zset:
      return "members";
    case ValueType::hash:
    case ValueType::path_hash:
      return "fields";
    case ValueType::stream:
      return "entries";
    case ValueType::module:
      return "bytes";
    case ValueType::array:
      return "elements";
  }
  return "";
}

// A table for people; align has one letter per column: 'l' (text) or 'r' (numbers).
class Table {
 public:
  Table(std::vector<std::string> head, std::string_view align) : align_(align) {
    rows_.push_back(std::move(head));
  }
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void write(std::string& out) const {
    std::vector<std::size_t> width(align_.size(), 0);
    for (const auto& r : rows_)
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows_) {
      out.append("  ");
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::size_t pad = width[i] - r[i].size();
        if (align_[i] == 'r') out.append(pad, ' ');
        out.append(r[i]);
        if (i + 1 == r.size()) break;
        if (align_[i] == 'l') out.append(pad, ' ');
        out.append("  ");
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out.push_back('\n');
    }
  }

 private:
  std::string_view align_;
  std::vector<std::vector<std::string>> rows_;
};

std::string num(std::uint64_t v) {
  std::string s;
  append_uint(s, v);
  return s;
}

std::string shown_key(const KeyRow& r) {
  std::string s;
  append_repr(s, r.key);
  if (r.key_length > r.key.size()) {
    s.append("... (");
    append_uint(s, r.key_length);
    s.append(" bytes)");
  }
  return s;
}

class ReportSink final : public CountingSink {
 public:
  ReportSink(OutBuffer& out, const ReportOptions& o)
      : CountingSink(out),
        o_(o),
        top_memory_(o.top, by_memory),
        top_len_(o.top, by_len),
        top_element_(o.top, by_max_element) {
    prefixes_.reserve(std::min<std::size_t>(o.prefix_cap, 4096) + 1);
  }

  Flow on_header(const core::Header& h) override {
    summary_.header(h);
    version_ = h.version;
    valkey_ = h.valkey;
    return Flow::next;
  }
  Flow on_aux(std::string_view field, std::string_view value) override {
    if (field == "ctime") {
      std::int64_t seconds = 0;
      if (core::parse_decimal(value, seconds) && seconds >= 0 && seconds < (1LL << 40))
        saved_ms_ = seconds * 1000;
    } else if (field == "redis-ver" && !valkey_ver_) {
      writer_ = std::string(value.substr(0, 64));
    } else if (field == "valkey-ver") {
      valkey_ver_ = std::string(value.substr(0, 64));
    }
    return Flow::next;
  }
  Flow on_key_begin(const core::KeyInfo& k) override {
    summary_.key(k);
    return Flow::facts;  // sizes, not contents: the sized sink gathers them
  }
  void on_key_size(const core::KeySize& s) override { size_ = s; }
  Flow on_key_end(const core::KeyInfo& k) override {
    const core::KeySize& s = size_;
    const bool expires = k.expire_ms.has_value();
    all_.add(s, expires);
    db_totals(k.db).add(s, expires);
    type_totals_[static_cast<std::size_t>(k.type)].add(s, expires);
    encoding_totals(k.type, s.encoding).add(s, expires);
    const std::uint64_t seq = seq_++;

    expiry_[expiry_bucket(k.expire_ms, reference_ms())].add(s, expires);

    const bool collection = k.type != ValueType::string && k.type != ValueType::module;
    std::optional<KeyRow> row;
    auto get_row = [&]() -> KeyRow {
      if (!row) row = make_row(k, s, seq);
      return *row;
    };
    if (top_memory_.wanted(s.memory)) top_memory_.add(get_row());
    if (collection && top_len_.wanted(s.len)) top_len_.add(get_row());
    if (top_element_.wanted(s.max_element)) top_element_.add(get_row());
    auto& biggest = biggest_[static_cast<std::size_t>(k.type)];
    if (!biggest || s.len > biggest->len) biggest = get_row();

    if (!o_.separators.empty()) add_prefixes(k.key, s);
    return Flow::next;
  }
  Flow on_end(const core::EndInfo& e) override {
    summary_.end(e);
    std::string& b = out_.buffer();
    if (o_.json) {
      write_json(b);
    } else {
      write_human(b);
    }
    return line_done();
  }
  void abort() override { out_.flush(); }

 private:
  Totals& db_totals(std::uint64_t db) {
    auto it = std::lower_bound(dbs_.begin(), dbs_.end(), db,
                               [](const auto& d, std::uint64_t n) { return d.first < n; });
    if (it == dbs_.end() || it->first != db) it = dbs_.insert(it, {db, Totals{}});
    return it->second;
  }
  Totals& encoding_totals(ValueType type, std::string_view encoding) {
    for (auto& e : encodings_)
      if (e.type == type && e.encoding == encoding) return e.totals;
    encodings_.push_back({type, encoding, {}});
    return encodings_.back().totals;
  }

  // What expiries are placed against: the save time, which the RDB gives (to the second) before
  // its keys; a key expiring within that second counts as expired at save. Without one, the time
  // of the report.
  std::int64_t reference_ms() const { return saved_ms_ ? *saved_ms_ + 1000 : o_.now_ms; }

  void add_prefixes(std::string_view key, const core::KeySize& s) {
    std::size_t from = 0;
    for (std::uint64_t depth = 0; depth < o_.prefix_depth; ++depth) {
      const std::size_t at = key.find_first_of(o_.separators, from);
      if (at == std::string_view::npos || at + 1 > max_prefix_bytes) break;
      const std::string_view prefix = key.substr(0, at + 1);
      auto it = prefixes_.find(prefix);
      if (it == prefixes_.end()) {
        if (prefixes_.size() >= o_.prefix_cap) prune_prefixes();
        it = prefixes_.emplace(std::string(prefix), PrefixStat{}).first;
      }
      ++it->second.keys;
      it->second.bytes += s.bytes;
      it->second.memory += s.memory;
      from = at + 1;
    }
    if (from == 0) {
      ++unprefixed_.keys;
      unprefixed_.bytes += s.bytes;
      unprefixed_.memory += s.memory;
    }
  }
  // Drops the half of the table that uses the least memory.
  void prune_prefixes() {
    std::vector<std::uint64_t> memory;
    memory.reserve(prefixes_.size());
    for (const auto& [p, st] : prefixes_) memory.push_back(st.memory);
    const auto mid = memory.begin() + static_cast<std::ptrdiff_t>(memory.size() / 2);
    std::nth_element(memory.begin(), mid, memory.end());
    const std::uint64_t cut = *mid;
    std::size_t to_drop = prefixes_.size() - prefixes_.size() / 2;
    for (auto it = prefixes_.begin(); it != prefixes_.end() && to_drop > 0;) {
      if (it->second.memory <= cut) {
        ++dropped_prefixes_;
        dropped_.keys += it->second.keys;
        dropped_.bytes += it->second.bytes;
        dropped_.memory += it->second.memory;
        it = prefixes_.erase(it);
        --to_drop;
      } else {
        ++it;
      }
    }
  }
  std::vector<std::pair<std::string, PrefixStat>> top_prefixes() const {
    std::vector<std::pair<std::string, PrefixStat>> all(prefixes_.begin(), prefixes_.end());
    const auto cmp = [](const auto& a, const auto& b) {
      return a.second.memory != b.second.memory ? a.second.memory > b.second.memory
                                                : a.first < b.first;
    };
    const std::size_t n = std::min<std::size_t>(o_.top, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), cmp);
    all.resize(n);
    return all;
  }

  void write_key_json(JsonWriter& w, const KeyRow& r) const {
    w.begin_object();
    w.key("db");
    w.unsigned_number(r.db);
    w.key("key");
    w.bytes(r.key);
    if (r.key_length > r.key.size()) {
      w.key("key_length");
      w.unsigned_number(r.key_length);
    }
    w.key("type");
    w.ascii(core::type_name(r.type));
    w.key("encoding");
    w.ascii(r.encoding);
    w.key("memory");
    w.unsigned_number(r.memory);
    w.key("bytes");
    w.unsigned_number(r.bytes);
    w.key("len");
    w.unsigned_number(r.len);
    w.key("max_element");
    w.unsigned_number(r.max_element);
    if (r.expire_ms) {
      w.key("expire_ms");
      w.number(*r.expire_ms);
    }
    w.end();
  }
  static void write_totals_json(JsonWriter& w, const Totals& t) {
    w.key("keys");
    w.unsigned_number(t.keys);
    w.key("expires");
    w.unsigned_number(t.expires);
    w.key("bytes");
    w.unsigned_number(t.bytes);
    w.key("memory");
    w.unsigned_number(t.memory);
  }

  void write_json(std::string& b) const {
    JsonWriter w(b);
    w.begin_object();
    w.key("kind");
    w.ascii("report");
    w.key("rdb_version");
    w.number(version_);
    w.key("redis_ver");
    if (writer_) {
      w.bytes(*writer_);
    } else {
      w.null();
    }
    if (valkey_ver_) {
      w.key("valkey_ver");
      w.bytes(*valkey_ver_);
    }
    w.key("saved_at_ms");
    if (saved_ms_) {
      w.number(*saved_ms_);
    } else {
      w.null();
    }
    w.key("total");
    w.begin_object();
    write_totals_json(w, all_);
    w.end();
    w.key("dbs");
    w.begin_array();
    for (const auto& [db, t] : dbs_) {
      w.begin_object();
      w.key("db");
      w.unsigned_number(db);
      write_totals_json(w, t);
      w.end();
    }
    w.end();
    w.key("types");
    w.begin_array();
    for (int i = 0; i < core::value_type_count; ++i) {
      const Totals& t = type_totals_[static_cast<std::size_t>(i)];
      if (!t.keys) continue;
      w.begin_object();
      w.key("type");
      w.ascii(core::type_name(static_cast<ValueType>(i)));
      write_totals_json(w, t);
      w.end();
    }
    w.end();
    w.key("encodings");
    w.begin_array();
    for (const Encoding& e : sorted_encodings()) {
      w.begin_object();
      w.key("type");
      w.ascii(core::type_name(e.type));
      w.key("encoding");
      w.ascii(e.encoding);
      write_totals_json(w, e.totals);
      w.end();
    }
    w.end();
    const auto keys = [&](const char* name, const std::vector<KeyRow>& rows) {
      w.key(name);
      w.begin_array();
      for (const KeyRow& r : rows) write_key_json(w, r);
      w.end();
    };
    keys("top_memory", top_memory_.sorted());
    keys("top_elements", top_len_.sorted());
    keys("top_element_size", top_element_.sorted());
    w.key("biggest");
    w.begin_array();
    for (const auto& r : biggest_) {
      if (!r) continue;
      write_key_json(w, *r);
    }
    w.end();
    w.key("prefixes");
    w.begin_object();
    w.key("separators");
    w.bytes(o_.separators);
    w.key("depth");
    w.unsigned_number(o_.prefix_depth);
    w.key("top");
    w.begin_array();
    for (const auto& [p, st] : top_prefixes()) {
      w.begin_object();
      w.key("prefix");
      w.bytes(p);
      w.key("keys");
      w.unsigned_number(st.keys);
      w.key("bytes");
      w.unsigned_number(st.bytes);
      w.key("memory");
      w.unsigned_number(st.memory);
      w.end();
    }
    w.end();
    w.key("without_prefix");
    w.begin_object();
    w.key("keys");
    w.unsigned_number(unprefixed_.keys);
    w.key("memory");
    w.unsigned_number(unprefixed_.memory);
    w.end();
    w.key("dropped");
    w.begin_object();
    w.key("prefixes");
    w.unsigned_number(dropped_prefixes_);
    w.key("keys");
    w.unsigned_number(dropped_.keys);
    w.key("memory");
    w.unsigned_number(dropped_.memory);
    w.end();
    w.end();
    w.key("expiry");
    w.begin_object();
    w.key("reference_ms");
    w.number(reference_ms());
    for (std::size_t i = 0; i < expiry_.size(); ++i) {
      w.key(expiry_names[i]);
      w.begin_object();
      w.key("keys");
      w.unsigned_number(expiry_[i].keys);
      w.key("memory");
      w.unsigned_number(expiry_[i].memory);
      w.end();
    }
    w.end();
    w.key("checksum");
    w.ascii(summary_.checksum_verdict());
    w.end();
    b.push_back('\n');
  }

  void write_key_table(std::string& b, const std::vector<KeyRow>& rows) const {
    Table t({"memory", "bytes", "elements", "largest", "db", "type", "encoding", "key"},
            "rrrrrlll");
    for (const KeyRow& r : rows)
      t.row({num(r.memory), num(r.bytes), num(r.len), num(r.max_element), num(r.db),
             std::string(core::type_name(r.type)), std::string(r.encoding), shown_key(r)});
    t.write(b);
  }

  void write_human(std::string& b) const {
    b.append(valkey_ ? "Key-space report: VALKEY RDB version " : "Key-space report: RDB version ");
    append_int(b, version_);
    if (valkey_ver_) {
      b.append(", written by Valkey ");
      append_repr(b, *valkey_ver_);
    } else if (writer_) {
      b.append(", written by ");
      append_repr(b, *writer_);
    }
    if (saved_ms_) {
      b.append(", saved ");
      append_time_ms(b, *saved_ms_);
    }
    b.append("\n");
    b.append(
        "memory is the estimated server memory (see the man page); bytes the size in the RDB\n");

    b.append("\nTotals\n");
    {
      Table t({"db", "keys", "expires", "bytes", "memory"}, "lrrrr");
      for (const auto& [db, x] : dbs_)
        t.row({"db" + num(db), num(x.keys), num(x.expires), num(x.bytes), num(x.memory)});
      t.row({"all", num(all_.keys), num(all_.expires), num(all_.bytes), num(all_.memory)});
      t.write(b);
    }
    b.append("\nBy type and encoding\n");
    {
      Table t({"type", "encoding", "keys", "expires", "bytes", "memory"}, "llrrrr");
      for (int i = 0; i < core::value_type_count; ++i) {
        const Totals& x = type_totals_[static_cast<std::size_t>(i)];
        if (!x.keys) continue;
        const auto type = static_cast<ValueType>(i);
        t.row({std::string(core::type_name(type)), "(all)", num(x.keys), num(x.expires),
               num(x.bytes), num(x.memory)});
        for (const Encoding& e : sorted_encodings()) {
          if (e.type != type) continue;
          t.row({"", std::string(e.encoding), num(e.totals.keys), num(e.totals.expires),
                 num(e.totals.bytes), num(e.totals.memory)});
        }
      }
      t.write(b);
    }
    b.append("\nTop ");
    append_uint(b, o_.top);
    b.append(" keys by memory\n");
    write_key_table(b, top_memory_.sorted());
    b.append("\nTop ");
    append_uint(b, o_.top);
    b.append(" keys by elements (lists, sets, sorted sets, hashes, streams)\n");
    write_key_table(b, top_len_.sorted());
    b.append("\nBiggest key of each type (as redis-cli --bigkeys)\n");
    {
      Table t({"type", "size", "unit", "key"}, "lrll");
      for (const auto& r : biggest_) {
        if (!r) continue;
        t.row({std::string(core::type_name(r->type)), num(r->len), size_unit(r->type),
               shown_key(*r)});
      }
      t.write(b);
    }
    b.append("\nTop ");
    append_uint(b, o_.top);
    b.append(" keys by largest element\n");
    write_key_table(b, top_element_.sorted());

    b.append("\nTop ");
    append_uint(b, o_.top);
    b.append(" key prefixes by memory (separators ");
    append_repr(b, o_.separators);
    b.append(", depth ");
    append_uint(b, o_.prefix_depth);
    b.append(")\n");
    {
      Table t({"memory", "bytes", "keys", "prefix"}, "rrrl");
      for (const auto& [p, st] : top_prefixes()) {
        std::string shown;
        append_repr(shown, p);
        t.row({num(st.memory), num(st.bytes), num(st.keys), shown});
      }
      t.row({num(unprefixed_.memory), num(unprefixed_.bytes), num(unprefixed_.keys),
             "(keys without a separator)"});
      t.write(b);
    }
    if (dropped_prefixes_) {
      b.append("  the prefix table was full: ");
      append_uint(b, dropped_prefixes_);
      b.append(" prefixes (");
      append_uint(b, dropped_.keys);
      b.append(" key counts, ");
      append_uint(b, dropped_.memory);
      b.append(" bytes of memory) were dropped; figures above may be lower bounds\n");
    }

    b.append("\nExpiry (relative to ");
    if (saved_ms_) {
      b.append("the end of the second the RDB was saved in");
    } else {
      b.append("the time of the report; the RDB carries no save time");
    }
    b.append(")\n");
    {
      Table t({"expires", "keys", "memory"}, "lrr");
      for (std::size_t i = 0; i < expiry_.size(); ++i)
        t.row({expiry_labels[i], num(expiry_[i].keys), num(expiry_[i].memory)});
      t.write(b);
    }
    b.append("\nChecksum: ");
    b.append(summary_.checksum_verdict());
    b.push_back('\n');
  }

  struct Encoding {
    ValueType type;
    std::string_view encoding;
    Totals totals;
  };
  std::vector<Encoding> sorted_encodings() const {
    std::vector<Encoding> e = encodings_;
    std::sort(e.begin(), e.end(), [](const Encoding& a, const Encoding& b) {
      return a.type != b.type ? a.type < b.type : a.encoding < b.encoding;
    });
    return e;
  }

  ReportOptions o_;
  int version_ = 0;
  std::optional<std::string> writer_;
  std::optional<std::string> valkey_ver_;  // "valkey-ver" aux (VALKEY files)
  bool valkey_ = false;
  std::optional<std::int64_t> saved_ms_;
  core::KeySize size_;
  std::uint64_t seq_ = 0;
  Totals all_;
  std::vector<std::pair<std::uint64_t, Totals>> dbs_;
  std::array<Totals, core::value_type_count> type_totals_{};
  std::vector<Encoding> encodings_;
  TopKeys top_memory_;
  TopKeys top_len_;
  TopKeys top_element_;
  std::array<std::optional<KeyRow>, core::value_type_count> biggest_{};
  std::array<Totals, 6> expiry_{};
  std::unordered_map<std::string, PrefixStat, StringHash, std::equal_to<>> prefixes_;
  PrefixStat unprefixed_;
  PrefixStat dropped_;
  std::uint64_t dropped_prefixes_ = 0;
};

}  // namespace

std::unique_ptr<Sink> make_report_sink(OutBuffer& out, const ReportOptions& options) {
  return make_sized_sink(std::make_unique<ReportSink>(out, options), out);
}

}  // namespace redis_repl::formats
