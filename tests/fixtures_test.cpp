// The shared corpus: every RDB with a ground truth (what a real server reported after loading it)
// must come out of `dump-rdb --format json` with the same keys, types, values, expiries, hash
// field expiries, functions, stream entries and consumer groups; every other file must parse or
// fail with the documented error, never crash.
#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/rdb_parser.hpp"

namespace redis_repl::test {
namespace {

using nlohmann::json;

std::string truth_bytes(const json& j) {
  return test::truth_bytes(j.is_string() ? j.get<std::string>() : j.dump());
}

// Ours writes a JSON string, or {"base64": "..."}.
std::string our_bytes(const json& j) {
  if (j.is_object()) return base64_decode(j.at("base64").get<std::string>());
  return j.get<std::string>();
}

double score_of(const json& j) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "inf") return 1.0 / 0.0;
    if (s == "-inf") return -1.0 / 0.0;
    FAIL("unexpected score " << s);
  }
  return j.get<double>();
}

struct Diff {
  std::vector<std::string> lines;
  void add(const std::string& key, const std::string& what) {
    if (lines.size() < 20) lines.push_back("key '" + key + "': " + what);
  }
};

std::string show(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size() && i < 6; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > 6) s += ", ... (" + std::to_string(v.size()) + ")";
  return s + "]";
}

void compare_stream(const std::string& key, const json& ours, const json& truth, Diff& d) {
  // Entries, exactly.
  const json& te = truth.at("entries");
  const json& oe = ours.at("entries");
  if (te.size() != oe.size()) {
    d.add(key, "stream has " + std::to_string(oe.size()) + " entries, expected " +
                   std::to_string(te.size()));
    return;
  }
  for (std::size_t i = 0; i < te.size(); ++i) {
    if (te[i][0] != oe[i][0]) d.add(key, "entry id " + oe[i][0].dump() + " vs " + te[i][0].dump());
    const json& tf = te[i][1];
    const json& of = oe[i][1];
    bool same = tf.size() == of.size();
    for (std::size_t k = 0; same && k < tf.size(); ++k)
      same = truth_bytes(tf[k][0]) == our_bytes(of[k][0]) &&
             truth_bytes(tf[k][1]) == our_bytes(of[k][1]);
    if (!same) d.add(key, "fields of entry " + te[i][0].dump() + " differ");
  }
  const json& info = truth.at("info");
  if (ours.at("length") != info.at("length")) d.add(key, "stream length differs");
  if (ours.at("last_id") != info.at("last-generated-id")) d.add(key, "last id differs");
  if (!ours.at("entries_added").is_null()) {
    if (ours.at("entries_added") != info.at("entries-added")) d.add(key, "entries_added differs");
    if (ours.at("max_deleted_entry_id") != info.at("max-deleted-entry-id"))
      d.add(key, "max_deleted_entry_id differs");
    if (ours.at("first_id") != info.at("recorded-first-entry-id")) d.add(key, "first_id differs");
  }
  // Groups: the PEL with its owners, the consumers with their pending ids.
  const json& tg = info.at("groups");
  const json& og = ours.at("groups");
  if (tg.size() != og.size()) {
    d.add(key, "group count differs");
    return;
  }
  for (std::size_t g = 0; g < tg.size(); ++g) {
    const json& t = tg[g];
    const json& o = og[g];
    const std::string gname = truth_bytes(t.at("name"));
    if (gname != our_bytes(o.at("name"))) d.add(key, "group name differs");
    if (t.at("last-delivered-id") != o.at("last_delivered_id"))
      d.add(key, "group " + gname + " last delivered id differs");
    if (!o.at("entries_read").is_null() && !t.at("entries-read").is_null() &&
        t.at("entries-read") != o.at("entries_read"))
      d.add(key, "group " + gname + " entries_read " + o.at("entries_read").dump() + " vs " +
                     t.at("entries-read").dump());
    // Owner of each pending id, from the consumers.
    std::map<std::string, std::string> owner;
    for (const json& c : o.at("consumers"))
      for (const json& id : c.at("pending")) owner[id.get<std::string>()] = our_bytes(c.at("name"));
    std::vector<std::string> tp, op;
    for (const json& p : t.at("pending"))
      tp.push_back(p[0].get<std::string>() + " " + truth_bytes(p[1]) + " " + p[2].dump() + " " +
                   p[3].dump());
    for (const json& p : o.at("pending"))
      op.push_back(p[0].get<std::string>() + " " + owner[p[0].get<std::string>()] + " " +
                   p[1].dump() + " " + p[2].dump());
    if (tp != op) d.add(key, "group " + gname + " PEL " + show(op) + " vs " + show(tp));
    std::vector<std::string> tc, oc;
    for (const json& c : t.at("consumers")) {
      std::string s = truth_bytes(c.at("name")) + " seen=" + c.at("seen-time").dump();
      for (const json& p : c.at("pending")) s += " " + p[0].get<std::string>();
      tc.push_back(s);
    }
    for (const json& c : o.at("consumers")) {
      std::string s = our_bytes(c.at("name")) + " seen=" + c.at("seen_time_ms").dump();
      for (const json& p : c.at("pending")) s += " " + p.get<std::string>();
      oc.push_back(s);
      // active-time is stored from RDB 11 (type 21) on, and reported by 7.2+ loaders.
      if (!c.at("active_time_ms").is_null()) {
        for (const json& tcj : t.at("consumers")) {
          if (truth_bytes(tcj.at("name")) == our_bytes(c.at("name")) &&
              tcj.contains("active-time") && tcj.at("active-time") != c.at("active_time_ms"))
            d.add(key, "consumer active time differs");
        }
      }
    }
    if (tc != oc) d.add(key, "group " + gname + " consumers " + show(oc) + " vs " + show(tc));
  }
}

