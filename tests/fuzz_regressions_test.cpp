// Inputs the fuzz targets (tests/fuzz/) found to break a parser, kept as they were found so the
// bugs stay fixed. Each case says what went wrong.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "core/rdb_packed.hpp"
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

}  // namespace redis_repl::test
