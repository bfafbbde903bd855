// RdbParser: the same events whatever the split, clean errors on any damage, bounded memory, and
// each encoding and opcode on hand-made input.
#include "core/rdb_parser.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/crc64.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"

namespace redis_repl::test {
namespace {

using namespace std::string_literals;
using core::RdbLimits;
using core::Step;

std::vector<std::string> fixtures_up_to(std::size_t max_size) {
  std::vector<std::string> out;
  for (const std::string& f : all_rdb_fixtures()) {
    if (read_file(fixtures_dir() + "/" + f).size() <= max_size) out.push_back(f);
  }
  return out;
}

RdbLimits sized(std::string_view data) {
  RdbLimits l;
  l.input_size = data.size();
  return l;
}

}  // namespace

TEST_CASE("rdb_parser: a split anywhere gives the same events (every split point)") {
  SKIP_WITHOUT_CORPUS();
  const std::vector<std::string> files = fixtures_up_to(1500);
  REQUIRE(files.size() > 60);
  for (const std::string& f : files) {
    CAPTURE(f);
    const std::string data = read_file(fixtures_dir() + "/" + f);
    const ParseResult whole = parse_split(data, {});
    for (std::size_t at = 1; at < data.size(); ++at) {
      const ParseResult r = parse_split(data, {at});
      if (r.log != whole.log || r.step != whole.step || r.error.message != whole.error.message) {
        FAIL_CHECK("split at " << at << " differs");
        break;
      }
    }
    const ParseResult bytewise = parse_chunked(data, 1);
    CHECK(bytewise.log == whole.log);
    CHECK(bytewise.error.message == whole.error.message);
    CHECK(bytewise.error.offset == whole.error.offset);
  }
}

TEST_CASE("rdb_parser: byte-at-a-time and random splits over the larger fixtures") {
  SKIP_WITHOUT_CORPUS();
  std::mt19937_64 rng(42);
  int n = 0;
  for (const std::string& f : all_rdb_fixtures()) {
    const std::string data = read_file(fixtures_dir() + "/" + f);
    if (data.size() <= 1500) continue;
    CAPTURE(f);
    ++n;
    const ParseResult whole = parse_split(data, {}, sized(data));
    if (data.size() <= 64 * 1024) CHECK(parse_chunked(data, 1, sized(data)).log == whole.log);
    for (int round = 0; round < 8; ++round) {
      std::vector<std::size_t> splits;
      for (int i = 0; i < 12; ++i) splits.push_back(rng() % data.size());
      std::sort(splits.begin(), splits.end());
      const ParseResult r = parse_split(data, splits, sized(data));
      CHECK(r.log == whole.log);
      CHECK(r.step == whole.step);
    }
  }
  CHECK(n > 20);
}

TEST_CASE("rdb_parser: a truncated file is a clean truncation error after the same events") {
  SKIP_WITHOUT_CORPUS();
  for (const std::string& f : fixtures_up_to(20000)) {
    CAPTURE(f);
    const std::string data = read_file(fixtures_dir() + "/" + f);
    const ParseResult whole = parse_split(data, {});
    if (whole.step != Step::done) continue;
    const std::size_t step = data.size() < 2000 ? 1 : data.size() / 997;
    for (std::size_t cut = 0; cut < data.size(); cut += step) {
      const ParseResult r = parse_chunked(std::string_view(data).substr(0, cut), 64);
      if (cut >= whole.offset && r.step == Step::done) continue;  // bytes after the RDB
      if (r.step != Step::failed || r.error.code != Errc::rdb_truncated ||
          whole.log.compare(0, r.log.size(), r.log) != 0) {
        FAIL_CHECK("cut at " << cut << ": " << r.error.message);
        break;
      }
      // Told the real size, the parser may refuse a length early instead: still clean.
      const ParseResult s = parse_chunked(std::string_view(data).substr(0, cut), 64,
                                          sized(std::string_view(data).substr(0, cut)));
      if (s.step != Step::failed ||
          (s.error.code != Errc::rdb_truncated && s.error.code != Errc::rdb_corrupt)) {
        FAIL_CHECK("cut at " << cut << " with input_size: " << s.error.message);
        break;
      }
    }
  }
}

TEST_CASE("rdb_parser: flipped bytes give a clean error or a clean parse, and the CRC sees them") {
  SKIP_WITHOUT_CORPUS();
  std::mt19937_64 rng(7);
  int detected = 0, flips = 0;
  for (const std::string& f : fixtures_up_to(64 * 1024)) {
    CAPTURE(f);
    const std::string data = read_file(fixtures_dir() + "/" + f);
    RecordingVisitor v;
    core::RdbParser whole(v);
    if (whole.feed(data) != Step::done) continue;
    const std::size_t covered = static_cast<std::size_t>(whole.offset());
    const bool has_crc =
        whole.version() >= 5 && std::memcmp(data.data() + covered - 8, "\0\0\0\0\0\0\0\0", 8) != 0;
    for (int i = 0; i < 48; ++i) {
      std::string bad = data;
      const std::size_t at = rng() % covered;
      bad[at] = static_cast<char>(bad[at] ^ static_cast<char>(1 + rng() % 255));
      ++flips;
      for (const bool limit : {false, true}) {
        RdbLimits l = limit ? sized(bad) : RdbLimits{};
        l.max_string = 1 << 20;
        const ParseResult r = parse_chunked(bad, 509, l);
        CHECK((r.step == Step::done || r.step == Step::failed));
        if (r.step == Step::failed) CHECK(!r.error.message.empty());
        // A flip of a version digit that names a version before 5 takes the trailer away: the
        // file then ends at its EOF opcode, with the old CRC as trailing bytes.
        const bool pre5 = at >= 5 && at < 9 &&
                          std::all_of(bad.begin() + 5, bad.begin() + 9,
                                      [](char ch) { return ch >= '0' && ch <= '9'; }) &&
                          std::stoi(bad.substr(5, 4)) < 5;
        if (has_crc && !limit && !pre5) {
          CHECK_MESSAGE(r.step == Step::failed, "flip at " << at << " not detected");
          detected += r.step == Step::failed;
        }
      }
    }
  }
  CHECK(flips > 5000);
  CHECK(detected > 3000);
}

TEST_CASE("rdb_parser: every length form and string encoding") {
  RdbBuilder b(10);
  b.byte(0xfe).len(0);
  b.byte(0).str("k14").len(300).raw(std::string(300, 'x'));  // 14-bit length
  b.byte(0).str("k32").len32(5).raw("hello");                // 32-bit form, not shortest
  b.byte(0).str("k64").len64(3).raw("abc");                  // 64-bit form
  b.byte(0).str("i8").raw("\xc0\xfb");                       // INT8 -5
  b.byte(0).str("i16").raw("\xc1\x39\x30");                  // INT16 12345
  b.byte(0).str("i32").raw("\xc2\x00\x00\x00\x80"s);         // INT32 INT32_MIN
  b.byte(0).str("lzf").raw("\xc3\x09\x40\x64\x01\x61\x61\xe0\x57\x00\x01\x61\x61"s);  // 100 'a'
  const ParseResult r = parse_chunked(b.finish(), 3);
  REQUIRE(r.step == Step::done);
  CHECK(r.log.find("string \"" + std::string(300, 'x') + "\"") != std::string::npos);
  CHECK(r.log.find("string \"hello\"") != std::string::npos);
  CHECK(r.log.find("string \"abc\"") != std::string::npos);
  CHECK(r.log.find("string \"-5\"") != std::string::npos);
  CHECK(r.log.find("string \"12345\"") != std::string::npos);
  CHECK(r.log.find("string \"-2147483648\"") != std::string::npos);
  CHECK(r.log.find("string \"" + std::string(100, 'a') + "\"") != std::string::npos);
}

TEST_CASE("rdb_parser: packed encodings, integer forms included") {
  RdbBuilder b(10);
  b.byte(0xfe).len(3);
  b.byte(16).str("hash").str(listpack(
      {std::string("f"), std::int64_t{-1}, std::string("g"), std::int64_t{-4096},
       std::string(200, 'h'), std::int64_t{8388607}, std::string("i"), std::int64_t{INT64_MIN}}));
  b.byte(17).str("zset").str(listpack({std::string("a"), std::int64_t{-7}, std::string("b"),
                                       std::string("2.5"), std::string("c"), std::string("inf")}));
  b.byte(20).str("set").str(listpack({std::int64_t{127}, std::int64_t{-32768}, std::string("x")}));
  b.byte(11).str("intset").str(std::string("\x08\x00\x00\x00\x02\x00\x00\x00", 8) +
                               std::string("\x00\x00\x00\x00\x00\x00\x00\x80", 8) +  // INT64_MIN
                               std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));  // INT64_MAX
  b.byte(14).str("ql").len(1).str(
      ziplist({std::int64_t{12}, std::int64_t{-128}, std::int64_t{300}, std::int64_t{-8388608},
               std::int64_t{2147483647}, std::int64_t{INT64_MAX}, std::string(70, 'z')}));
  b.byte(18).str("ql2").len(2).len(2).str(listpack({std::string("p")})).len(1).str("plain");
  b.byte(9).str("zipmap").str(
      std::string("\x02\x01"
                  "a"
                  "\x01\x00"
                  "1"
                  "\x01"
                  "b"
                  "\x02\x03"
                  "22xxx\xff",
                  16));
  const ParseResult r = parse_chunked(b.finish(), 7);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  const char* expected[] = {
      "field \"f\" \"-1\" -1",
      "field \"g\" \"-4096\" -1",
      "\" \"8388607\" -1",
      "field \"i\" \"-9223372036854775808\" -1",
      "zmember \"a\" -7",
      "zmember \"b\" 2.5",
      "zmember \"c\" inf",
      "member \"127\"",
      "member \"-32768\"",
      "member \"x\"",
      "member \"-9223372036854775808\"",
      "member \"9223372036854775807\"",
      "item \"12\"",
      "item \"-128\"",
      "item \"300\"",
      "item \"-8388608\"",
      "item \"2147483647\"",
      "item \"9223372036854775807\"",
      "item \"p\"",
      "item \"plain\"",
      "field \"a\" \"1\" -1",
      "field \"b\" \"22\" -1",
  };
  for (const char* e : expected) CHECK_MESSAGE(r.log.find(e) != std::string::npos, e);
  CHECK(r.log.find("item \"" + std::string(70, 'z') + "\"") != std::string::npos);
}