// Module values are read back with the module's own commands; every number and string those
// report must be among the ops we decoded.
void compare_module(const std::string& key, const json& ours, const json& truth, Diff& d) {
  if (our_bytes(ours.at("module")) != truth.at("type").get<std::string>())
    d.add(key, "module name " + ours.at("module").dump() + " vs " + truth.at("type").dump());
  std::multiset<std::string> have;
  for (const json& op : ours.at("ops")) {
    const std::string kind = op[0].get<std::string>();
    if (kind == "string") {
      have.insert(our_bytes(op[1]));
    } else if (kind == "uint") {
      have.insert(std::to_string(static_cast<std::int64_t>(op[1].get<std::uint64_t>())));
      have.insert(op[1].dump());
    } else {
      have.insert(op[1].dump());
    }
  }
  std::vector<json> want;
  for (const auto& [k, v] : truth.at("value").items()) {
    if (k == "module_type") continue;
    if (v.is_array()) {
      for (const json& x : v) want.push_back(x);
    } else {
      want.push_back(v);
    }
  }
  for (const json& w : want) {
    const std::string s = w.is_string() ? w.get<std::string>() : w.dump();
    if (!have.count(s)) d.add(key, "module value " + s + " not among the decoded ops");
  }
}

void compare_key(const std::string& key, const json& ours, const json& truth, Diff& d) {
  const std::string type = ours.at("type").get<std::string>();
  if (type == "module") return compare_module(key, ours.at("value"), truth, d);
  if (type != truth.at("type").get<std::string>()) {
    d.add(key, "type " + type + " vs " + truth.at("type").dump());
    return;
  }
  if (ours.at("expire_ms") != truth.at("expire_ms"))
    d.add(key, "expire_ms " + ours.at("expire_ms").dump() + " vs " + truth.at("expire_ms").dump());
  const json& ov = ours.at("value");
  const json& tv = truth.at("value");
  if (type == "string") {
    if (our_bytes(ov) != truth_bytes(tv)) d.add(key, "string value differs");
  } else if (type == "list" || type == "set") {
    std::vector<std::string> a, b;
    for (const json& x : ov) a.push_back(our_bytes(x));
    for (const json& x : tv) b.push_back(truth_bytes(x));
    if (type == "set") {
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
    }
    if (a != b) d.add(key, type + " " + show(a) + " vs " + show(b));
  } else if (type == "zset") {
    std::vector<std::pair<double, std::string>> a, b;
    for (const json& x : ov) a.emplace_back(score_of(x[1]), our_bytes(x[0]));
    for (const json& x : tv) b.emplace_back(score_of(x[1]), truth_bytes(x[0]));
    std::sort(a.begin(), a.end());
    if (a != b) d.add(key, "zset members or scores differ");
  } else if (type == "hash") {
    std::map<std::string, std::string> a, b;
    std::map<std::string, std::int64_t> ae, be;
    for (const json& x : ov) {
      a[our_bytes(x[0])] = our_bytes(x[1]);
      if (x.size() > 2) ae[our_bytes(x[0])] = x[2].get<std::int64_t>();
    }
    for (const auto& [f, v] : tv.items()) b[truth_bytes(json(f))] = truth_bytes(v);
    if (truth.contains("field_expire_ms"))
      for (const auto& [f, v] : truth.at("field_expire_ms").items())
        be[truth_bytes(json(f))] = v.get<std::int64_t>();
    if (a != b) d.add(key, "hash fields or values differ");
    if (ae != be) d.add(key, "hash field expiries differ");
  } else if (type == "stream") {
    compare_stream(key, ov, tv, d);
  } else {
    d.add(key, "unknown type " + type);
  }
}

