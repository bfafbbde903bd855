// The newest formats: VALKEY 80/81 and REDIS 13-15. No server of these versions can run here,
// so every encoding below is built by hand from a reading of the servers' source; each test
// names what was read (repository, path, commit, function). The encodings are also checked at
// every split point and byte by byte, like the real files in rdb_parser_test.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/rdb_parser.hpp"
#include "formats/sink.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"
#include "support/redis_server.hpp"
#include "support/replication.hpp"

namespace redis_repl::test {
namespace {

using namespace std::string_literals;
using core::Step;

// Whole, at every split point and byte by byte: the same events and the same verdict.
ParseResult parse_everywhere(const std::string& data) {
  const ParseResult whole = parse_split(data, {});
  for (std::size_t at = 1; at < data.size(); ++at) {
    const ParseResult r = parse_split(data, {at});
    if (r.log != whole.log || r.step != whole.step || r.error.message != whole.error.message ||
        r.error.offset != whole.error.offset) {
      FAIL_CHECK("split at " << at << " differs");
      break;
    }
  }
  const ParseResult bytewise = parse_chunked(data, 1);
  CHECK(bytewise.log == whole.log);
  CHECK(bytewise.error.message == whole.error.message);
  CHECK(bytewise.error.offset == whole.error.offset);
  return whole;
}

bool has(const ParseResult& r, std::string_view s) { return r.log.find(s) != std::string::npos; }

std::string stream_id_raw(std::uint64_t ms, std::uint64_t seq) {
  std::string out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((ms >> (8 * i)) & 0xff));
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  return out;
}

// A key-metadata class spec: 4 name characters of 6 bits (module-id alphabet), 5 version bits,
// 3 flag bits (redis/redis src/keymeta.c at 39518acb, keyMetaClassEncode).
std::uint32_t class_spec(std::string_view name, std::uint32_t version, std::uint32_t flags) {
  static constexpr std::string_view charset =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  std::uint32_t v = 0;
  for (char ch : name) v = (v << 6) | static_cast<std::uint32_t>(charset.find(ch));
  return (((v << 5) | version) << 3) | flags;
}

struct Refusal {
  std::string bytes;
  Errc code;
  std::string message;
  std::uint64_t offset;
};

void check_refusals(const std::vector<Refusal>& cases) {
  for (const Refusal& c : cases) {
    CAPTURE(c.message);
    const ParseResult r = parse_everywhere(c.bytes);
    REQUIRE(r.step == Step::failed);
    CHECK(r.error.code == c.code);
    CHECK(r.error.message == c.message);
    CHECK(r.error.offset == c.offset);
  }
}

}  // namespace

// valkey-io/valkey src/rdb.h at 01756301 (RDB_VERSION 81, RDB_TYPE_HASH_2 = 22,
// RDB_TYPE_PATH_HASH = 23, RDB_OPCODE_UPDATE = 242, RDB_OPCODE_SLOT_IMPORT = 243) and
// src/rdb.c at 008734ee, rdbLoadObject: a HASH_2 value is a length, then per field the field
// and value strings and rdbLoadMillisecondTime (8 bytes little-endian); itemexpiry below
// EXPIRY_NONE (-1) fails the load; -1 is no expiry; every other value is an expiry, 0 included.
TEST_CASE("newest: VALKEY 80 HASH_2 fields with per-field expiries (-1 none, 0 a real time)") {
  RdbBuilder b = RdbBuilder::valkey(80);
  b.byte(0xfa).str("valkey-ver").str("9.0.0");
  b.byte(0xfe).len(0).byte(0xfb).len(1).len(0);
  b.byte(22).str("h").len(3);
  b.str("a").str("1").le64(~0ULL);  // -1: none
  b.str("b").str("2").le64(0);      // a real time, long past
  b.str("c").str("3").le64(1700000000000);
  const ParseResult r = parse_everywhere(b.finish());
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r, "header 80\n"));
  CHECK(has(r, "aux \"valkey-ver\" \"9.0.0\""));
  CHECK(has(r, "key 0 \"h\" 100 "));
  CHECK(has(r, "  field \"a\" \"1\" -1\n"));
  CHECK(has(r, "  field \"b\" \"2\" 0\n"));
  CHECK(has(r, "  field \"c\" \"3\" 1700000000000\n"));

  RdbBuilder bad = RdbBuilder::valkey(80);
  bad.byte(22).str("h").len(1).str("a").str("1").le64(static_cast<std::uint64_t>(-2));
  const ParseResult r2 = parse_everywhere(bad.finish());
  REQUIRE(r2.step == Step::failed);
  CHECK(r2.error.code == Errc::rdb_corrupt);
  CHECK(r2.error.message == "hash field expiry -2 is below -1");
  CHECK(r2.error.offset == 17);
}

// valkey-io/valkey tests/integration/rdb-slot-import.tcl at c76dd873 crafts SLOT_IMPORT records
// as 0xf3, the job name (a string of CLUSTER_NAMELEN = 40 bytes), num_ranges (len-enc), then
// start and end slot of each range (len-enc), with 0 <= start <= end < 16384; the loader is
// clusterRDBLoadSlotImport, called from rdbLoadRioWithLoadingCtx in src/rdb.c at 008734ee.
TEST_CASE("newest: VALKEY SLOT_IMPORT records are reported, bad ranges are corrupt") {
  const std::string job(40, 'A');
  RdbBuilder b = RdbBuilder::valkey(80);
  b.byte(0xf3).str(job).len(2).len(0).len(99).len(1000).len(16383);
  const ParseResult r = parse_everywhere(b.finish());
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r, "slot_import \"" + job + "\" 0-99 1000-16383\n"));

  check_refusals({
      {RdbBuilder::valkey(80).byte(0xf3).str(job).len(1).len(2000).len(1000).finish(),
       Errc::rdb_corrupt, "slot import range 2000-1000 is invalid", 54},
      {RdbBuilder::valkey(80).byte(0xf3).str(job).len(1).len(0).len(16384).finish(),
       Errc::rdb_corrupt, "slot import range 0-16384 is invalid", 53},
  });
}

// valkey writeReplicationData (forkless save; rdb.h at 01756301: "Inline replication command
// during forkless save") writes RDB_OPCODE_UPDATE, then "*<argc>\r\n" and per argument
// "$<len>\r\n<bytes>\r\n": a RESP multi-bulk, applied in the db of the last SELECTDB.
TEST_CASE("newest: VALKEY UPDATE inline commands come out in order, in their db") {
  RdbBuilder b = RdbBuilder::valkey(81);
  b.byte(0xfe).len(3);
  b.byte(0).str("k").str("old");
  b.byte(0xf2).raw("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nnew\r\n");
  b.byte(0xf2).raw("*2\r\n$3\r\nDEL\r\n$0\r\n\r\n");
  const ParseResult r = parse_everywhere(b.finish());
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  const std::size_t key_at = r.log.find("key 3 \"k\"");
  const std::size_t set_at = r.log.find("command db=3 \"SET\" \"k\" \"new\"\n");
  const std::size_t del_at = r.log.find("command db=3 \"DEL\" \"\"\n");
  CHECK(key_at < set_at);
  CHECK(set_at != std::string::npos);
  CHECK(set_at < del_at);
  CHECK(del_at != std::string::npos);

  check_refusals({
      {RdbBuilder::valkey(81).byte(0xf2).raw("*1\r\n$3\r\nSETX\r\n").finish(), Errc::rdb_corrupt,
       "inline command: argument without CRLF", 21},
      {RdbBuilder::valkey(81).byte(0xf2).raw("*0\r\n").finish(), Errc::rdb_corrupt,
       "inline command with 0 arguments", 10},
      {RdbBuilder::valkey(81).byte(0xf2).raw("+OK\r\n").finish(), Errc::rdb_corrupt,
       "inline command: '*' expected, got 0x2b", 10},
  });
}

