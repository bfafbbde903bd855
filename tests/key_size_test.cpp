// Key sizes: jemalloc classes and listpack encodings by hand, the memory CSV of a fixed corpus
// RDB (golden), the size facts on JSON key lines, and the memory estimates against real servers'
// MEMORY USAGE (Redis 7.0.15, Valkey 8.0.1) for a data set of every type and encoding, sizes over
// four orders of magnitude (every key over 1 KB within 25 %; the distribution of the error is
// printed).
#include "core/key_size.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/rdb_parser.hpp"
#include "formats/sink.hpp"
#include "support/fixtures.hpp"
#include "support/redis_server.hpp"
#include "support/server_test.hpp"

namespace {

using redis_repl::test::RedisServer;
using redis_repl::test::RespClient;
using redis_repl::test::run_program;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

const char* const mixed_fixture = "generated/redis-7.0.15/mixed.rdb";

// The fixture's path, or empty (with one line saying so) when the corpus is absent.
std::string fixture(const char* name) {
  const std::string path = redis_repl::test::fixtures_dir() + "/" + name;
  if (!redis_repl::test::file_exists(path)) {
    MESSAGE("skipped: the shared RDB corpus is absent (" << name << " not found)");
    return {};
  }
  return path;
}

}  // namespace

TEST_CASE("key_size: jemalloc size classes, sds and listpack entries") {
  using namespace redis_repl::core;
  CHECK(allocation_size(1) == 8);
  CHECK(allocation_size(9) == 16);
  CHECK(allocation_size(129) == 160);
  CHECK(allocation_size(1025) == 1280);
  CHECK(allocation_size(4096) == 4096);
  CHECK(allocation_size(16385) == 20480);
  CHECK(sds_size(5) == 8);    // 1 + 5 + 1
  CHECK(sds_size(40) == 48);  // 3 + 40 + 1
  CHECK(listpack_entry_size("7") == 2);
  CHECK(listpack_entry_size("1000") == 3);
  CHECK(listpack_entry_size("007") == 5);  // not canonical: a string
  CHECK(listpack_entry_size("abc") == 5);
  CHECK(listpack_entry_size(std::string(100, 'x')) == 103);
  // Integers as string2ll reads them, at every length and edge: 18 digits and fewer, 19, the
  // limits of int64, and what is not one (an entry of 1 + len bytes plus its back-length).
  CHECK(listpack_entry_size("-1") == 3);
  CHECK(listpack_entry_size("0") == 2);
  CHECK(listpack_entry_size("-0") == 4);
  CHECK(listpack_entry_size("-") == 3);
  CHECK(listpack_entry_size("+1") == 4);
  CHECK(listpack_entry_size("1 ") == 4);
  CHECK(listpack_entry_size("123456789012345678") == 10);
  CHECK(listpack_entry_size("-123456789012345678") == 10);
  CHECK(listpack_entry_size("9223372036854775807") == 10);
  CHECK(listpack_entry_size("-9223372036854775808") == 10);
  CHECK(listpack_entry_size("9223372036854775808") == 21);   // overflows: a string
  CHECK(listpack_entry_size("12345678901234567a") == 20);    // 18 characters, not digits
  CHECK(listpack_entry_size("1234567890123456789a") == 22);  // 20 characters
  CHECK(listpack_entry_size("2147483648") == 10);
  CHECK(listpack_entry_size("8388607") == 5);
}

namespace {

// Records every key's size facts, asking the parser for values (Flow::next) or for blob facts
// only (Flow::facts).
class SizeRecorder final : public redis_repl::formats::Sink {
 public:
  SizeRecorder(redis_repl::formats::OutBuffer& out, redis_repl::core::Flow mode,
               std::vector<std::string>& log)
      : Sink(out), mode_(mode), log_(log) {}
  redis_repl::core::Flow on_key_begin(const redis_repl::core::KeyInfo&) override {
    seen_ = max_ = 0;
    return mode_;
  }
  // The elements as given (with Flow::next), counted here, apart from the sizer.
  redis_repl::core::Flow on_list_item(std::string_view e) override { return seen(e, e); }
  redis_repl::core::Flow on_set_member(std::string_view e) override { return seen(e, e); }
  redis_repl::core::Flow on_zset_member(std::string_view m, double) override { return seen(m, m); }
  redis_repl::core::Flow on_hash_field(std::string_view f, std::string_view v,
                                       std::int64_t) override {
    return seen(f, v);
  }
  void on_key_size(const redis_repl::core::KeySize& s) override { size_ = s; }
  redis_repl::core::Flow on_key_end(const redis_repl::core::KeyInfo& k) override {
    const bool collection = k.type != redis_repl::core::ValueType::string &&
                            k.type != redis_repl::core::ValueType::stream &&
                            k.type != redis_repl::core::ValueType::module;
    if (mode_ == redis_repl::core::Flow::next && collection) {
      CHECK_MESSAGE(size_.len == seen_, k.key);
      CHECK_MESSAGE(size_.max_element == max_, k.key);
    }
    std::ostringstream line;
    line << k.db << " " << k.key << ": len " << size_.len << ", max " << size_.max_element
         << ", memory " << size_.memory << ", bytes " << size_.bytes << ", " << size_.encoding;
    log_.push_back(line.str());
    return redis_repl::core::Flow::next;
  }

