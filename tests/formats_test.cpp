// The output formats: golden output for a real server's file, byte safety, and what is left
// behind when a parse fails half-way.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/rdb_filter.hpp"
#include "core/rdb_parser.hpp"
#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"

namespace redis_repl::test {
namespace {

using namespace std::string_literals;

const char* const mixed = "/generated/redis-7.0.15/mixed.rdb";

std::string render(std::string_view data, formats::Format f, const core::KeyFilter& filter = {}) {
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_sink(f, buf);
  core::FilterVisitor fv(filter, *sink);
  core::RdbParser p(fv);
  if (p.feed(data) != core::Step::done) sink->abort();
  buf.flush();
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// RESP commands as "VERB arg arg" lines (arguments printed with redis-cli quoting).
std::vector<std::string> resp_commands(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  auto line = [&] {
    const std::size_t e = s.find("\r\n", at);
    std::string l = s.substr(at, e - at);
    at = e + 2;
    return l;
  };
  while (at < s.size()) {
    const std::string head = line();
    REQUIRE(head[0] == '*');
    const int n = std::stoi(head.substr(1));
    std::string cmd;
    for (int i = 0; i < n; ++i) {
      const std::string len = line();
      REQUIRE(len[0] == '$');
      const std::size_t l = std::stoul(len.substr(1));
      const std::string arg = s.substr(at, l);
      at += l + 2;
      if (i) cmd += ' ';
      if (i == 0) {
        cmd += arg;
      } else {
        formats::append_repr(cmd, arg);
      }
    }
    out.push_back(cmd);
  }
  return out;
}

}  // namespace

TEST_CASE("json_sink: golden output of a Redis 7.0.15 file") {
  SKIP_WITHOUT_CORPUS();
  const std::string out = render(read_file(fixtures_dir() + mixed), formats::Format::json);
  const std::vector<std::string> expected = {
      R"J({"kind":"header","magic":"REDIS","rdb_version":10})J",
      R"J({"kind":"aux","field":"redis-ver","value":"7.0.15"})J",
      R"J({"kind":"aux","field":"redis-bits","value":"64"})J",
      R"J({"kind":"aux","field":"ctime","value":"1717200000"})J",
      R"J({"kind":"aux","field":"used-mem","value":"1316128"})J",
      R"J({"kind":"aux","field":"aof-base","value":"0"})J",
      R"J({"kind":"function","engine":"lua","library":"mixlib","code":"#!lua name=mixlib\nredis.register_function('f', function() return 1 end)"})J",
      R"J({"kind":"db","db":0,"size_hint":{"keys":9,"expires":1}})J",
      R"J({"kind":"key","db":0,"key":"stream","type":"stream","encoding":"stream_listpacks_2","expire_ms":null,"value":{"entries":[["1-1",[["f","v"]]]],"length":1,"last_id":"1-1","first_id":"1-1","max_deleted_entry_id":"0-0","entries_added":1,"groups":[{"name":"g","last_delivered_id":"1-1","entries_read":1,"pending":[["1-1",1717200000052,1]],"consumers":[{"name":"c","seen_time_ms":1717200000052,"active_time_ms":null,"pending":["1-1"]}]}]},"bytes":124,"len":1,"max_element":1,"memory":5825})J",
      R"J({"kind":"key","db":0,"key":"set","type":"set","encoding":"hashtable","expire_ms":null,"value":["b","a"],"bytes":10,"len":2,"max_element":1,"memory":200})J",
      R"J({"kind":"key","db":0,"key":"string","type":"string","encoding":"string","expire_ms":null,"value":"Hello","bytes":14,"len":5,"max_element":5,"memory":64})J",
      R"J({"kind":"key","db":0,"key":"intset","type":"set","encoding":"intset","expire_ms":null,"value":["1","2","3"],"bytes":23,"len":3,"max_element":1,"memory":64})J",
      R"J({"kind":"key","db":0,"key":"int","type":"string","encoding":"string","expire_ms":null,"value":"12345","bytes":8,"len":5,"max_element":5,"memory":48})J",
      R"J({"kind":"key","db":0,"key":"list","type":"list","encoding":"quicklist2","expire_ms":null,"value":["a","b","1"],"bytes":24,"len":3,"max_element":1,"memory":144})J",
      R"J({"kind":"key","db":0,"key":"hash","type":"hash","encoding":"listpack","expire_ms":null,"value":[["f","v"]],"bytes":20,"len":1,"max_element":1,"memory":64})J",
      R"J({"kind":"key","db":0,"key":"zset","type":"zset","encoding":"listpack","expire_ms":null,"value":[["a",1],["b",2.5]],"bytes":27,"len":2,"max_element":1,"memory":80})J",
      R"J({"kind":"key","db":0,"key":"expiring","type":"string","encoding":"string","expire_ms":4102444800123,"value":"v","bytes":21,"len":1,"max_element":1,"memory":96})J",
      R"J({"kind":"db","db":3,"size_hint":{"keys":1,"expires":0}})J",
      R"J({"kind":"key","db":3,"key":"db3","type":"string","encoding":"string","expire_ms":null,"value":"v","bytes":7,"len":1,"max_element":1,"memory":64})J",
      R"J({"kind":"end","rdb_version":10,"bytes":451,"keys":10,"expires":1,"functions":1,"module_aux":0,"dbs":[{"db":0,"keys":9,"expires":1,"types":{"string":3,"list":1,"set":2,"zset":1,"hash":1,"stream":1}},{"db":3,"keys":1,"expires":0,"types":{"string":1}}],"checksum":"ok","crc64":"cab9f77adc9cf607"})J",
  };
  CHECK(lines_of(out) == expected);
}

TEST_CASE("json_sink: any bytes give valid, lossless JSON") {
  const std::string key = "\xff\xfe key"s;                   // not UTF-8
  const std::string value = "tab\t \"quote\" \\ \x01 é ✓"s;  // UTF-8 with escapes needed
  const std::string overlong = "\xc0\xaf"s;                  // an overlong '/' is not valid UTF-8
  const std::string surrogate = "\xed\xa0\x80"s;             // nor is a UTF-16 surrogate
  const std::string data = RdbBuilder(10)
                               .byte(0)
                               .str(key)
                               .str(value)
                               .byte(0)
                               .str("o")
                               .str(overlong)
                               .byte(0)
                               .str("s")
                               .str(surrogate)
                               .finish();
  const std::vector<std::string> lines = lines_of(render(data, formats::Format::json));
  REQUIRE(lines.size() == 5);
  CHECK(
      lines[1] ==
      R"J({"kind":"key","db":0,"key":{"base64":"//4ga2V5"},"type":"string","encoding":"string","expire_ms":null,"value":"tab\t \"quote\" \\ \u0001 é ✓","bytes":32,"len":23,"max_element":23,"memory":80})J");
  const nlohmann::json j = nlohmann::json::parse(lines[1]);
  CHECK(j["value"].get<std::string>() == value);
  CHECK(nlohmann::json::parse(lines[2])["value"]["base64"] == "wK8=");
  CHECK(nlohmann::json::parse(lines[3])["value"]["base64"] == "7aCA");
}

TEST_CASE("json_sink: a parse that fails half-way leaves valid JSON, the open key marked") {
  const std::string good =
      RdbBuilder(10).byte(0).str("a").str("1").byte(1).str("list").len(3).str("x").str("y").bytes();
  const std::string data = good + "\x82"s;  // a bad length prefix where the third item starts
  const std::vector<std::string> lines = lines_of(render(data, formats::Format::json));
  REQUIRE(lines.size() == 3);
  for (const std::string& l : lines) CHECK_NOTHROW(nlohmann::json::parse(l));
  CHECK(
      lines[2] ==
      R"J({"kind":"key","db":0,"key":"list","type":"list","encoding":"linkedlist","expire_ms":null,"value":["x","y"],"incomplete":true})J");
}

TEST_CASE("json_sink: a parse cut inside a string value still ends with valid JSON") {
  // The string's length says 100 bytes; only 10 are there.
  const std::string data = RdbBuilder(10).byte(0).str("s").len(100).raw("0123456789").bytes();
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_json_sink(buf);
  core::RdbParser p(*sink);
  REQUIRE(p.feed(data) == core::Step::need_more);
  REQUIRE(p.finish() == core::Step::failed);
  sink->abort();
  buf.flush();
  const std::vector<std::string> lines = lines_of(out);
  REQUIRE(lines.size() == 2);
  CHECK(
      lines[1] ==
      R"J({"kind":"key","db":0,"key":"s","type":"string","encoding":"string","expire_ms":null,"value":null,"incomplete":true})J");
  CHECK_NOTHROW(nlohmann::json::parse(lines[1]));
}

TEST_CASE("human_sink: redis-cli quoting and one line per element") {
  SKIP_WITHOUT_CORPUS();
  const std::string out = render(read_file(fixtures_dir() + mixed), formats::Format::human);
  const std::vector<std::string> lines = lines_of(out);
  const std::vector<std::string> want = {
      "RDB version 10",
      "aux \"redis-ver\" = \"7.0.15\"",
      "function \"#!lua name=mixlib\\nredis.register_function('f', function() return 1 end)\"",
      "stream \"stream\" (stream_listpacks_2)",
      "  1-1 \"f\" \"v\"",
      "    pending 1-1 delivered 2024-06-01T00:00:00.052Z, 1 time",
      "    consumer \"c\" seen 2024-06-01T00:00:00.052Z, 1 pending",
      "list \"list\" (quicklist2)",
      "  3) \"1\"",
      "  \"f\" => \"v\"",
      "  \"b\" score 2.5",
      "string \"expiring\" (string) expires 2100-01-01T00:00:00.123Z = \"v\"  [bytes 21, len 1, "
      "max_element 1, memory 96]",
      "checksum: ok (crc64 cab9f77adc9cf607)",
  };
  for (const std::string& w : want)
    CHECK_MESSAGE(std::find(lines.begin(), lines.end(), w) != lines.end(), w);
  const std::string bin = RdbBuilder(10).byte(0).str("k\n\x01").str("\xff").finish();
  CHECK(lines_of(render(bin, formats::Format::human))[1] ==
        R"J(string "k\n\x01" (string) = "\xff"  [bytes 7, len 1, max_element 1, memory 64])J");
}

TEST_CASE("keys_sink: one key per line, quoted only when it must be") {
  const std::string data = RdbBuilder(10)
                               .byte(0)
                               .str("plain:1")
                               .str("v")
                               .byte(0)
                               .str("with space é")
                               .str("v")
                               .byte(0)
                               .str("new\nline")
                               .str("v")
                               .byte(0)
                               .str("\"quoted")
                               .str("v")
                               .byte(0)
                               .str("\xff")
                               .str("v")
                               .finish();
  CHECK(render(data, formats::Format::keys) ==
        "plain:1\nwith space é\n\"new\\nline\"\n\"\\\"quoted\"\n\"\\xff\"\n");
}

TEST_CASE("resp_sink: commands that rebuild every type, expiry and group") {
  SKIP_WITHOUT_CORPUS();
  const std::vector<std::string> cmds =
      resp_commands(render(read_file(fixtures_dir() + mixed), formats::Format::resp));
  const std::vector<std::string> expected = {
      "FUNCTION \"LOAD\" \"REPLACE\" \"#!lua name=mixlib\\nredis.register_function('f', function() "
      "return 1 end)\"",
      "SELECT \"0\"",
      "DEL \"stream\"",
      "XADD \"stream\" \"1-1\" \"f\" \"v\"",
      "XSETID \"stream\" \"1-1\" \"ENTRIESADDED\" \"1\" \"MAXDELETEDID\" \"0-0\"",
      "XGROUP \"CREATE\" \"stream\" \"g\" \"1-1\" \"ENTRIESREAD\" \"1\"",
      "XGROUP \"CREATECONSUMER\" \"stream\" \"g\" \"c\"",
      "XCLAIM \"stream\" \"g\" \"c\" \"0\" \"1-1\" \"TIME\" \"1717200000052\" \"RETRYCOUNT\" \"1\" "
      "\"FORCE\" \"JUSTID\"",
      "DEL \"set\"",
      "SADD \"set\" \"b\" \"a\"",
      "DEL \"string\"",
      "SET \"string\" \"Hello\"",
      "DEL \"intset\"",
      "SADD \"intset\" \"1\" \"2\" \"3\"",
      "DEL \"int\"",
      "SET \"int\" \"12345\"",
      "DEL \"list\"",
      "RPUSH \"list\" \"a\" \"b\" \"1\"",
      "DEL \"hash\"",
      "HSET \"hash\" \"f\" \"v\"",
      "DEL \"zset\"",
      "ZADD \"zset\" \"1\" \"a\" \"2.5\" \"b\"",
      "DEL \"expiring\"",
      "SET \"expiring\" \"v\"",
      "PEXPIREAT \"expiring\" \"4102444800123\"",
      "SELECT \"3\"",
      "DEL \"db3\"",
      "SET \"db3\" \"v\"",
  };
  CHECK(cmds == expected);
}

TEST_CASE("resp_sink: big keys go out in batches, hash field TTLs and empty keys") {
  RdbBuilder b(12);
  b.byte(1).str("l").len(300);
  for (int i = 0; i < 300; ++i) b.str(std::to_string(i));
  b.byte(22).str("h").len(1).len(4102444800000).str("f").str("v");
  b.byte(2).str("empty").len(0);
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_resp_sink(buf);
  core::RdbParser p(*sink);
  REQUIRE(p.feed(b.finish()) == core::Step::done);
  buf.flush();
  const std::vector<std::string> cmds = resp_commands(out);
  REQUIRE(cmds.size() == 8);
  CHECK(cmds[2].rfind("RPUSH \"l\" \"0\" ", 0) == 0);
  CHECK(cmds[3].rfind("RPUSH \"l\" \"128\" ", 0) == 0);
  CHECK(cmds[4].rfind("RPUSH \"l\" \"256\" ", 0) == 0);
  CHECK(cmds[6] == "HSET \"h\" \"f\" \"v\"");
  CHECK(cmds[7] == "HPEXPIREAT \"h\" \"4102444800000\" \"FIELDS\" \"1\" \"f\"");
  CHECK(sink->not_represented() == 1);
}

TEST_CASE("filter: --db, --match and --type choose keys, values are still verified") {
  const std::string data = RdbBuilder(10)
                               .byte(0xfe)
                               .len(0)
                               .byte(0)
                               .str("user:1")
                               .str("a")
                               .byte(1)
                               .str("user:list")
                               .len(1)
                               .str("x")
                               .byte(0xfe)
                               .len(5)
                               .byte(0)
                               .str("user:2")
                               .str("b")
                               .byte(0)
                               .str("other")
                               .str("c")
                               .finish();
  core::KeyFilter f;
  f.globs = {"user:*"};
  f.types = {core::ValueType::string};
  CHECK(render(data, formats::Format::keys, f) == "user:1\nuser:2\n");
  f.dbs = {5};
  CHECK(render(data, formats::Format::keys, f) == "user:2\n");
  f = {};
  f.globs = {"o*", "user:l*"};
  CHECK(render(data, formats::Format::keys, f) == "user:list\nother\n");
}

}  // namespace redis_repl::test