// The magic decides what a byte means (newest-servers.md §4; valkey src/rdb.c at 008734ee
// refuses 22..243 after a REDIS magic). Unknown for that magic and version: unsupported, exit 8.
TEST_CASE("newest: the collision bytes under both magics, and the versions refused") {
  check_refusals({
      {"VALKEY079", Errc::rdb_unsupported,
       "unsupported RDB format 'VALKEY079'; this build reads VALKEY versions 80 to 81 and REDIS "
       "versions 1 to 15",
       6},
      {"VALKEY082", Errc::rdb_unsupported,
       "unsupported RDB format 'VALKEY082'; this build reads VALKEY versions 80 to 81 and REDIS "
       "versions 1 to 15",
       6},
      {"REDIS0016", Errc::rdb_unsupported,
       "unsupported RDB version 16; this build reads versions 1 to 15 (and VALKEY 80 to 81)", 5},
      {"VKCS\x01\x01\x00\x00\x04\x22\x4d\x18"s, Errc::rdb_unsupported,
       "this is a Valkey compressed RDB envelope ('VKCS', written with rdbcompression lz4); this "
       "build does not decompress it: save with rdbcompression set to none or decompress it "
       "first",
       0},
      // VALKEY: 23 is PATH_HASH from 81 on (read, see below); 24 and up mean nothing.
      {RdbBuilder::valkey(80).byte(23).str("p").len(0).finish(), Errc::rdb_unsupported,
       "unknown object type 23 for VALKEY version 80", 9},
      {RdbBuilder::valkey(81).byte(24).str("p").finish(), Errc::rdb_unsupported,
       "unknown object type 24 for VALKEY version 81", 9},
      {RdbBuilder::valkey(80).byte(24).str("p").finish(), Errc::rdb_unsupported,
       "unknown object type 24 for VALKEY version 80", 9},
      {RdbBuilder::valkey(80).byte(26).str("p").finish(), Errc::rdb_unsupported,
       "unknown object type 26 for VALKEY version 80", 9},
      // REDIS: 0xf3 is KEY_META from 13 on, 0xf2 HASH_TEMPLATE from 15 on; before, no meaning.
      {RdbBuilder(12).byte(0xf3).finish(), Errc::rdb_unsupported,
       "unknown object type 243 for RDB version 12", 9},
      {RdbBuilder(14).byte(0xf2).finish(), Errc::rdb_unsupported,
       "unknown object type 242 for RDB version 14", 9},
      {RdbBuilder(12).byte(26).str("s").finish(), Errc::rdb_unsupported,
       "unknown object type 26 for RDB version 12", 9},
      {RdbBuilder(13).byte(27).str("s").finish(), Errc::rdb_unsupported,
       "unknown object type 27 for RDB version 13", 9},
      {RdbBuilder(14).byte(30).str("h").finish(), Errc::rdb_unsupported,
       "unknown object type 30 for RDB version 14", 9},
      {RdbBuilder::valkey(81).byte(27).str("s").finish(), Errc::rdb_unsupported,
       "unknown object type 27 for VALKEY version 81", 9},
      {RdbBuilder::valkey(81).byte(32).str("h").finish(), Errc::rdb_unsupported,
       "unknown object type 32 for VALKEY version 81", 9},
      {RdbBuilder(13).byte(28).str("a").finish(), Errc::rdb_unsupported,
       "unknown object type 28 for RDB version 13", 9},
      {RdbBuilder(14).byte(33).str("g").finish(), Errc::rdb_unsupported,
       "object type 33 is RDB_TYPE_GCRA (Redis 8.8 builds with GCRA), known but not read by this "
       "build (its layout is not verified)",
       9},
      {RdbBuilder(15).byte(34).str("g").finish(), Errc::rdb_unsupported,
       "unknown object type 34 for RDB version 15", 9},
  });
  // Byte 22 after a REDIS magic is still the 7.4 release-candidate hash (type 22 there).
  RdbBuilder rc(12);
  rc.byte(22).str("h").len(1).len(0).str("f").str("v");
  const ParseResult r = parse_everywhere(rc.finish());
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r, "key 0 \"h\" 22 "));
  CHECK(has(r, "  field \"f\" \"v\" -1\n"));
}

// A zero CRC64 trailer means "not computed" (both servers: checksum off, or skipped for a
// replica), on every version that has a trailer: never a mismatch.
TEST_CASE("newest: a zero CRC64 trailer is accepted on every version") {
  for (int v : {5, 9, 12, 13, 14, 15, 80, 81}) {
    CAPTURE(v);
    RdbBuilder b = v >= 80 ? RdbBuilder::valkey(v) : RdbBuilder(v);
    b.byte(0).str("k").str("v");
    const ParseResult r = parse_split(b.finish(false), {});
    CHECK_MESSAGE(r.step == Step::done, r.error.message);
  }
}

// redis/redis src/keymeta.c at 39518acb, rdbLoadKeyMetadata / rdbSaveKeyMetadata: 0xf3,
// NUM_CLASSES (len-enc), then per class a 32-bit class spec (4 raw bytes) and the class's value
// as module ops closed by RDB_MODULE_OPCODE_EOF; keyMetaClassDecode: flags in the low 3 bits,
// version in the next 5, then 4 name characters of 6 bits. The rdbLoadRioWithLoadingCtx
// comment of that code base gives the record as [<META>,]<TYPE>,<KEY>,<VALUE>, the expiry
// opcodes before it.
TEST_CASE("newest: REDIS 13 KEY_META is walked and handed out with its key") {
  const std::uint32_t spec = class_spec("KMT1", 2, 1);
  RdbBuilder b(13);
  b.byte(0xfc).le64(1800000000000);
  b.byte(0xf3).len(2);
  b.le32(spec).len(2).len(7).len(5).str("x").len(0);  // uint 7, string "x", EOF
  b.le32(class_spec("ab_-", 31, 7)).len(4).raw("\0\0\0\0\0\0\xf0?"s).len(0);  // double 1.0
  b.byte(0).str("k").str("v");
  b.byte(0).str("plain").str("w");
  const ParseResult r = parse_everywhere(b.finish());
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r,
            "key 0 \"k\" 0 expire=1800000000000 idle=- freq=- meta=KMT1/v2/f1/"
            "\"\\x02\\a\\x05\\x01x\" meta=ab_-/v31/f7/\"\\x04\\x00\\x00\\x00\\x00\\x00\\x00"
            "\\xf0?\" at=9\n"));
  CHECK(has(r, "key 0 \"plain\" 0 expire=- idle=- freq=- at="));

  check_refusals({
      {RdbBuilder(13).byte(0xf3).len(1).le32(spec).len(0).byte(0xfc).le64(1).finish(),
       Errc::rdb_corrupt, "key metadata followed by opcode 0xfc instead of the key's type", 16},
      {RdbBuilder(13).byte(0xf3).len(0).finish(), Errc::rdb_corrupt,
       "key metadata with 0 classes (1 to 64 expected)", 10},
      {RdbBuilder(13).byte(0xf3).len(1).le32(spec).len(9).finish(), Errc::rdb_corrupt,
       "unknown module opcode 9", 15},
  });
}