 private:
  redis_repl::core::Flow seen(std::string_view a, std::string_view b) {
    ++seen_;
    max_ = std::max<std::uint64_t>(max_, std::max(a.size(), b.size()));
    return redis_repl::core::Flow::next;
  }
  redis_repl::core::Flow mode_;
  std::vector<std::string>& log_;
  std::uint64_t seen_ = 0, max_ = 0;
  redis_repl::core::KeySize size_;
};

std::vector<std::string> sizes_of(const std::string& data, redis_repl::core::Flow mode,
                                  bool& parsed) {
  std::vector<std::string> log;
  std::string out;
  redis_repl::formats::OutBuffer buf(&out);
  auto sink =
      redis_repl::formats::make_sized_sink(std::make_unique<SizeRecorder>(buf, mode, log), buf);
  redis_repl::core::RdbParser p(*sink);
  parsed = p.feed(data) == redis_repl::core::Step::done;
  return log;
}

}  // namespace

TEST_CASE("key_size: sizes from blob facts equal sizes from elements, for every corpus file") {
  SKIP_WITHOUT_CORPUS();
  const auto files = redis_repl::test::all_rdb_fixtures();
  int compared = 0, keys = 0;
  for (const std::string& name : files) {
    const std::string data =
        redis_repl::test::read_file(redis_repl::test::fixtures_dir() + "/" + name);
    bool by_elements = false, by_facts = false;
    const auto a = sizes_of(data, redis_repl::core::Flow::next, by_elements);
    const auto b = sizes_of(data, redis_repl::core::Flow::facts, by_facts);
    CAPTURE(name);
    CHECK(by_elements == by_facts);
    CHECK(a == b);
    if (by_elements) ++compared;
    keys += static_cast<int>(a.size());
  }
  CHECK(compared > 150);
  MESSAGE("sizes agree for " << keys << " keys of " << compared << " files");
}