TEST_CASE("rdb_parser: hash field TTL types, relative and absolute") {
  const std::int64_t min = 1700000000000;
  RdbBuilder b(12);
  b.byte(0xfe).len(0);
  // HASH_METADATA: ttl stored as expire - min_expire + 1; 0 = none.
  b.byte(24).str("h24").le64(static_cast<std::uint64_t>(min)).len(2);
  b.len(0).str("f1").str("v1");
  b.len(11).str("f2").str("v2");
  // HASH_METADATA_PRE_GA: absolute.
  b.byte(22).str("h22").len(1).len(static_cast<std::uint64_t>(min + 5)).str("f").str("v");
  // HASH_LISTPACK_EX: min_expire prefix, then triples with absolute expiry (0 = none).
  b.byte(25).str("h25").le64(static_cast<std::uint64_t>(min));
  b.str(listpack({std::string("a"), std::string("1"), std::int64_t{0}, std::string("b"),
                  std::string("2"), std::int64_t{min + 9}}));
  // HASH_LISTPACK_EX_PRE_GA: no prefix.
  b.byte(23).str("h23").str(listpack({std::string("c"), std::string("3"), std::int64_t{min}}));
  const ParseResult r = parse_chunked(b.finish(), 5);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(r.log.find("field \"f1\" \"v1\" -1") != std::string::npos);
  CHECK(r.log.find("field \"f2\" \"v2\" " + std::to_string(min + 10)) != std::string::npos);
  CHECK(r.log.find("field \"f\" \"v\" " + std::to_string(min + 5)) != std::string::npos);
  CHECK(r.log.find("field \"a\" \"1\" -1") != std::string::npos);
  CHECK(r.log.find("field \"b\" \"2\" " + std::to_string(min + 9)) != std::string::npos);
  CHECK(r.log.find("field \"c\" \"3\" " + std::to_string(min)) != std::string::npos);

  // An expiry beyond 48 bits is corrupt.
  RdbBuilder big(12);
  big.byte(22).str("h").len(1).len(1ULL << 48).str("f").str("v");
  const ParseResult e = parse_chunked(big.finish(), 64);
  CHECK(e.error.message == "hash field expiry 281474976710656 is out of range");
}