// redis/redis src/rdb.c at 39518acb: rdbLoadObject reads RDB_TYPE_STREAM_LISTPACKS_4 as a
// type-21 stream (v2 metadata, consumers with active time) followed by the IDMP state:
// idmp_duration, idmp_max_entries (len-enc), rdbLoadStreamIdmpEntries (num_producers; per
// producer the pid string, the entry count, per entry the iid string and the stream id as two
// len-enc), then iids_added and iids_duplicates (len-enc). rdbSaveObject writes the same.
TEST_CASE("newest: REDIS 13 streams (type 26) with their IDMP state") {
  const std::string node_key = stream_id_raw(5, 0);
  const std::string lp = listpack({
      std::int64_t{1},
      std::int64_t{0},
      std::int64_t{1},
      std::string("f"),
      std::int64_t{0},
      std::int64_t{2},
      std::int64_t{0},
      std::int64_t{0},
      std::string("v"),
      std::int64_t{4},
  });
  RdbBuilder b(13);
  b.byte(26).str("s").len(1).str(node_key).str(lp);
  b.len(1).len(5).len(0);                  // length, last id 5-0
  b.len(5).len(0).len(0).len(0).len(1);    // first 5-0, max deleted 0-0, entries added 1
  b.len(1).str("g").len(5).len(0).len(1);  // group g, last 5-0, entries read 1
  b.len(0);                                // empty PEL
  b.len(1).str("c").le64(10).le64(20).len(0);
  b.len(100).len(1000);  // IDMP duration, max entries
  b.len(2);              // producers
  b.str("p1").len(2).str("i1").len(5).len(0).str("i2").len(6).len(1);
  b.str("p2").len(0);
  b.len(7).len(3);  // iids added, duplicates
  b.byte(0).str("after").str("x");
  const ParseResult r = parse_everywhere(b.finish());
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r, "key 0 \"s\" 26 "));
  CHECK(has(r, "  entry 5-0 \"f\" \"v\"\n"));
  CHECK(has(r, "consumer \"c\" seen=10 active=20 pel=0"));
  CHECK(has(r,
            "  idmp 100 1000\n    idmp_entry \"p1\" \"i1\" 5-0\n"
            "    idmp_entry \"p1\" \"i2\" 6-1\n  idmp_end 7 3\nend_key \"s\"\n"));
  CHECK(has(r, "key 0 \"after\""));

  // Without groups the IDMP state follows the group count directly.
  RdbBuilder e(13);
  e.byte(26).str("e").len(0).len(0).len(0).len(0);
  e.len(0).len(0).len(0).len(0).len(0).len(0);  // first, max deleted, entries added, 0 groups
  e.len(60).len(10).len(0).len(0).len(0);
  const ParseResult r2 = parse_everywhere(e.finish());
  REQUIRE_MESSAGE(r2.step == Step::done, r2.error.message);
  CHECK(has(r2, "  idmp 60 10\n  idmp_end 0 0\nend_key \"e\"\n"));
}

}  // namespace redis_repl::test