bool empty_collection(const json& line) {
  const std::string t = line.at("type").get<std::string>();
  return (t == "list" || t == "set" || t == "zset" || t == "hash") && line.at("value").empty();
}

std::vector<std::string> fixtures_with_truth() {
  std::vector<std::string> out;
  for (const std::string& f : all_rdb_fixtures()) {
    const std::string truth = fixtures_dir() + "/" + f.substr(0, f.size() - 4) + ".expected.json";
    if (file_exists(truth)) out.push_back(f);
  }
  return out;
}

}  // namespace

TEST_CASE("fixtures: the corpus is where the tests expect it") {
  SKIP_WITHOUT_CORPUS();
  // Without it every comparison below would pass vacuously.
  CHECK(fixtures_with_truth().size() >= 150);
}

TEST_CASE("fixtures: every key agrees with what a real server loaded") {
  SKIP_WITHOUT_CORPUS();
  int compared_files = 0;
  std::size_t compared_keys = 0;
  for (const std::string& f : fixtures_with_truth()) {
    CAPTURE(f);
    const std::string rdb = read_file(fixtures_dir() + "/" + f);
    const json truth =
        json::parse(read_file(fixtures_dir() + "/" + f.substr(0, f.size() - 4) + ".expected.json"));
    const std::string out = dump_json(rdb);
    std::map<std::string, std::map<std::string, json>> ours;  // db -> key -> line (later wins)
    std::set<std::string> our_functions;
    json end;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      json j = json::parse(line);
      const std::string kind = j.at("kind").get<std::string>();
      if (kind == "key") {
        // Redis 7 drops empty collections on load (and logs it); the ground truth has none.
        if (empty_collection(j)) continue;
        ours[j.at("db").dump()][our_bytes(j.at("key"))] = j;
      } else if (kind == "function") {
        our_functions.insert(our_bytes(j.at("code")));
      } else if (kind == "end") {
        end = j;
      }
    }
    REQUIRE_MESSAGE(!end.is_null(),
                    "no end line: " << out.substr(out.size() > 300 ? out.size() - 300 : 0));

    std::set<std::string> truth_functions;
    for (const json& fn : truth.at("functions"))
      truth_functions.insert(fn.at("library_code").get<std::string>());
    CHECK(our_functions == truth_functions);

    Diff d;
    std::size_t truth_keys = 0;
    for (const auto& [db, keys] : truth.at("dbs").items()) {
      for (const auto& [k, v] : keys.items()) {
        ++truth_keys;
        const std::string key = truth_bytes(json(k));
        auto dbit = ours.find(db);
        if (dbit == ours.end() || !dbit->second.count(key)) {
          d.add(key, "missing from our output (db " + db + ")");
          continue;
        }
        compare_key(key, dbit->second.at(key), v, d);
        ++compared_keys;
      }
    }
    std::size_t our_keys = 0;
    for (const auto& [db, keys] : ours) our_keys += keys.size();
    CHECK_MESSAGE(our_keys == truth_keys,
                  "we report " << our_keys << " keys, the server " << truth_keys);
    std::string diffs;
    for (const std::string& l : d.lines) diffs += "\n  " + l;
    CHECK_MESSAGE(d.lines.empty(), diffs);
    ++compared_files;
  }
  MESSAGE("compared " << compared_files << " files, " << compared_keys << " keys");
  CHECK(compared_keys > 5000);
}