TEST_CASE("rdb_parser: modifiers, opcodes and old versions") {
  RdbBuilder b(9);
  b.byte(0xfa).str("redis-ver").str("5.0.0");
  b.byte(0xfe).len(2).byte(0xfb).len(2).len(1);
  b.byte(0xf8).len(30).byte(0xfc).le64(4102444800123).byte(0).str("a").str("1");
  b.byte(0xf9).byte(200).byte(0).str("b").str("2");
  const ParseResult r = parse_chunked(b.finish(), 2);
  REQUIRE(r.step == Step::done);
  CHECK(r.log.find("aux \"redis-ver\" \"5.0.0\"") != std::string::npos);
  CHECK(r.log.find("resize 2 1") != std::string::npos);
  CHECK(r.log.find("key 2 \"a\" 0 expire=4102444800123 idle=30 freq=- at=") != std::string::npos);
  // Modifiers apply to the next key only.
  CHECK(r.log.find("key 2 \"b\" 0 expire=- idle=- freq=200") != std::string::npos);

  // RDB 2 to 4: EXPIRETIME in seconds, no checksum after EOF.
  RdbBuilder old(4);
  old.byte(0xfd).le32(2000000000).byte(0).str("k").str("v");
  const ParseResult o = parse_chunked(old.finish(), 1);
  REQUIRE(o.step == Step::done);
  CHECK(o.log.find("expire=2000000000000") != std::string::npos);
  CHECK(o.log.find("end v4 bytes=") != std::string::npos);

  // rdbchecksum no: a zero CRC is not checked.
  const ParseResult z = parse_chunked(RdbBuilder(10).byte(0).str("k").str("v").finish(false), 4);
  CHECK(z.step == Step::done);
  CHECK(z.log.find("crc=0/") != std::string::npos);
}

