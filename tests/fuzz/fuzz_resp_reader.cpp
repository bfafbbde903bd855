// Fuzz target: RespReader, the reader of handshake, INFO and pub/sub replies. The first byte says
// how replies are read (whole replies, lines, or a mix); the rest is what a server sent. It is
// read once fed whole and once fed in chunks cut from a seed derived from the input: the replies,
// their sizes, the final status and error, and the bytes left over must be the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/resp_reader.hpp"
#include "fuzz_support.hpp"

namespace {

using redis_repl::core::ReadStatus;
using redis_repl::core::Reply;
using redis_repl::core::RespReader;
namespace fz = redis_repl::fuzz;

void describe(const Reply& r, std::string& out) {
  out += std::to_string(static_cast<int>(r.type)) + "/" + std::to_string(r.size) + ":";
  switch (r.type) {
    case Reply::Type::integer:
      out += std::to_string(r.integer);
      break;
    case Reply::Type::array:
      out += "[";
      for (const Reply& e : r.elements) describe(e, out);
      out += "]";
      break;
    case Reply::Type::nil:
      break;
    default:
      out += std::to_string(r.str.size()) + ":" + r.str;
  }
  out += ";";
}

struct Outcome {
  std::string log;
  std::string error;
  std::string rest;
  std::uint64_t offset = 0;
};

// mode 0: next() only; 1: next_line() only; 2: a mix chosen by the call's index.
Outcome read_all(std::string_view in, const std::vector<std::size_t>& pieces, int mode,
                 std::uint64_t seed) {
  RespReader reader;
  Outcome out;
  std::size_t at = 0;
  std::uint64_t calls = 0;
  std::uint64_t read = 0;
  bool failed = false;
  for (std::size_t n : pieces) {
    reader.feed(in.substr(at, n));
    at += n;
    for (;;) {
      const bool whole = mode == 0 || (mode == 2 && ((seed >> (calls % 64)) & 1) != 0);
      ReadStatus s;
      if (whole) {
        Reply r;
        s = reader.next(r);
        if (s == ReadStatus::ok) {
          FUZZ_CHECK(r.size > 0);
          read += r.size;
          describe(r, out.log);
          out.log += '\n';
        }
      } else {
        std::string line;
        std::uint64_t size = 0;
        s = reader.next_line(line, size);
        if (s == ReadStatus::ok) {
          FUZZ_CHECK(size > line.size());
          FUZZ_CHECK(line.find('\n') == std::string::npos);
          read += size;
          out.log += "line " + std::to_string(size) + ":" + line + "\n";
        }
      }
      if (s != ReadStatus::ok) {
        failed = s == ReadStatus::failed;
        break;
      }
      ++calls;
      FUZZ_CHECK(reader.offset() == read);
    }
    if (failed) break;
  }
  if (failed) {
    // Sticky, with a message.
    Reply r;
    FUZZ_CHECK(reader.next(r) == ReadStatus::failed);
    FUZZ_CHECK(!reader.error().message.empty());
    out.error = std::to_string(reader.error().offset) + " " + reader.error().message;
  } else {
    FUZZ_CHECK(read + reader.buffered() == in.size());
    out.rest = reader.take_buffered();
    FUZZ_CHECK(reader.buffered() == 0);
    FUZZ_CHECK(in.substr(static_cast<std::size_t>(read)) == out.rest);
  }
  out.offset = reader.offset();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 3;
  const std::string_view in = fz::rest_of({reinterpret_cast<const char*>(data), size});
  const std::uint64_t seed = fz::hash_bytes(in);
  fz::Choices choices(seed);
  const Outcome whole = read_all(in, {in.size()}, mode, seed);
  const Outcome split = read_all(in, fz::chunk_sizes(in.size(), choices), mode, seed);
  FUZZ_CHECK_MSG(whole.log == split.log && whole.error == split.error && whole.rest == split.rest &&
                     whole.offset == split.offset,
                 "whole:\n" + whole.log + whole.error + "\nsplit:\n" + split.log + split.error);
  return 0;
}