namespace redis_repl::test {
namespace {

std::string render_as(std::string_view data, formats::Format f, std::uint64_t* dropped = nullptr,
                      std::map<std::string, std::uint64_t>* others = nullptr) {
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_sink(f, buf);
  core::RdbParser p(*sink);
  if (p.feed(data) != core::Step::done) sink->abort();
  buf.flush();
  if (dropped) *dropped = sink->metadata_dropped();
  if (others) *others = sink->dropped();
  return out;
}

std::vector<nlohmann::json> json_lines(const std::string& s) {
  std::vector<nlohmann::json> out;
  std::size_t at = 0;
  while (at < s.size()) {
    const std::size_t e = s.find('\n', at);
    out.push_back(nlohmann::json::parse(s.substr(at, e - at)));
    at = e + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("newest: the formats write the VALKEY records and the REDIS 13 additions") {
  RdbBuilder b = RdbBuilder::valkey(81);
  b.byte(0xfa).str("valkey-ver").str("9.2.0");
  b.byte(0xf3).str(std::string(40, 'j')).len(1).len(5).len(9);
  b.byte(0xfe).len(2);
  b.byte(22).str("h").len(2).str("a").str("1").le64(~0ULL).str("b").str("2").le64(0);
  b.byte(0xf2).raw("*3\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nc\r\n");
  const std::string valkey = b.finish();

  const std::vector<nlohmann::json> j = json_lines(render_as(valkey, formats::Format::json));
  REQUIRE(j.size() >= 6);
  CHECK(j[0]["magic"] == "VALKEY");
  CHECK(j[0]["rdb_version"] == 81);
  bool saw_import = false, saw_hash = false, saw_command = false;
  for (const nlohmann::json& l : j) {
    if (l["kind"] == "slot_import") {
      saw_import = true;
      CHECK(l["ranges"] == nlohmann::json::parse("[[5,9]]"));
    } else if (l["kind"] == "key") {
      saw_hash = true;
      CHECK(l["encoding"] == "hashtable_2");
      CHECK(l["value"] == nlohmann::json::parse(R"([["a","1"],["b","2",0]])"));
    } else if (l["kind"] == "command") {
      saw_command = true;
      CHECK(l["source"] == "rdb");
      CHECK(l["db"] == 2);
      CHECK(l["command"] == "hset");
      CHECK(l["args"] == nlohmann::json::parse(R"(["h","c"])"));
    }
  }
  CHECK(saw_import);
  CHECK(saw_hash);
  CHECK(saw_command);

  // RESP: the field with expiry 0 gets it (the server drops it, as it would have expired);
  // the inline command follows the key, in its db.
  const std::string resp = render_as(valkey, formats::Format::resp);
  const std::size_t hset = resp.find("HSET\r\n$1\r\nh\r\n$1\r\na\r\n");
  const std::size_t ttl = resp.find(
      "HPEXPIREAT\r\n$1\r\nh\r\n$1\r\n0\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n"
      "$1\r\nb\r\n");
  const std::size_t inline_cmd = resp.find("*3\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nc\r\n");
  CHECK(hset != std::string::npos);
  CHECK(ttl != std::string::npos);
  CHECK(inline_cmd != std::string::npos);
  CHECK(ttl < inline_cmd);
  CHECK(resp.find("FIELDS\r\n$1\r\n1\r\n$1\r\na\r\n") == std::string::npos);  // -1: no TTL

  const std::string human = render_as(valkey, formats::Format::human);
  CHECK(human.starts_with("VALKEY RDB version 81\n"));
  CHECK(human.find("slot import \"jjjj") != std::string::npos);
  CHECK(human.find("command (inline, db 2) \"HSET\" \"h\" \"c\"") != std::string::npos);

  // REDIS 13: key metadata in JSON, counted (not carried) by RESP; stream IDMP state.
  RdbBuilder r(13);
  r.byte(0xf3).len(1).le32(class_spec("KMT1", 1, 0)).len(2).len(7).len(0);
  r.byte(0).str("k").str("v");
  const std::string lp = listpack(
      {std::int64_t{1}, std::int64_t{0}, std::int64_t{1}, std::string("f"), std::int64_t{0},
       std::int64_t{2}, std::int64_t{0}, std::int64_t{0}, std::string("v"), std::int64_t{4}});
  r.byte(26).str("s").len(1).str(stream_id_raw(5, 0)).str(lp);
  r.len(1).len(5).len(0).len(5).len(0).len(0).len(0).len(1).len(0);
  r.len(100).len(1000).len(1).str("p").len(1).str("i").len(5).len(0).len(1).len(0);
  const std::string redis13 = r.finish();
  for (const nlohmann::json& l : json_lines(render_as(redis13, formats::Format::json))) {
    if (l["kind"] != "key") continue;
    if (l["key"] == "k") {
      CHECK(l["meta"] == nlohmann::json::parse(
                             R"([{"class":"KMT1","version":1,"flags":0,"ops":"\u0002\u0007"}])"));
    } else {
      CHECK(l["value"]["idmp"] ==
            nlohmann::json::parse(
                R"({"duration_s":100,"max_entries":1000,"entries":[["p","i","5-0"]],)"
                R"("iids_added":1,"iids_duplicates":0})"));
    }
  }
  std::uint64_t dropped = 0;
  const std::string resp13 = render_as(redis13, formats::Format::resp, &dropped);
  CHECK(dropped == 1);
  CHECK(resp13.find(
            "XCFGSET\r\n$1\r\ns\r\n$13\r\nIDMP-DURATION\r\n$3\r\n100\r\n$12\r\nIDMP-MAXSIZE\r\n"
            "$4\r\n1000\r\n") != std::string::npos);
  CHECK(resp13.find("XIDMPRECORD\r\n$1\r\ns\r\n$1\r\np\r\n$1\r\ni\r\n$3\r\n5-0\r\n") !=
        std::string::npos);
}

}  // namespace redis_repl::test

namespace redis_repl::test {

// redis/librdb src/lib/parser.c at 1afaa46f (the 2.4.0 line), elementStreamLP: a type-27 stream
// is read like a type-26 one (v2 metadata, consumers with their active time, the IDMP state
// after the groups), and after each group's consumers comes its NACK zone
// (ST_LOAD_NACK_ZONE_COUNT: a length; ST_LOAD_NACK_ZONE_ENTRY: that many 16-byte raw stream ids,
// read with streamDecodeID like the PEL ids), also when the group has no consumers.
TEST_CASE("newest: REDIS 14 streams (type 27) with a NACK zone after each group") {
  const std::string lp = listpack(
      {std::int64_t{1}, std::int64_t{0}, std::int64_t{1}, std::string("f"), std::int64_t{0},
       std::int64_t{2}, std::int64_t{0}, std::int64_t{0}, std::string("v"), std::int64_t{4}});
  RdbBuilder b(14);
  b.byte(27).str("s").len(1).str(stream_id_raw(5, 0)).str(lp);
  b.len(1).len(5).len(0);                // length, last id 5-0
  b.len(5).len(0).len(0).len(0).len(1);  // first 5-0, max deleted 0-0, entries added 1
  b.len(2);                              // two groups
  b.str("g1").len(5).len(0).len(1);      // last delivered 5-0, entries read 1
  b.len(2).raw(stream_id_raw(5, 0)).le64(111).len(1).raw(stream_id_raw(5, 1)).le64(222).len(3);
  b.len(1).str("c").le64(10).le64(20).len(1).raw(stream_id_raw(5, 0));  // c owns 5-0
  b.len(1).raw(stream_id_raw(5, 1));                                    // NACK zone: 5-1
  b.str("g2").len(0).len(0).len(0).len(0);  // last 0-0, entries read 0, nothing pending
  b.len(0);                                 // no consumers
  b.len(0);                                 // empty NACK zone
  b.len(60).len(10).len(0).len(0).len(0);   // IDMP: no producers
  b.byte(0).str("after").str("x");
  const std::string file = b.finish();
  const ParseResult r = parse_everywhere(file);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r, "key 0 \"s\" 27 "));
  CHECK(has(r, "  entry 5-0 \"f\" \"v\"\n"));
  CHECK(has(r,
            "    pel 5-1 222 3\n    consumer \"c\" seen=10 active=20 pel=1\n      cpel 5-0\n"
            "    consumer_end\n    nack 5-1\n  group_end\n"));
  CHECK(has(r, "  idmp 60 10\n  idmp_end 0 0\nend_key \"s\"\n"));
  CHECK(has(r, "key 0 \"after\""));

  // JSON: each group of a type-27 stream has "nacked"; RESP counts what it cannot carry.
  bool saw = false;
  for (const nlohmann::json& l : json_lines(render_as(file, formats::Format::json))) {
    if (l["kind"] != "key" || l["key"] != "s") continue;
    saw = true;
    CHECK(l["encoding"] == "stream_listpacks_5");
    CHECK(l["value"]["groups"][0]["nacked"] == nlohmann::json::parse(R"(["5-1"])"));
    CHECK(l["value"]["groups"][0]["consumers"][0]["pending"] ==
          nlohmann::json::parse(R"(["5-0"])"));
    CHECK(l["value"]["groups"][1]["nacked"] == nlohmann::json::array());
    CHECK(l["value"]["groups"][1]["consumers"] == nlohmann::json::array());
  }
  CHECK(saw);
  std::map<std::string, std::uint64_t> dropped;
  const std::string resp = render_as(file, formats::Format::resp, nullptr, &dropped);
  CHECK(resp.find("XCLAIM\r\n$1\r\ns\r\n$2\r\ng1\r\n$1\r\nc\r\n$1\r\n0\r\n$3\r\n5-0\r\n") !=
        std::string::npos);
  REQUIRE(dropped.size() == 1);
  CHECK(dropped.begin()->first.find("NACK") != std::string::npos);
  CHECK(dropped.begin()->second == 1);
  CHECK(render_as(file, formats::Format::human).find("    nacked 5-1\n") != std::string::npos);
}

// redis/librdb src/lib/parser.c at 1afaa46f: elementHashTemplate reads RDB_OPCODE_HASH_TEMPLATE
// as the template id (length), the field count (length, not 0), then the field names as
// strings, strictly ascending by length and then bytes (templateStoreField), a repeated id
// being corrupt (hashTemplateRegister). elementHashTmplArrayRef: type 32 is the template id
// (length), then one value string per field. elementHashTmplLpRef: type 30 is one listpack,
// its first entry the template id (a non-negative integer), then exactly one value per field.
// elementHashTmplSelfContained: types 29 and 31 start with a fields format (0: the names as
// one listpack; 1: a count and the name strings), then 31 has the value strings and 29 one
// listpack (an integer id entry, ignored, then the values). Every one is a plain hash.
TEST_CASE("newest: REDIS 15 hash templates (opcode 0xf2, types 29 to 32) come out as hashes") {
  RdbBuilder b(15);
  b.byte(0xfa).str("redis-ver").str("8.10.0");
  b.byte(0xf2).len(7).len(3).str("age").str("name").str("email");
  b.byte(0xf2).len(2).len(1).str("x");
  b.byte(32).str("a").len(7).str("42").str("Ed").str("e@x");
  b.byte(0xfc)
      .le64(1900000000000)
      .byte(30)
      .str("l")
      .str(listpack({std::int64_t{2}, std::string("v")}));
  b.byte(31).str("s").len(1).len(2).str("p").str("qq").str("1").str("2");
  b.byte(29).str("t").len(0).str(listpack({std::string("f"), std::string("gg")}));
  b.str(listpack({std::int64_t{0}, std::string("3"), std::int64_t{4}}));
  b.byte(32).str("b").len(2).str("z");  // the registry outlives the self-contained keys
  const std::string file = b.finish();
  const ParseResult r = parse_everywhere(file);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r,
            "key 0 \"a\" 32 expire=- idle=- freq=- at=50\n  field \"age\" \"42\" -1\n"
            "  field \"name\" \"Ed\" -1\n  field \"email\" \"e@x\" -1\nend_key \"a\"\n"));
  CHECK(has(r, "key 0 \"l\" 30 expire=1900000000000 "));
  CHECK(has(r, "  field \"x\" \"v\" -1\nend_key \"l\"\n"));
  CHECK(has(r, "  field \"p\" \"1\" -1\n  field \"qq\" \"2\" -1\nend_key \"s\"\n"));
  CHECK(has(r, "  field \"f\" \"3\" -1\n  field \"gg\" \"4\" -1\nend_key \"t\"\n"));
  CHECK(has(r, "  field \"x\" \"z\" -1\nend_key \"b\"\n"));