TEST_CASE("rdb_parser: module values and module aux records are walked and handed out raw") {
  // "hellotype" version 0; a value of two signed numbers and a string.
  const std::uint64_t id = 0x2f3c9d5d56396000ULL | 0;  // arbitrary 54-bit name, version 0
  RdbBuilder b(10);
  b.byte(0xf7).len64(id | 1).len(2).len(2).len(2).len(7).byte(0);  // aux: when=2, one uint
  b.byte(7).str("mk").len64(id).len(2).len(5).len(1).len64(~0ULL).len(5).str("s");
  b.len(4).raw(std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f", 8)).len(0);
  const ParseResult r = parse_chunked(b.finish(), 3);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(r.log.find("module_aux ") != std::string::npos);
  CHECK(r.log.find(" 1 2\n  op 2 u=7") != std::string::npos);  // version 1, when 2, uint 7
  CHECK(r.log.find("op 2 u=5") != std::string::npos);
  CHECK(r.log.find("op 1 u=18446744073709551615") != std::string::npos);
  CHECK(r.log.find("op 5 u=0 d=0 s=\"s\" raw=\"\\x05\\x01s\"") != std::string::npos);
  CHECK(r.log.find("op 4 u=0 d=1 ") != std::string::npos);
}

TEST_CASE("rdb_parser: errors name the problem and the byte") {
  struct Case {
    std::string bytes;
    Errc code;
    std::string message;
    std::uint64_t offset;
  };
  const std::string header = "REDIS0010";
  const Case cases[] = {
      {"REDIS0016", Errc::rdb_unsupported,
       "unsupported RDB version 16; this build reads versions 1 to 15 (and VALKEY 80 to 81)", 5},
      {"REDIS0000", Errc::rdb_unsupported,
       "unsupported RDB version 0; this build reads versions 1 to 15 (and VALKEY 80 to 81)", 5},
      {"RDB000010", Errc::rdb_corrupt, "not an RDB file (no REDIS magic)", 0},
      {header + "\x00\x01k\x82"s, Errc::rdb_corrupt, "bad length prefix 0x82", 12},
      {header + "\x0c\x01k", Errc::rdb_corrupt, "", 9},  // type 12 fine, truncated below
      {header + "\x08", Errc::rdb_unsupported, "unknown object type 8 for RDB version 10", 9},
      {header + "\x1a", Errc::rdb_unsupported, "unknown object type 26 for RDB version 10", 9},
      {header + "\xfe\xc0", Errc::rdb_corrupt, "string encoding 0 where a length belongs", 10},
      {header + "\x00\x01k\xc4"s, Errc::rdb_corrupt, "unknown string encoding 4", 12},
      {header + "\x12\x01k\x01\x03\x01x", Errc::rdb_corrupt, "quicklist node container 3 unknown",
       14},
      {header + "\x00\x01k\xc3\x02\x05\x00\x61"s, Errc::rdb_corrupt,
       "LZF output shorter than declared", 12},
      {header + "\x00\x01k\xc3\x02\x05\x01\x61"s, Errc::rdb_corrupt,
       "LZF literal runs past the input", 12},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    const ParseResult r = parse_chunked(c.bytes, 1);
    REQUIRE(r.step == Step::failed);
    if (c.message.empty()) {
      CHECK(r.error.code == Errc::rdb_truncated);
      CHECK(r.error.message == "input ends at byte 12 inside the value of key 'k'");
      continue;
    }
    CHECK(r.error.code == c.code);
    CHECK(r.error.message == c.message);
    CHECK(r.error.offset == c.offset);
  }
}

TEST_CASE("rdb_parser: lengths are checked against the input before anything is buffered") {
  // A 4 GB string announced in a 20-byte file fails at once when the size is known...
  std::string data = RdbBuilder(10).byte(0).str("k").len32(0xfffffff0).bytes();
  RdbLimits l;
  l.input_size = data.size();
  l.max_string = ~0ULL;
  ParseResult r = parse_split(data, {}, l);
  CHECK(r.error.message == "string of 4294967280 bytes runs past the end of the input");
  // ...and over the element-size limit when it is not.
  r = parse_split(data, {});
  CHECK(r.error.code == Errc::limit_exceeded);
  CHECK(r.error.message == "string of 4294967280 bytes is over the 536870912-byte limit");
  // A count no input could hold.
  data = RdbBuilder(10).byte(2).str("k").len64(1ULL << 40).bytes();
  r = parse_split(data, {}, sized(data));
  CHECK(r.error.message == "element count 1099511627776 cannot fit in the 0 bytes that follow");
}

TEST_CASE("rdb_parser: memory stays bounded however many elements a key has") {
  // A list of 2 million elements streamed in 64 KB chunks: the parser holds one element at a
  // time, never the key.
  constexpr std::uint64_t n = 2'000'000;
  struct Counter : core::RdbVisitor {
    std::uint64_t items = 0;
    core::Flow on_list_item(std::string_view) override {
      ++items;
      return core::Flow::next;
    }
  } counter;
  core::RdbParser p(counter);
  std::string head = RdbBuilder(10).byte(1).str("big").len(n).bytes();
  std::uint64_t crc = core::crc64(0, head.data(), head.size());
  CHECK(p.feed(head) == Step::need_more);
  std::string chunk;
  std::size_t max_buffered = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    chunk += "\x0a";
    chunk += "element-";
    chunk += static_cast<char>('0' + i % 10);
    chunk += "x";
    if (chunk.size() >= 65536 || i + 1 == n) {
      crc = core::crc64(crc, chunk.data(), chunk.size());
      CHECK(p.feed(chunk) == Step::need_more);
      max_buffered = std::max(max_buffered, p.buffered());
      chunk.clear();
    }
  }
  std::string tail = "\xff";
  crc = core::crc64(crc, tail.data(), 1);
  for (int i = 0; i < 8; ++i) tail.push_back(static_cast<char>(crc >> (8 * i)));
  CHECK(p.feed(tail) == Step::done);
  CHECK(counter.items == n);
  CHECK(max_buffered < 16);  // at most one partial element
}