// The layout follows the file's writer: Redis 7.0 by default; Redis 7.2+ and Valkey hold a list
// of one node as a listpack and a set's dict without values (its 1000-member set below measured
// 29992 bytes by MEMORY USAGE on Valkey 8.0.1, the same key set as in the server test).
TEST_CASE("key_size: a file from Redis 7.2+ or Valkey is sized as those servers hold it") {
  using namespace redis_repl::core;
  auto sized = [](const std::vector<std::pair<std::string, std::string>>& aux, RdbType rdb_type,
                  ValueType type, const std::vector<std::string>& elements) {
    KeySizer s;
    for (const auto& [f, v] : aux) s.aux(f, v);
    KeyInfo k;
    k.key = "set:str:1000";
    k.rdb_type = rdb_type;
    k.type = type;
    s.begin(k);
    if (rdb_type != RdbType::list_quicklist_2) {
      for (const std::string& e : elements) s.element(e);
      return s.end(k, 0);
    }
    // A list of RDB 10 and later is sized from its nodes as stored: listpacks of up to 8 KB.
    BlobFacts node{7, 0, 0, false};
    for (const std::string& e : elements) {
      const std::uint64_t entry = listpack_entry_size(e);
      if (node.records && node.bytes + entry > 8192) {
        s.blob(node);
        node = BlobFacts{7, 0, 0, false};
      }
      node.bytes += entry;
      ++node.records;
      node.max_len = std::max<std::uint64_t>(node.max_len, e.size());
    }
    if (node.records) s.blob(node);
    return s.end(k, 0);
  };
  std::vector<std::string> small_list = {"a", "bb", "ccc"}, members;
  for (int i = 0; i < 1000; ++i) members.push_back("member-" + std::to_string(i));
  const std::vector<std::pair<std::string, std::string>> r70 = {{"redis-ver", "7.0.15"}},
                                                         r72 = {{"redis-ver", "7.2.4"}},
                                                         v80 = {{"valkey-ver", "8.0.1"}};
  CHECK(sized({}, RdbType::list_quicklist_2, ValueType::list, small_list).encoding == "quicklist");
  CHECK(sized(r70, RdbType::list_quicklist_2, ValueType::list, small_list).encoding == "quicklist");
  const KeySize l72 = sized(r72, RdbType::list_quicklist_2, ValueType::list, small_list);
  const KeySize l80 = sized(v80, RdbType::list_quicklist_2, ValueType::list, small_list);
  CHECK(l72.encoding == "listpack");
  CHECK(l80.encoding == "listpack");
  CHECK(l80.memory + 80 ==  // no quicklist (40 bytes) and no node (40 bytes)
        sized(r70, RdbType::list_quicklist_2, ValueType::list, small_list).memory);
  std::vector<std::string> long_list(1000, std::string(100, 'x'));  // many nodes
  CHECK(sized(v80, RdbType::list_quicklist_2, ValueType::list, long_list).encoding == "quicklist");

  const KeySize s70 = sized(r70, RdbType::set, ValueType::set, members);
  const KeySize s80 = sized(v80, RdbType::set, ValueType::set, members);
  CHECK(s70.encoding == "hashtable");
  CHECK(s80.encoding == "hashtable");
  CHECK(s80.memory < s70.memory);
  const double measured = 29992;
  CHECK(std::abs(static_cast<double>(s80.memory) - measured) / measured < 0.03);
}

TEST_CASE("key_size: golden memory CSV of a corpus RDB, and --largest") {
  const std::string path = fixture(mixed_fixture);
  if (path.empty()) return;
  const auto all =
      run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", path, "--format", "memory"});
  INFO(all.err);
  CHECK(all.exit_code == 0);
  CHECK(all.out ==
        "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n"
        "0,stream,stream,5825,stream,1,1,\n"
        "0,set,set,200,hashtable,2,1,\n"
        "0,string,string,64,embstr,5,5,\n"
        "0,set,intset,64,intset,3,1,\n"
        "0,string,int,48,int,5,5,\n"
        "0,list,list,144,quicklist,3,1,\n"
        "0,hash,hash,64,listpack,1,1,\n"
        "0,zset,zset,80,listpack,2,1,\n"
        "0,string,expiring,96,embstr,1,1,2100-01-01T00:00:00.123Z\n"
        "3,string,db3,64,embstr,1,1,\n");
  const auto top = run_program(
      {REDIS_REPL_BINARY, "dump-rdb", "--file", path, "--format", "memory", "--largest", "3"});
  CHECK(top.exit_code == 0);
  CHECK(top.out ==
        "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n"
        "0,stream,stream,5825,stream,1,1,\n"
        "0,set,set,200,hashtable,2,1,\n"
        "0,list,list,144,quicklist,3,1,\n");
  const auto wrong = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", path, "--largest", "3"});
  CHECK(wrong.exit_code == 2);
}

TEST_CASE("key_size: JSON key lines carry bytes, len, max_element and memory") {
  const std::string path = fixture(mixed_fixture);
  if (path.empty()) return;
  const auto r = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", path});
  REQUIRE(r.exit_code == 0);
  const auto file_size = std::filesystem::file_size(path);
  std::uint64_t total = 0;
  int keys = 0;
  for (const std::string& l : lines_of(r.out)) {
    const auto j = nlohmann::json::parse(l);
    if (j["kind"] != "key") continue;
    ++keys;
    INFO(l);
    REQUIRE(j["bytes"].is_number_unsigned());
    CHECK(j["bytes"].get<std::uint64_t>() > j["key"].get<std::string>().size());
    total += j["bytes"].get<std::uint64_t>();
    CHECK(j["memory"].get<std::uint64_t>() > 0);
    if (j["key"] == "string") {
      CHECK(j["bytes"] == 14);  // type, key "string" and value "Hello", each with its length
      CHECK(j["len"] == 5);
      CHECK(j["max_element"] == 5);
    }
    if (j["key"] == "list") CHECK(j["len"] == 3);
  }
  CHECK(keys == 10);
  CHECK(total < file_size);
  const auto h = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", path, "--format", "human"});
  CHECK(h.out.find("  [bytes ") != std::string::npos);
  CHECK(h.out.find(", memory ") != std::string::npos);
}

