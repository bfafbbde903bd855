// RespReader and CommandReader: byte-exact at every split point, sizes counted for offsets,
// bad input a sticky error.
#include "core/resp_reader.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace redis_repl::test {
namespace {

using namespace std::string_literals;
using core::ReadStatus;

// Commands as "arg|arg|arg (size)" lines, "<nl> (size)" for a bare newline.
std::string read_commands(const std::string& data, std::size_t split, std::string* rest = nullptr) {
  core::CommandReader r;
  std::string log;
  core::StreamCommand c;
  auto drain = [&] {
    ReadStatus s;
    while ((s = r.next(c)) == ReadStatus::ok) {
      std::string line;
      for (std::size_t i = 0; i < c.args.size(); ++i)
        line += (i ? "|" : "") + std::string(c.args[i]);
      log += (c.args.empty() ? "<nl>" : line) + " (" + std::to_string(c.size) + ")\n";
    }
    return s;
  };
  split = std::min(split, data.size());
  r.feed(std::string_view(data).substr(0, split));
  ReadStatus s = drain();
  if (s != ReadStatus::failed) {
    r.feed(std::string_view(data).substr(split));
    s = drain();
  }
  if (s == ReadStatus::failed)
    log += "error: " + r.error().message + " at " + std::to_string(r.error().offset) + "\n";
  if (rest) *rest = std::to_string(r.buffered());
  log += "consumed " + std::to_string(r.consumed()) + "\n";
  return log;
}

}  // namespace

TEST_CASE("command_reader: every split point gives the same commands and sizes") {
  const std::string stream =
      "*1\r\n$4\r\nping\r\n"                                 // 14 bytes (observed offset step)
      "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"                    // 23
      "*3\r\n$3\r\nset\r\n$2\r\nk1\r\n$2\r\nv1\r\n"          // 29
      "\n"                                                   // a bare newline counts too
      "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"  // 37 (observed)
      "*3\r\n$3\r\nset\r\n$3\r\nbin\r\n$5\r\n\x00\r\n\xff\n\r\n"s  // binary-safe
      "*1\r\n$4\r\nping\r\n";                                      // ends the stream
  const std::string expected =
      "ping (14)\nSELECT|0 (23)\nset|k1|v1 (29)\n<nl> (1)\nREPLCONF|GETACK|* (37)\n" +
      "set|bin|\x00\r\n\xff\n (33)\n"s + "ping (14)\nconsumed 151\n";
  CHECK(read_commands(stream, stream.size()) == expected);
  for (std::size_t at = 0; at <= stream.size(); ++at) {
    CAPTURE(at);
    CHECK(read_commands(stream, at) == expected);
  }
}

TEST_CASE("command_reader: a partial command is held back, never half-consumed") {
  std::string rest;
  const std::string log =
      read_commands("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$2\r\nk"s, 1000, &rest);
  CHECK(log == "SELECT|0 (23)\nconsumed 23\n");
  CHECK(rest == "18");  // "*3\r\n$3\r\nset\r\n$2\r\nk"
}

TEST_CASE("command_reader: what a master never sends is an error with its offset") {
  CHECK(read_commands("*1\r\n$4\r\nping\r\nPING\r\n", 100) ==
        "ping (14)\nerror: inline data in the replication stream (desync?): 'PING' at 14\n"
        "consumed 14\n");
  CHECK(read_commands("*1\r\n$4\r\npingXX", 100) ==
        "error: argument not followed by CRLF at 12\nconsumed 0\n");
  CHECK(read_commands("*x\r\n", 100) == "error: bad array header '*x' at 0\nconsumed 0\n");
  CHECK(read_commands("*0\r\n", 100) == "error: command with 0 arguments at 0\nconsumed 0\n");
  CHECK(read_commands("*1\r\n$-1\r\n", 100) == "error: argument of -1 bytes at 4\nconsumed 0\n");
  CHECK(read_commands("*1\r\n:1\r\n", 100) == "error: bad bulk header ':1' at 4\nconsumed 0\n");
}

TEST_CASE("resp_reader: replies of every type, split anywhere") {
  const std::string data =
      "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:-7\r\n*-1\r\n";
  for (std::size_t at = 0; at <= data.size(); ++at) {
    CAPTURE(at);
    core::RespReader r;
    std::vector<core::Reply> got;
    core::Reply rep;
    r.feed(data.substr(0, at));
    while (r.next(rep) == ReadStatus::ok) got.push_back(rep);
    r.feed(data.substr(at));
    while (r.next(rep) == ReadStatus::ok) got.push_back(rep);
    REQUIRE(got.size() == 7);
    CHECK((got[0].type == core::Reply::Type::status && got[0].str == "OK" && got[0].size == 5));
    CHECK((got[1].is_error() && got[1].str == "ERR bad"));
    CHECK((got[2].type == core::Reply::Type::integer && got[2].integer == 42));
    CHECK((got[3].type == core::Reply::Type::bulk && got[3].str == "hello" && got[3].size == 11));
    CHECK(got[4].type == core::Reply::Type::nil);
    CHECK((got[5].type == core::Reply::Type::array && got[5].elements.size() == 2 &&
           got[5].elements[1].elements[0].integer == -7 && got[5].size == 20));
    CHECK(got[6].type == core::Reply::Type::nil);
    CHECK(r.offset() == data.size());
  }
}

TEST_CASE("resp_reader: lines for the handshake, and leftover bytes for the next stage") {
  core::RespReader r;
  r.feed("\n\n+FULLRESYNC 0123 708\r\n$EOF:abc\r\nREDIS0010\xff"s);
  std::string line;
  std::uint64_t size = 0;
  REQUIRE(r.next_line(line, size) == ReadStatus::ok);
  CHECK((line.empty() && size == 1));
  REQUIRE(r.next_line(line, size) == ReadStatus::ok);
  REQUIRE(r.next_line(line, size) == ReadStatus::ok);
  CHECK(line == "+FULLRESYNC 0123 708");
  REQUIRE(r.next_line(line, size) == ReadStatus::ok);
  CHECK(line == "$EOF:abc");
  CHECK(r.take_buffered() == "REDIS0010\xff"s);
  CHECK(r.next_line(line, size) == ReadStatus::need_more);
}

TEST_CASE("resp_reader: limits and malformed replies fail cleanly") {
  core::RespLimits l;
  l.max_bulk = 10;
  l.max_depth = 2;
  core::Reply rep;
  auto first_error = [&](const std::string& data) {
    core::RespReader r(l);
    r.feed(data);
    return r.next(rep) == ReadStatus::failed ? r.error().message : std::string("no error");
  };
  CHECK(first_error("$11\r\nhello world\r\n") == "bulk string of 11 bytes is over the limit");
  CHECK(first_error("*1\r\n*1\r\n*1\r\n:1\r\n") == "reply nested deeper than 2");
  CHECK(first_error("$3\r\nabcde\r\n") == "bulk string not followed by CRLF");
  CHECK(first_error("+OK\n") == "reply line does not end with CRLF");
  CHECK(first_error("?\r\n") == "unexpected reply '?'");
  CHECK(first_error(":12a\r\n") == "bad integer reply '12a'");
}

}  // namespace redis_repl::test
