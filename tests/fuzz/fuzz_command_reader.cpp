// Fuzz target: CommandReader, the reader of the replication stream. The input is read once fed
// whole and once fed in chunks cut from a seed derived from the input: the commands, their sizes,
// the final status and error (up to the bytes it quotes) must be the same, and every byte is
// accounted for.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/resp_reader.hpp"
#include "fuzz_support.hpp"

namespace {

using redis_repl::core::CommandReader;
using redis_repl::core::ReadStatus;
using redis_repl::core::StreamCommand;
namespace fz = redis_repl::fuzz;

struct Outcome {
  std::string log;
  std::string error;
  std::uint64_t consumed = 0;
};

Outcome read_all(std::string_view in, const std::vector<std::size_t>& pieces) {
  CommandReader reader;
  Outcome out;
  std::size_t at = 0;
  std::uint64_t read = 0;
  bool failed = false;
  StreamCommand c;
  for (std::size_t n : pieces) {
    reader.feed(in.substr(at, n));
    at += n;
    for (;;) {
      const ReadStatus s = reader.next(c);
      if (s == ReadStatus::need_more) break;
      if (s == ReadStatus::failed) {
        failed = true;
        break;
      }
      FUZZ_CHECK(c.size > 0);
      // The command's bytes are exactly the next ones of the input: each argument is where its
      // framing says, and the smallest framing of these arguments fits in the size.
      const std::string_view bytes = in.substr(static_cast<std::size_t>(read), c.size);
      FUZZ_CHECK(bytes.size() == c.size);
      if (c.args.empty()) {
        FUZZ_CHECK(bytes == "\n" || bytes == "\r\n");
      } else {
        FUZZ_CHECK(bytes.front() == '*' && bytes.ends_with("\r\n"));
        std::size_t minimal = 3 + std::to_string(c.args.size()).size();
        for (std::string_view a : c.args) {
          minimal += 5 + std::to_string(a.size()).size() + a.size();
          FUZZ_CHECK(bytes.find(a) != std::string_view::npos);
        }
        FUZZ_CHECK(minimal <= c.size);
      }
      read += c.size;
      FUZZ_CHECK(reader.consumed() == read);
      out.log += std::to_string(c.size) + ":";
      for (std::string_view a : c.args)
        out.log += " " + std::to_string(a.size()) + ":" + std::string(a);
      out.log += "\n";
    }
    if (failed) break;
  }
  if (failed) {
    FUZZ_CHECK(reader.next(c) == ReadStatus::failed);
    FUZZ_CHECK(!reader.error().message.empty());
    FUZZ_CHECK(reader.error().offset >= read);
    out.error = std::to_string(reader.error().offset) + " " +
                std::string(fz::unquoted(reader.error().message));
  } else {
    FUZZ_CHECK(read + reader.buffered() == in.size());
  }
  out.consumed = reader.consumed();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  fz::Choices choices(fz::hash_bytes(in));
  const Outcome whole = read_all(in, {size});
  const Outcome split = read_all(in, fz::chunk_sizes(size, choices));
  FUZZ_CHECK_MSG(
      whole.log == split.log && whole.error == split.error && whole.consumed == split.consumed,
      "whole:\n" + whole.log + whole.error + "\nsplit:\n" + split.log + split.error);
  return 0;
}