// No server here loads a VALKEY080 file, so the Valkey 9.0.1 file of the corpus has no ground
// truth of its own. Its source project (HDT3213/rdb) ships its own reading beside it
// (peer-expected/valkey_hash2_with_hfe.json, where a field expiry of 0 means "none"): the values
// and the field expiries must agree with it, and with the file's AOF rewrite there, which gives
// only F1 and F2 an HPEXPIREAT.
TEST_CASE("fixtures: the Valkey 9 file agrees with its source project's own reading") {
  SKIP_WITHOUT_CORPUS();
  const std::string dir = fixtures_dir() + "/public/hdt3213-rdb/";
  const json peer = json::parse(read_file(dir + "peer-expected/valkey_hash2_with_hfe.json"));
  REQUIRE(peer.size() == 1);
  const json& want = peer.at(0);

  std::vector<json> keys;
  std::istringstream lines(dump_json(read_file(dir + "valkey_hash2_with_hfe.rdb"), 7));
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    if (j.at("kind") == "key") keys.push_back(j);
    if (j.at("kind") == "end") CHECK(j.at("checksum") == "ok");
  }
  REQUIRE(keys.size() == 1);
  const json& got = keys[0];
  CHECK(got.at("key") == want.at("key"));
  CHECK(got.at("type") == want.at("type"));
  CHECK(got.at("db") == want.at("db"));
  CHECK(got.at("expire_ms").is_null());

  // field -> value, expiry (0: none; ours writes no third element then, -1 in the file)
  std::map<std::string, std::pair<std::string, std::int64_t>> fields;
  for (const json& f : got.at("value")) {
    fields[f.at(0).get<std::string>()] = {f.at(1).get<std::string>(),
                                          f.size() > 2 ? f.at(2).get<std::int64_t>() : 0};
    if (f.size() > 2) CHECK(f.at(2).get<std::int64_t>() > 0);
  }
  REQUIRE(fields.size() == want.at("hash").size());
  for (const auto& [field, value] : want.at("hash").items()) {
    CAPTURE(field);
    REQUIRE(fields.count(field) == 1);
    CHECK(fields[field].first == value.get<std::string>());
    CHECK(fields[field].second == want.at("expire").at(field).get<std::int64_t>());
  }

  // The AOF rewrite: one HPEXPIREAT per field with an expiry, at the same millisecond.
  const std::string aof = read_file(dir + "peer-expected/valkey_hash2_with_hfe.aof");
  for (const auto& [field, entry] : fields) {
    CAPTURE(field);
    const std::string ms = std::to_string(entry.second);
    const std::string cmd = "HPEXPIREAT\r\n$9\r\nhash2-hfe\r\n$" + std::to_string(ms.size()) +
                            "\r\n" + ms + "\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$2\r\n" + field + "\r\n";
    CHECK((aof.find(cmd) != std::string::npos) == (entry.second != 0));
  }
}

TEST_CASE("fixtures: files without ground truth parse or fail with the documented error") {
  SKIP_WITHOUT_CORPUS();
  struct Expect {
    const char* file;
    Errc code;
    const char* message;
  };
  const Expect expected[] = {
      {"public/redis/corrupt_ziplist.rdb", Errc::rdb_corrupt,
       "ziplist shorter than its header (key 'key:000000000091')"},
      {"public/hdt3213-rdb/zipmap_big_len.rdb", Errc::rdb_corrupt,
       "zipmap entry count mismatch (key 'zimap_doesnt_compress')"},
      {"public/librdb/future_v19.rdb", Errc::rdb_unsupported,
       "unsupported RDB version 99; this build reads versions 1 to 15 (and VALKEY 80 to 81)"},
      {"public/librdb/invalid_chksum_v8.rdb", Errc::rdb_corrupt,
       "CRC64 mismatch: the file says b477e446e98e5402, the data gives a609bb6465990fe1"},
      {"public/librdb/redis_ent_opcode_ram_lru.rdb", Errc::rdb_unsupported,
       "unknown object type 107 for RDB version 12"},
      {"public/redis-replicator/module.rdb", Errc::rdb_unsupported,
       "module value of type 6 (written by a Redis 4.0 release candidate) cannot be read without "
       "its module"},
  };
  for (const Expect& e : expected) {
    CAPTURE(e.file);
    const ParseResult r = parse_chunked(read_file(fixtures_dir() + "/" + e.file), 4096);
    CHECK(r.step == core::Step::failed);
    CHECK(r.error.code == e.code);
    CHECK(r.error.message == e.message);
  }
  // Every other file without ground truth parses to the end.
  for (const std::string& f : all_rdb_fixtures()) {
    if (file_exists(fixtures_dir() + "/" + f.substr(0, f.size() - 4) + ".expected.json")) continue;
    bool listed = false;
    for (const Expect& e : expected) listed = listed || f == e.file;
    if (listed) continue;
    CAPTURE(f);
    const ParseResult r = parse_chunked(read_file(fixtures_dir() + "/" + f), 4096);
    CHECK_MESSAGE(r.step == core::Step::done, r.error.message);
  }
}

}  // namespace redis_repl::test