TEST_CASE("rdb_parser: Flow::stop pauses, Flow::skip hides a key, trailing bytes are kept") {
  struct Stopper : RecordingVisitor {
    core::Flow on_key_begin(const core::KeyInfo& k) override {
      RecordingVisitor::on_key_begin(k);
      return k.key == "skip" ? core::Flow::skip : core::Flow::stop;
    }
  } v;
  std::string data = RdbBuilder(10)
                         .byte(1)
                         .str("skip")
                         .len(2)
                         .str("a")
                         .str("b")
                         .byte(0)
                         .str("k1")
                         .str("v1")
                         .byte(0)
                         .str("k2")
                         .str("v2")
                         .finish() +
                     "+after";
  core::RdbParser p(v);
  CHECK(p.feed(data) == Step::stopped);
  CHECK(v.log.find("item") == std::string::npos);  // the skipped list's elements never came
  CHECK(v.log.find("\"k1\"") != std::string::npos);
  CHECK(v.log.find("\"k2\"") == std::string::npos);
  CHECK(p.feed({}) == Step::stopped);
  CHECK(v.log.find("\"k2\"") != std::string::npos);
  CHECK(p.feed({}) == Step::done);
  CHECK(p.trailing() == "+after");
  CHECK(p.feed("\r\n") == Step::done);
  CHECK(p.trailing() == "+after\r\n");
  CHECK(v.log.find("end_key \"skip\"") == std::string::npos);
}