  // JSON and RESP: ordinary hashes.
  int keys = 0;
  for (const nlohmann::json& l : json_lines(render_as(file, formats::Format::json))) {
    if (l["kind"] != "key") continue;
    ++keys;
    CHECK(l["type"] == "hash");
    if (l["key"] == "a")
      CHECK(l["value"] == nlohmann::json::parse(R"([["age","42"],["name","Ed"],["email","e@x"]])"));
    if (l["key"] == "t") CHECK(l["encoding"] == "template-listpack");
  }
  CHECK(keys == 5);
  const std::string resp = render_as(file, formats::Format::resp);
  CHECK(resp.find("*8\r\n$4\r\nHSET\r\n$1\r\na\r\n$3\r\nage\r\n$2\r\n42\r\n$4\r\nname\r\n$2\r\nEd"
                  "\r\n$5\r\nemail\r\n$3\r\ne@x\r\n") != std::string::npos);
  CHECK(resp.find("*4\r\n$4\r\nHSET\r\n$1\r\nl\r\n$1\r\nx\r\n$1\r\nv\r\n") != std::string::npos);
  CHECK(resp.find("PEXPIREAT\r\n$1\r\nl\r\n$13\r\n1900000000000\r\n") != std::string::npos);

  const std::string one = RdbBuilder(15).byte(0xf2).len(1).len(1).str("x").bytes().substr(9);
  check_refusals({
      {RdbBuilder(15).byte(32).str("a").len(9).finish(), Errc::rdb_corrupt,
       "template hash refers to unknown template id 9", 12},
      {RdbBuilder(15).raw(one).raw(one).finish(), Errc::rdb_corrupt, "hash template id 1 repeated",
       14},
      {RdbBuilder(15).byte(0xf2).len(1).len(0).finish(), Errc::rdb_corrupt,
       "hash template 1 has no fields", 9},
      {RdbBuilder(15).byte(0xf2).len(1).len(2).str("bb").str("a").finish(), Errc::rdb_corrupt,
       "hash template field names not in order", 15},
      {RdbBuilder(15).byte(0xf2).len(1).len(2).str("a").str("a").finish(), Errc::rdb_corrupt,
       "hash template field names not in order", 14},
      {RdbBuilder(15)
           .raw(one)
           .byte(30)
           .str("l")
           .str(listpack({std::int64_t{1}, "v", "w"}))
           .finish(),
       Errc::rdb_corrupt, "template hash with more values than its template's fields (key 'l')",
       17},
      {RdbBuilder(15).raw(one).byte(30).str("l").str(listpack({std::int64_t{1}})).finish(),
       Errc::rdb_corrupt, "template hash with fewer values than its template's fields (key 'l')",
       17},
      {RdbBuilder(15).raw(one).byte(30).str("l").str(listpack({"1", "v"})).finish(),
       Errc::rdb_corrupt, "template hash listpack without its template id (key 'l')", 17},
      {RdbBuilder(15).byte(31).str("s").len(2).finish(), Errc::rdb_corrupt,
       "template hash field format 2 unknown", 12},
  });

  // Bounded: past the cap on templates or on their bytes, a clean limit error.
  core::RdbLimits few;
  few.max_hash_templates = 1;
  RdbBuilder two(15);
  two.raw(one).byte(0xf2).len(2).len(1).str("y");
  ParseResult lim = parse_split(two.finish(), {}, few);
  REQUIRE(lim.step == Step::failed);
  CHECK(lim.error.code == Errc::limit_exceeded);
  CHECK(lim.error.message == "more than 1 hash templates");
  core::RdbLimits small;
  small.max_hash_template_bytes = 40;
  RdbBuilder big(15);
  big.byte(0xf2).len(1).len(3).str("a").str("bb").str(std::string(20, 'c'));
  lim = parse_split(big.finish(), {}, small);
  REQUIRE(lim.step == Step::failed);
  CHECK(lim.error.code == Errc::limit_exceeded);
  CHECK(lim.error.message == "hash template field names over the 40-byte limit");
}

}  // namespace redis_repl::test