SERVER_TEST_CASE("key_size: memory estimates within 25 % of MEMORY USAGE for every key over 1 KB") {
  RedisServer server;
  RespClient c = server.client(std::chrono::milliseconds(60000));
  std::vector<std::vector<std::string>> cmds;
  for (int n : {1, 10, 100, 1000, 10000}) {
    const std::string s = std::to_string(n);
    cmds.push_back({"SET", "s:int:" + s, std::to_string(n * 12345)});
    cmds.push_back(
        {"SET", "s:emb:" + s, std::string(static_cast<std::size_t>(std::min(n, 40)), 'x')});
    cmds.push_back({"SET", "s:raw:" + s, std::string(static_cast<std::size_t>(n) * 10, 'y')});
    cmds.push_back(
        {"SET", "s:exp:" + s, std::string(static_cast<std::size_t>(n) * 3, 'e'), "EX", "3600"});
    std::vector<std::string> l = {"RPUSH", "l:" + s}, li = {"RPUSH", "li:" + s},
                             si = {"SADD", "set:int:" + s}, ss = {"SADD", "set:str:" + s},
                             z = {"ZADD", "z:" + s}, h = {"HSET", "h:" + s};
    for (int i = 0; i < n; ++i) {
      const std::string is = std::to_string(i);
      l.push_back("item-" + is + "-" + std::string(static_cast<std::size_t>(i % 30), 'z'));
      li.push_back(is);
      si.push_back(std::to_string(i * 7));
      ss.push_back("member-" + is);
      z.push_back(std::to_string(i * 1.5));
      z.push_back("zm-" + is);
      h.push_back("field-" + is);
      h.push_back("value-" + is + "-" + std::string(static_cast<std::size_t>(i % 20), 'v'));
      if (n <= 1000) cmds.push_back({"XADD", "x:" + s, "*", "a", is, "b", "text-" + is});
    }
    for (auto* v : {&l, &li, &si, &ss, &z, &h}) cmds.push_back(*v);
  }
  cmds.push_back({"XGROUP", "CREATE", "x:1000", "g1", "0"});
  for (std::size_t i = 0; i < cmds.size(); i += 500) {
    const std::vector<std::vector<std::string>> batch(
        cmds.begin() + static_cast<std::ptrdiff_t>(i),
        cmds.begin() + static_cast<std::ptrdiff_t>(std::min(cmds.size(), i + 500)));
    for (const auto& reply : c.pipeline(batch)) REQUIRE_FALSE(reply.is_error());
  }
  REQUIRE(c.command({"SAVE"}).describe() == "OK");
  const std::string rdb = (server.dir() / "dump.rdb").string();
  REQUIRE(std::filesystem::exists(rdb));
  const auto r = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", rdb, "--format", "memory"});
  REQUIRE(r.exit_code == 0);
  std::vector<double> errors;
  int compared = 0;
  for (const std::string& line : lines_of(r.out)) {
    if (line.starts_with("database,")) continue;
    const std::vector<std::string> f = split_csv(line);
    REQUIRE(f.size() == 8);
    const std::string key = f[2];
    const auto usage = c.command({"MEMORY", "USAGE", key, "SAMPLES", "0"});
    REQUIRE(usage.type == redis_repl::test::Reply::Type::integer);
    const auto encoding = c.command({"OBJECT", "ENCODING", key});
    CHECK_MESSAGE(encoding.str == f[4], key);
    if (usage.integer <= 1024) continue;
    ++compared;
    const double estimate = std::stod(f[3]);
    const double error =
        (estimate - static_cast<double>(usage.integer)) / static_cast<double>(usage.integer) * 100;
    errors.push_back(error);
    CHECK_MESSAGE(std::abs(error) <= 25.0, key << ": estimate " << estimate << ", MEMORY USAGE "
                                               << usage.integer << " (" << error << " %)");
  }
  CHECK(compared >= 20);
  std::sort(errors.begin(), errors.end());
  auto at = [&](double q) {
    return errors[static_cast<std::size_t>(q * static_cast<double>(errors.size() - 1))];
  };
  MESSAGE("memory estimate error over " << errors.size() << " keys > 1 KB (%): min " << at(0)
                                        << ", p25 " << at(0.25) << ", median " << at(0.5)
                                        << ", p75 " << at(0.75) << ", max " << at(1));
}