TEST_CASE("rdb_parser: streams with deleted entries, negative sequence deltas and groups") {
  // Node key 1-5; entries 1-5 (deleted), 2-1 (seq delta -4), 3-9 with its own fields.
  std::string node_key;
  for (int i = 7; i >= 0; --i) node_key.push_back(static_cast<char>((1ULL >> (8 * i)) & 0xff));
  for (int i = 7; i >= 0; --i) node_key.push_back(static_cast<char>((5ULL >> (8 * i)) & 0xff));
  const std::string lp = listpack({
      std::int64_t{2},  std::int64_t{1},  std::int64_t{1},  std::string("f"),
      std::int64_t{0},  // master
      std::int64_t{3},  std::int64_t{0},  std::int64_t{0},  std::string("x"),
      std::int64_t{4},  // 1-5 del
      std::int64_t{2},  std::int64_t{1},  std::int64_t{-4}, std::int64_t{42},
      std::int64_t{4},  // 2-1
      std::int64_t{0},  std::int64_t{2},  std::int64_t{4},  std::int64_t{1},
      std::string("g"), std::string("y"), std::int64_t{6},  // 3-9 own fields
  });
  std::string pel_id = node_key.substr(0, 8);
  for (int i = 7; i >= 0; --i) pel_id.push_back(static_cast<char>((9ULL >> (8 * i)) & 0xff));
  pel_id[7] = 3;
  RdbBuilder b(11);
  b.byte(21).str("s").len(1).str(node_key).str(lp);
  b.len(2).len(3).len(9);                          // length, last id 3-9
  b.len(1).len(5).len(1).len(5).len(3);            // first 1-5, max deleted 1-5, entries added 3
  b.len(1).str("grp").len(3).len(9).len64(~0ULL);  // group, last 3-9, entries_read unknown
  b.len(1).raw(pel_id).le64(1000).len(2);          // PEL: 3-9 delivered at 1000, twice
  b.len(1).str("alice").le64(2000).le64(3000).len(1).raw(pel_id);
  const ParseResult r = parse_chunked(b.finish(), 1);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(r.log.find("entry 1-5") == std::string::npos);
  CHECK(r.log.find("entry 2-1 \"f\" \"42\"") != std::string::npos);
  CHECK(r.log.find("entry 3-9 \"g\" \"y\"") != std::string::npos);
  CHECK(r.log.find("meta len=2 last=3-9 first=1-5 maxdel=1-5 added=3 groups=1") !=
        std::string::npos);
  CHECK(r.log.find("group \"grp\" last=3-9 read=- pel=1") != std::string::npos);
  CHECK(r.log.find("pel 3-9 1000 2") != std::string::npos);
  CHECK(r.log.find("consumer \"alice\" seen=2000 active=3000 pel=1\n      cpel 3-9") !=
        std::string::npos);
}

}  // namespace redis_repl::test

namespace redis_repl::test {

TEST_CASE("rdb_parser: a skipped key is checked as strictly as a reported one") {
  // Listpack zset scores as Redis writes them ("inf", "-inf") and one that is no number; a hash
  // field TTL that is no valid time. Reported or skipped (--check, a filter), the verdict is the
  // same.
  struct Skipper : core::RdbVisitor {
    core::Flow on_key_begin(const core::KeyInfo&) override { return core::Flow::skip; }
  };
  const std::vector<std::pair<std::string, bool>> cases = {
      {RdbBuilder(10).byte(17).str("z").str(listpack({"a", "inf", "b", "-inf"})).finish(), true},
      {RdbBuilder(10).byte(17).str("z").str(listpack({"a", "\xceinf"})).finish(), false},
      {RdbBuilder(10).byte(17).str("z").str(listpack({"a", "1.5x"})).finish(), false},
      {RdbBuilder(12)
           .byte(25)
           .str("h")
           .le64(0)
           .str(listpack({"f", "v", std::int64_t{-5}}))
           .finish(),
       false},
  };
  for (const auto& [data, valid] : cases) {
    CAPTURE(valid);
    const ParseResult reported = parse_split(data, {});
    Skipper skipper;
    core::RdbParser p(skipper);
    const Step skipped = p.feed(data);
    CHECK((reported.step == Step::done) == valid);
    CHECK(skipped == reported.step);
    CHECK(p.error().message == reported.error.message);
  }
}

}  // namespace redis_repl::test