namespace redis_repl::test {
namespace {

std::string render_for(std::string_view data, std::optional<formats::ServerVersion> target,
                       std::map<std::string, std::uint64_t>* dropped) {
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_sink(formats::Format::resp, buf, target);
  core::RdbParser p(*sink);
  REQUIRE(p.feed(data) == core::Step::done);
  buf.flush();
  *dropped = sink->dropped();
  return out;
}

formats::ServerVersion version(std::string_view text) {
  formats::ServerVersion v;
  REQUIRE(formats::parse_server_version(text, v));
  return v;
}

bool has_cmd(const std::string& resp, std::string_view verb) {
  return resp.find("\r\n" + std::string(verb) + "\r\n") != std::string::npos;
}

// A REDIS 13 file (written by Redis 8.6) with what older servers lack: a hash field TTL
// (type 24), a stream with IDMP state and a group's entries-read (type 26), a function.
std::string redis86_file() {
  RdbBuilder b(13);
  b.byte(0xfa).str("redis-ver").str("8.6.0");
  b.byte(0xf5).str("#!lua name=lib\nredis.register_function('f', function() return 1 end)");
  b.byte(24).str("h").le64(1000).len(2).len(0).str("a").str("1").len(501).str("b").str("2");
  const std::string lp = listpack(
      {std::int64_t{1}, std::int64_t{0}, std::int64_t{1}, std::string("f"), std::int64_t{0},
       std::int64_t{2}, std::int64_t{0}, std::int64_t{0}, std::string("v"), std::int64_t{4}});
  b.byte(26).str("s").len(1).str(stream_id_raw(5, 0)).str(lp);
  b.len(1).len(5).len(0).len(5).len(0).len(0).len(0).len(1);
  b.len(1).str("g").len(5).len(0).len(1).len(0).len(0);  // group g, entries read 1
  b.len(100).len(1000).len(1).str("p").len(1).str("i").len(5).len(0).len(1).len(0);
  return b.finish();
}

}  // namespace

TEST_CASE("newest: --target-version names a server: redis:X.Y, valkey:X.Y or a bare X.Y") {
  CHECK(version("7.2").name() == "redis 7.2");
  CHECK(version("redis:8.6").name() == "redis 8.6");
  CHECK(version("valkey:9.0").name() == "valkey 9.0");
  CHECK(version("valkey:8.1.1").name() == "valkey 8.1");
  formats::ServerVersion v;
  for (std::string_view bad : {"", "7", "7.", ".2", "redis:", "valkey:9", "keydb:6.2", "7.2.x",
                               "7.2.3.4", "x.y", "-7.2", "7.-2", "100.0", " 7.2", "Redis:7.2"})
    CHECK_MESSAGE(!formats::parse_server_version(bad, v), bad);
  CHECK(version("7.4").at_least(7, 4, 9, 0));
  CHECK(!version("7.2").at_least(7, 4, 9, 0));
  CHECK(version("valkey:9.0").at_least(7, 4, 9, 0));
  CHECK(!version("valkey:8.1").at_least(7, 4, 9, 0));
  CHECK(!version("valkey:9.9").at_least(8, 6));  // a command Valkey does not have
}

// The same file for several targets: the commands each server has, and a count of the rest.
TEST_CASE("newest: RESP for a target server writes its commands and counts what it cannot take") {
  const std::string file = redis86_file();
  std::map<std::string, std::uint64_t> dropped;

  // No target: the writer (Redis 8.6) has everything.
  const std::string own = render_for(file, std::nullopt, &dropped);
  CHECK(dropped.empty());
  CHECK(has_cmd(own, "HPEXPIREAT"));
  CHECK(own.find("HPEXPIREAT\r\n$1\r\nh\r\n$4\r\n1500\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\nb\r\n") !=
        std::string::npos);
  CHECK(has_cmd(own, "XCFGSET"));
  CHECK(has_cmd(own, "XIDMPRECORD"));
  CHECK(has_cmd(own, "ENTRIESADDED"));
  CHECK(has_cmd(own, "ENTRIESREAD"));
  CHECK(has_cmd(own, "FUNCTION"));
  CHECK(render_for(file, version("redis:8.6"), &dropped) == own);

  // Redis 7.2: no field TTLs, no IDMP; the fields themselves are kept.
  const std::string r72 = render_for(file, version("redis:7.2"), &dropped);
  CHECK(!has_cmd(r72, "HPEXPIREAT"));
  CHECK(!has_cmd(r72, "XCFGSET"));
  CHECK(!has_cmd(r72, "XIDMPRECORD"));
  CHECK(r72.find("HSET\r\n$1\r\nh\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n") !=
        std::string::npos);
  CHECK(has_cmd(r72, "ENTRIESADDED"));
  CHECK(dropped ==
        std::map<std::string, std::uint64_t>{
            {"hash field TTLs that redis 7.2 cannot take (HPEXPIREAT needs Redis 7.4 or Valkey "
             "9.0; the fields are kept without them)",
             1},
            {"streams' IDMP state that redis 7.2 cannot take (XCFGSET and XIDMPRECORD need Redis "
             "8.6)",
             1}});

  // Valkey 9.0 has field TTLs, not IDMP; Valkey 8.1 has neither.
  const std::string v90 = render_for(file, version("valkey:9.0"), &dropped);
  CHECK(has_cmd(v90, "HPEXPIREAT"));
  CHECK(!has_cmd(v90, "XCFGSET"));
  CHECK(dropped.size() == 1);
  CHECK(dropped.begin()->first.starts_with("streams' IDMP state that valkey 9.0 cannot take"));
  render_for(file, version("valkey:8.1"), &dropped);
  CHECK(dropped.size() == 2);

  // Redis 6.2: no functions, and XSETID / XGROUP CREATE without the 7.0 counters.
  const std::string r62 = render_for(file, version("6.2"), &dropped);
  CHECK(!has_cmd(r62, "FUNCTION"));
  CHECK(!has_cmd(r62, "ENTRIESADDED"));
  CHECK(!has_cmd(r62, "ENTRIESREAD"));
  CHECK(r62.find("*3\r\n$6\r\nXSETID\r\n$1\r\ns\r\n$3\r\n5-0\r\n") != std::string::npos);
  CHECK(dropped.size() == 5);
  CHECK(dropped["function libraries that redis 6.2 cannot take (FUNCTION LOAD needs Redis 7.0)"] ==
        1);
}

TEST_CASE("newest: dump-rdb --target-version: warnings counted once per kind, bad values exit 2") {
  TempDir dir;
  const std::filesystem::path rdb = dir / "redis86.rdb";
  {
    std::ofstream f(rdb, std::ios::binary);
    f << redis86_file();
  }
  const ProgramResult r = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", rdb.string(),
                                       "--format", "resp", "--target-version", "valkey:8.1", "-q"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("\r\nHPEXPIREAT\r\n") == std::string::npos);
  CHECK(r.out.find("\r\nHSET\r\n") != std::string::npos);
  CHECK(r.err.find("redis-repl: warning: 1 hash field TTLs that valkey 8.1 cannot take") !=
        std::string::npos);
  CHECK(r.err.find("redis-repl: warning: 1 streams' IDMP state that valkey 8.1 cannot take") !=
        std::string::npos);

  // Through the key filter (as the CLI reads): a type-27 stream keeps its NACK zone in JSON.
  const std::filesystem::path s27 = dir / "stream27.rdb";
  {
    const std::string lp = listpack(
        {std::int64_t{1}, std::int64_t{0}, std::int64_t{1}, std::string("f"), std::int64_t{0},
         std::int64_t{2}, std::int64_t{0}, std::int64_t{0}, std::string("v"), std::int64_t{4}});
    RdbBuilder b(14);
    b.byte(27).str("s").len(1).str(stream_id_raw(5, 0)).str(lp);
    b.len(1).len(5).len(0).len(5).len(0).len(0).len(0).len(1).len(1);
    b.str("g").len(5).len(0).len(1).len(1).raw(stream_id_raw(5, 0)).le64(7).len(2);
    b.len(0).len(1).raw(stream_id_raw(5, 0));  // no consumers; the NACK zone holds 5-0
    b.len(1).len(1).len(0).len(0).len(0);      // IDMP
    std::ofstream f(s27, std::ios::binary);
    f << b.finish();
  }
  const ProgramResult j =
      run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", s27.string(), "--match", "s*", "-q"});
  CHECK_MESSAGE(j.exit_code == 0, j.err);
  CHECK(j.out.find(R"("nacked":["5-0"])") != std::string::npos);

  const ProgramResult own = run_program(
      {REDIS_REPL_BINARY, "dump-rdb", "--file", rdb.string(), "--format", "resp", "-q"});
  CHECK(own.exit_code == 0);
  CHECK(own.out.find("\r\nHPEXPIREAT\r\n") != std::string::npos);
  CHECK(own.err.find("warning") == std::string::npos);

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--format", "resp", "--target-version", "valkey9"},
        std::vector<std::string>{"--format", "resp", "--target-version", "7"},
        std::vector<std::string>{"--format", "json", "--target-version", "7.2"},
        std::vector<std::string>{"--target-version", "7.2"}}) {
    std::vector<std::string> argv = {REDIS_REPL_BINARY, "dump-rdb", "--file", rdb.string()};
    argv.insert(argv.end(), bad.begin(), bad.end());
    const ProgramResult b = run_program(argv);
    CHECK_MESSAGE(b.exit_code == 2, b.err);
    CHECK(b.out.empty());
    CHECK(b.err.find("--target-version") != std::string::npos);
  }
  const ProgramResult tail_bad = run_program(
      {REDIS_REPL_BINARY, "tail", "-p", "1", "--format", "human", "--target-version", "7.2"});
  CHECK(tail_bad.exit_code == 2);
}

}  // namespace redis_repl::test

