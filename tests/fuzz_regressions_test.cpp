// Inputs the fuzz targets (tests/fuzz/) found to break a parser, kept as they were found so the
// bugs stay fixed, and one found while writing them. Each case says what went wrong.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "core/rdb_packed.hpp"
#include "core/rdb_visitor.hpp"
#include "core/replica.hpp"
#include "core/resp_reader.hpp"

namespace redis_repl::test {
namespace {

using namespace std::string_literals;

struct CommandsRead {
  std::string log;
  core::ReadStatus last = core::ReadStatus::need_more;
  std::string error;
};

// Reads every command of `in`, fed in pieces of `piece` bytes.
CommandsRead read_commands(std::string_view in, std::size_t piece) {
  core::CommandReader reader;
  CommandsRead out;
  core::StreamCommand c;
  for (std::size_t at = 0; at < in.size() && out.last != core::ReadStatus::failed; at += piece) {
    reader.feed(in.substr(at, piece));
    while ((out.last = reader.next(c)) == core::ReadStatus::ok) {
      out.log += std::to_string(c.size);
      for (std::string_view a : c.args) out.log += " " + std::string(a);
      out.log += "\n";
    }
  }
  if (out.last == core::ReadStatus::failed)
    out.error = std::to_string(reader.error().offset) + " " + reader.error().message;
  return out;
}

// A replica after PING and capa, given the master's reply to PSYNC and what follows; returns its
// events, one line each, up to the first failure.
std::string replica_events(const std::string& master) {
  core::RdbVisitor ignore;
  core::Replica replica(core::ReplicaConfig{}, ignore, core::Clock::time_point{});
  std::string out;
  for (const std::string& bytes : {"+PONG\r\n"s, "+OK\r\n"s, master}) {
    replica.receive(bytes);
    for (;;) {
      const core::Event e = replica.next_event();
      if (e.kind == core::Event::Kind::need_data) break;
      out += std::to_string(static_cast<int>(e.kind)) + " " + std::to_string(e.offset) + " " +
             std::to_string(e.end_offset) + (e.error.message.empty() ? "" : " " + e.error.message) +
             "\n";
      if (e.kind == core::Event::Kind::failed) return out;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("fuzz regression: a zipmap whose 5-byte length ends the blob is corrupt") {
  // fuzz_packed: the key length 0xfe + 4 bytes ran to the blob's last byte; the bounds check then
  // wrapped around and the reader handed out a view of 4 GB past the blob.
  const std::string blob = "\x08\xfe\xff\xff\xff\xff"s;
  core::ZipmapReader reader;
  REQUIRE(reader.open(blob) == nullptr);
  core::PackedItem item;
  CHECK(reader.next(item) == core::Next::error);
  const char* error = reader.error();
  CHECK((error != nullptr && std::string_view(error) == "zipmap entry has an invalid length"));
}

TEST_CASE("fuzz regression: a zipmap 5-byte length with room after it still reads") {
  // The fix above must not refuse a real zipmap that uses the long length form.
  const std::string value(300, 'v');
  const std::string blob = "\x01\x01k\xfe\x2c\x01\x00\x00\x00"s + value + "\xff"s;
  core::ZipmapReader reader;
  REQUIRE(reader.open(blob) == nullptr);
  core::PackedItem item;
  REQUIRE(reader.next(item) == core::Next::item);
  CHECK(item.str == "k");
  REQUIRE(reader.next(item) == core::Next::item);
  CHECK(item.str == value);
  CHECK(reader.next(item) == core::Next::end);
}

TEST_CASE("fuzz regression: an overlong length line fails alike, whole or in pieces") {
  // fuzz_command_reader: a bulk header line over 32 bytes was "length line too long" when it
  // arrived in pieces, but read as a bad header (or, zero-padded, accepted) when it came whole.
  const std::string found =
      "\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$-LOADING Redis is loading the dataset in "
      "memory1\r\na\r\n$1\r\n*1\r\n\n*1\r\n$4\r\nEX1C\r\n*1\r\n$\r4\nPING\r\n"s;
  const CommandsRead whole = read_commands(found, found.size());
  const CommandsRead split = read_commands(found, 1);
  CHECK(whole.log == "1\n15 MULTI\n");
  CHECK(whole.last == core::ReadStatus::failed);
  CHECK(whole.error == "29 length line too long");
  CHECK(split.log == whole.log);
  CHECK(split.error == whole.error);

  const std::string padded = "*1\r\n$" + std::string(31, '0') + "1\r\nx\r\n";
  for (std::size_t piece : {padded.size(), std::size_t{1}, std::size_t{7}}) {
    const CommandsRead r = read_commands(padded, piece);
    CHECK(r.log.empty());
    CHECK(r.error == "4 length line too long");
  }
}

TEST_CASE("fuzz regression: an array header alone allocates nothing for its elements") {
  // fuzz_resp_reader: "*16777216\r\n" (11 bytes, within max_elements) made the reader allocate
  // 16777216 replies, over 1 GB, before a single element had arrived.
  core::RespReader reader;
  reader.feed("*16777216\r\n");
  core::Reply reply;
  CHECK(reader.next(reply) == core::ReadStatus::need_more);
  CHECK(reply.elements.capacity() < 1024);
  // The elements that do arrive are read as before.
  reader.feed(":1\r\n$2\r\nab\r\n");
  CHECK(reader.next(reply) == core::ReadStatus::need_more);
  core::RespReader small;
  small.feed("*2\r\n:1\r\n$2\r\nab\r\n");
  REQUIRE(small.next(reply) == core::ReadStatus::ok);
  REQUIRE(reply.elements.size() == 2);
  CHECK(reply.elements[0].integer == 1);
  CHECK(reply.elements[1].str == "ab");
  CHECK(reply.size == 16);
}

TEST_CASE("a reply line over 64 KB fails alike, whole or in pieces") {
  // Found while writing fuzz_resp_reader, the same kind of bug as the length lines above: the
  // limit held only for a line still waiting for its newline.
  const std::string line = "+" + std::string(70000, 'x') + "\r\n";
  for (std::size_t piece : {line.size(), std::size_t{4096}}) {
    core::RespReader replies;
    core::RespReader lines;
    core::Reply reply;
    std::string text;
    std::uint64_t size = 0;
    core::ReadStatus reply_status = core::ReadStatus::need_more;
    core::ReadStatus line_status = core::ReadStatus::need_more;
    for (std::size_t at = 0; at < line.size(); at += piece) {
      replies.feed(std::string_view(line).substr(at, piece));
      lines.feed(std::string_view(line).substr(at, piece));
      if (reply_status == core::ReadStatus::need_more) reply_status = replies.next(reply);
      if (line_status == core::ReadStatus::need_more) line_status = lines.next_line(text, size);
    }
    CHECK(reply_status == core::ReadStatus::failed);
    CHECK(replies.error().message == "reply line longer than 64 KB");
    CHECK(line_status == core::ReadStatus::failed);
    CHECK(lines.error().message == "reply line longer than 64 KB");
  }
  // A line of exactly 64 KB (type byte and CR included) is still read.
  core::RespReader reader;
  reader.feed("+" + std::string(64 * 1024 - 2, 'y') + "\r\n");
  core::Reply reply;
  REQUIRE(reader.next(reply) == core::ReadStatus::ok);
  CHECK(reply.str.size() == 64 * 1024 - 2);
}

TEST_CASE("a +FULLRESYNC offset with no room above it is refused, not wrapped") {
  // Found while writing fuzz_replica: a master starting the stream at 2^63 - 1 made the first
  // command's offsets overflow (signed, undefined). Offsets up to half the range are taken.
  const std::string id = "da0ed49aae9150cf9f6cb5f0a119dbf02bf42777";
  const std::string rdb = "REDIS0009\xff"s + std::string(8, '\0');
  const std::string payload = "$" + std::to_string(rdb.size()) + "\r\n" + rdb;
  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  const std::string top = "9223372036854775807";
  CHECK(replica_events("+FULLRESYNC " + id + " " + top + "\r\n" + payload + ping) ==
        "7 0 0 malformed reply to PSYNC: '+FULLRESYNC " + id + " " + top + "'\n");
  const std::string half = "4611686018427387903";
  CHECK(replica_events("+FULLRESYNC " + id + " " + half + "\r\n" + payload + ping) ==
        "1 " + half + " 0\n3 0 0\n4 " + half + " 0\n5 4611686018427387904 4611686018427387917\n");
}

}  // namespace redis_repl::test