namespace redis_repl::test {

// redis/librdb src/lib/parser.c at 1afaa46f, elementArray: an array (type 28) is its element
// count (a length, 0 is corrupt), an insert-index flag (a length, 0 or 1) and with 1 the insert
// index (a length); then per element its index (a plain length, 2^64-1 refused), a type tag (a
// length) and the value: tag 0 (AR_RDB_TAG_SDS) and 3 (_SMALLSTR) a string, 1 (_INT)
// rdbLoadSignedInteger (8 bytes little-endian), 2 (_FLOAT) rdbLoadBinaryDoubleValue (8 bytes
// little-endian); any other tag is corrupt. The tags: redis/redis src/sparsearray.h. RESP:
// ARSEEK i sets the insert index to i - 1 (redis/redis src/t_array.c, arseekCommand).
TEST_CASE("newest: REDIS 14 arrays (type 28): index and value pairs and the insert index") {
  const double half = 2.5;
  std::uint64_t half_bits;
  std::memcpy(&half_bits, &half, 8);
  RdbBuilder b(14);
  b.byte(0xfa).str("redis-ver").str("8.8.0");
  b.byte(28).str("ar").len(4).len(1).len(10);
  b.len(0).len(0).str("zero");
  b.len(3).len(1).le64(static_cast<std::uint64_t>(-42));
  b.len(7).len(2).le64(half_bits);
  b.len(1000000).len(3).str("s");
  b.byte(28).str("none").len(1).len(0).len(5).len(0).str("x");
  const std::string file = b.finish();
  const ParseResult r = parse_everywhere(file);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r, "key 0 \"ar\" 28 "));
  CHECK(has(r,
            "  array 4 insert=10\n  [0] \"zero\"\n  [3] \"-42\"\n  [7] \"2.5\"\n"
            "  [1000000] \"s\"\nend_key \"ar\"\n"));
  CHECK(has(r, "  array 1 insert=-\n  [5] \"x\"\nend_key \"none\"\n"));

  int keys = 0;
  for (const nlohmann::json& l : json_lines(render_as(file, formats::Format::json))) {
    if (l["kind"] != "key") continue;
    ++keys;
    CHECK(l["type"] == "array");
    CHECK(l["encoding"] == "array");
    if (l["key"] == "ar")
      CHECK(l["value"] ==
            nlohmann::json::parse(R"({"insert_idx":10,"elements":[[0,"zero"],[3,"-42"],[7,"2.5"],)"
                                  R"([1000000,"s"]]})"));
    else
      CHECK(l["value"] == nlohmann::json::parse(R"({"insert_idx":null,"elements":[[5,"x"]]})"));
  }
  CHECK(keys == 2);

  std::map<std::string, std::uint64_t> dropped;
  const std::string resp = render_for(file, std::nullopt, &dropped);
  CHECK(dropped.empty());
  CHECK(resp.find("*10\r\n$6\r\nARMSET\r\n$2\r\nar\r\n$1\r\n0\r\n$4\r\nzero\r\n$1\r\n3\r\n$3\r\n-42"
                  "\r\n$1\r\n7\r\n$3\r\n2.5\r\n$7\r\n1000000\r\n$1\r\ns\r\n") != std::string::npos);
  CHECK(resp.find("*3\r\n$6\r\nARSEEK\r\n$2\r\nar\r\n$2\r\n11\r\n") != std::string::npos);
  CHECK(resp.find("ARSEEK\r\n$4\r\nnone") == std::string::npos);
  const std::string valkey = render_for(file, version("valkey:9.0"), &dropped);
  CHECK(valkey.find("ARMSET") == std::string::npos);
  CHECK(valkey.find("DEL") == std::string::npos);
  REQUIRE(dropped.size() == 1);
  CHECK(dropped.begin()->first ==
        "arrays that valkey 9.0 cannot take (ARMSET needs Redis 8.8, and no Valkey has it)");
  CHECK(dropped.begin()->second == 2);

  check_refusals({
      {RdbBuilder(14).byte(28).str("a").len(0).finish(), Errc::rdb_corrupt,
       "array with no elements", 12},
      {RdbBuilder(14).byte(28).str("a").len(1).len(2).finish(), Errc::rdb_corrupt,
       "array insert-index flag 2", 13},
      {RdbBuilder(14).byte(28).str("a").len(1).len(0).len(0).len(4).finish(), Errc::rdb_corrupt,
       "array element type tag 4 unknown", 15},
      {RdbBuilder(14).byte(28).str("a").len(1).len(0).len64(~0ULL).len(0).str("x").finish(),
       Errc::rdb_corrupt, "array index is not a valid index", 14},
      {RdbBuilder(14).byte(28).str("a").len(1).len(0).byte(0xc0).byte(1).len(0).str("x").finish(),
       Errc::rdb_corrupt, "array index is not a valid index", 14},
  });
}

}  // namespace redis_repl::test

namespace redis_repl::test {

// valkey-io/valkey src/rdb.h at 01756301 (RDB_TYPE_PATH_HASH = 23, RDB 81, Valkey 9.2) and
// src/rdb.c at 8c15031e (rdbSaveObject, the OBJ_PATH_HASH branch; rdbLoadObject, the
// RDB_TYPE_PATH_HASH branch): a path hash is its path count (a length, 0 allowed), then per path,
// in the rax's ascending byte order, the path (an RDB string), its field count (a length, 0 fails
// the load: "Path hash path with empty payload") and that many field and value strings; no field
// expiries, no trailer. The loader also refuses a repeated path. RESP follows src/t_path_hash.c
// at the same commit: rewriteRadixObject rebuilds a key with PHSET key path FIELDS n field value
// ... (phsetCommand reads that order).
TEST_CASE("newest: VALKEY 81 path hashes (type 23): paths of fields in every format") {
  const std::string long_value(40, 'z');
  const std::string long_path = "a/c" + std::string(30, 'c');
  RdbBuilder b = RdbBuilder::valkey(81);
  b.byte(0xfa).str("valkey-ver").str("9.2.0");
  b.byte(0xfe).len(0);
  b.byte(0xfc).le64(1700000000000).byte(23).str("ph").len(3);
  b.byte(0xc0).byte(5).len(1).str("x").str("y");                                   // path "5" (int)
  b.str("a/b").len(2).str("f1").str("v1").byte(0xc0).byte(7).lzf_str(long_value);  // field "7"
  b.lzf_str(long_path).len(1).str("g").str("");
  b.byte(23).str("empty").len(0);
  const std::string file = b.finish();
  const ParseResult r = parse_everywhere(file);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(has(r, "key 0 \"ph\" 101 "));
  CHECK(has(r,
            "  path \"5\" 1\n  field \"x\" \"y\" -1\n  path \"a/b\" 2\n  field \"f1\" \"v1\" "
            "-1\n  field \"7\" \"" +
                long_value + "\" -1\n  path \"" + long_path +
                "\" 1\n  field \"g\" \"\" -1\nend_key \"ph\"\n"));
  CHECK(has(r, "key 0 \"empty\" 101 "));

  int keys = 0;
  for (const nlohmann::json& l : json_lines(render_as(file, formats::Format::json))) {
    if (l["kind"] != "key") continue;
    ++keys;
    CHECK(l["type"] == "path_hash");
    CHECK(l["encoding"] == "path_hash");
    if (l["key"] == "ph") {
      CHECK(l["expire_ms"] == 1700000000000);
      CHECK(l["value"] ==
            nlohmann::json::parse(R"([["5",[["x","y"]]],["a/b",[["f1","v1"],["7",")" + long_value +
                                  R"("]]],[")" + long_path + R"(",[["g",""]]]])"));
      CHECK(l["len"] == 4);
    } else {
      CHECK(l["value"] == nlohmann::json::array());
      CHECK(l["len"] == 0);
    }
  }
  CHECK(keys == 2);

  const std::string human = render_as(file, formats::Format::human);
  CHECK(human.find("  path \"5\" (1 field)\n    \"x\" => \"y\"\n  path \"a/b\" (2 fields)\n"
                   "    \"f1\" => \"v1\"\n    \"7\" => \"" +
                   long_value + "\"\n  path \"" + long_path +
                   "\" (1 field)\n    \"g\" => \"\"\n") != std::string::npos);

  // RESP: PHSET per path, then the key's expiry; the empty one cannot be built (counted).
  const std::string phset =
      "*2\r\n$3\r\nDEL\r\n$2\r\nph\r\n"
      "*7\r\n$5\r\nPHSET\r\n$2\r\nph\r\n$1\r\n5\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\nx\r\n$"
      "1\r\ny\r\n"
      "*9\r\n$5\r\nPHSET\r\n$2\r\nph\r\n$3\r\na/b\r\n$6\r\nFIELDS\r\n$1\r\n2\r\n$2\r\nf1\r\n$2\r\n"
      "v1\r\n$1\r\n7\r\n$40\r\n" +
      long_value + "\r\n*7\r\n$5\r\nPHSET\r\n$2\r\nph\r\n$33\r\n" + long_path +
      "\r\n$6\r\nFIELDS\r\n$1\r\n1\r\n$1\r\ng\r\n$0\r\n\r\n"
      "*3\r\n$9\r\nPEXPIREAT\r\n$2\r\nph\r\n$13\r\n1700000000000\r\n";
  std::map<std::string, std::uint64_t> dropped;
  const std::string own = render_for(file, std::nullopt, &dropped);
  CHECK(dropped.empty());
  CHECK(own.find(phset) != std::string::npos);
  CHECK(own.find("empty") == std::string::npos);
  CHECK(render_for(file, version("valkey:9.2"), &dropped) == own);
  CHECK(dropped.empty());
  for (const char* target : {"valkey:9.1", "redis:8.8"}) {
    CAPTURE(target);
    const std::string other = render_for(file, version(target), &dropped);
    CHECK(other.find("PHSET") == std::string::npos);
    CHECK(other.find("DEL") == std::string::npos);
    REQUIRE(dropped.size() == 1);
    CHECK(dropped.begin()->first == "path hashes that " + version(target).name() +
                                        " cannot take (PHSET needs Valkey 9.2, and no Redis has "
                                        "it)");
    CHECK(dropped.begin()->second == 1);  // the key with paths; the empty one has none
  }

  // A long path goes out in batches of 128 fields, each a PHSET of that path.
  RdbBuilder big = RdbBuilder::valkey(81);
  big.byte(23).str("big").len(1).str("p").len(130);
  for (int i = 0; i < 130; ++i) big.str("f" + std::to_string(i)).str("v");
  const std::string big_resp = render_for(big.finish(), version("valkey:9.2"), &dropped);
  CHECK(big_resp.find("*261\r\n$5\r\nPHSET\r\n$3\r\nbig\r\n$1\r\np\r\n$6\r\nFIELDS\r\n$3\r\n"
                      "128\r\n$2\r\nf0\r\n") != std::string::npos);
  CHECK(big_resp.find("*9\r\n$5\r\nPHSET\r\n$3\r\nbig\r\n$1\r\np\r\n$6\r\nFIELDS\r\n$1\r\n"
                      "2\r\n$4\r\nf128\r\n$1\r\nv\r\n$4\r\nf129\r\n$1\r\nv\r\n") !=
        std::string::npos);

  // Corrupt (exit 7), at the path or count that breaks the rule: a path with no fields, a path
  // repeated or before the previous one (the saver writes them in ascending order), a cut file.
  check_refusals({
      {RdbBuilder::valkey(81).byte(23).str("p").len(1).str("a").len(0).finish(), Errc::rdb_corrupt,
       "path hash path with no fields", 15},
      {RdbBuilder::valkey(81)
           .byte(23)
           .str("p")
           .len(2)
           .str("a")
           .len(1)
           .str("f")
           .str("v")
           .str("a")
           .len(1)
           .str("f")
           .str("v")
           .finish(),
       Errc::rdb_corrupt, "path hash path repeated (paths are saved in ascending order)", 20},
      {RdbBuilder::valkey(81)
           .byte(23)
           .str("p")
           .len(2)
           .str("b")
           .len(1)
           .str("f")
           .str("v")
           .str("a")
           .len(1)
           .str("f")
           .str("v")
           .finish(),
       Errc::rdb_corrupt, "path hash path out of order (paths are saved in ascending order)", 20},
      {RdbBuilder::valkey(81)
           .byte(23)
           .str("p")
           .len(2)
           .str("ab")
           .len(1)
           .str("f")
           .str("v")
           .str("a")
           .len(1)
           .str("f")
           .str("v")
           .finish(),
       Errc::rdb_corrupt, "path hash path out of order (paths are saved in ascending order)", 21},
  });
  const ParseResult cut = parse_everywhere(file.substr(0, file.size() - 30));
  CHECK(cut.step == Step::failed);
  CHECK(cut.error.code == Errc::rdb_truncated);
  CHECK(cut.error.message == "input ends at byte 72 inside the value of key 'ph'");
  CHECK(cut.error.offset == 71);

  // dump-rdb --type path_hash keeps these keys and only these.
  TempDir dir;
  const std::filesystem::path rdb = dir / "path_hash.rdb";
  {
    RdbBuilder mixed = RdbBuilder::valkey(81);
    mixed.byte(0).str("s").str("v");
    mixed.byte(23).str("p").len(1).str("a").len(1).str("f").str("v");
    std::ofstream out(rdb, std::ios::binary);
    out << mixed.finish();
  }
  const ProgramResult only = run_program(
      {REDIS_REPL_BINARY, "dump-rdb", "--file", rdb.string(), "--type", "path_hash", "-q"});
  CHECK_MESSAGE(only.exit_code == 0, only.err);
  CHECK(only.out.find(R"("key":"p","type":"path_hash","encoding":"path_hash","expire_ms":null,)"
                      R"("value":[["a",[["f","v"]]]])") != std::string::npos);
  CHECK(only.out.find(R"("key":"s")") == std::string::npos);
}

}  // namespace redis_repl::test
