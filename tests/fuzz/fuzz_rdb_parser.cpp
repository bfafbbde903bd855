// Fuzz target: the RDB parser, fed a whole file at once and the same bytes in chunks cut from a
// seed derived from the input. Both parses must record the same events, end in the same Step
// with the same error, consume the same bytes (unless they failed) and keep the same trailing
// bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/rdb_parser.hpp"
#include "fuzz_support.hpp"
#include "rdb_recorder.hpp"

namespace {

using redis_repl::core::RdbLimits;
using redis_repl::core::RdbParser;
using redis_repl::core::Step;
namespace fz = redis_repl::fuzz;

struct Outcome {
  std::string log;
  Step step = Step::need_more;
  std::string error;
  std::uint64_t offset = 0;
  std::string trailing;
};

// Feeds the pieces in order (resuming after every Flow::stop), then finishes.
Outcome parse(std::string_view in, const std::vector<std::size_t>& pieces, const RdbLimits& limits,
              bool policy, std::uint64_t seed) {
  fz::RdbRecorder recorder(policy, seed);
  RdbParser parser(recorder, limits);
  Step step = Step::need_more;
  std::size_t at = 0;
  for (std::size_t n : pieces) {
    step = parser.feed(in.substr(at, n));
    at += n;
    // A stop pauses the parser with the rest of the piece held; feeding nothing goes on.
    for (int guard = 0; step == Step::stopped; ++guard) {
      FUZZ_CHECK(guard < (1 << 20));
      step = parser.feed({});
    }
    if (step == Step::failed) break;
  }
  if (step != Step::failed) {
    const Step again = parser.finish();
    FUZZ_CHECK(again == Step::done || again == Step::failed);
    FUZZ_CHECK(step != Step::done || again == Step::done);
    step = again;
  }
  // Failure is sticky.
  if (step == Step::failed) {
    FUZZ_CHECK(parser.feed("\xff") == Step::failed);
    FUZZ_CHECK(!parser.error().message.empty());
    FUZZ_CHECK(parser.error().code != redis_repl::Errc::none);
  }
  FUZZ_CHECK(parser.offset() <= in.size());
  Outcome out;
  out.log = std::move(recorder.log);
  out.step = step;
  if (step == Step::failed)
    out.error = std::to_string(static_cast<int>(parser.error().code)) + " @" +
                std::to_string(parser.error().offset) + " " + parser.error().message;
  // After a failure, how far the parser got depends on the split: a long value streamed in
  // pieces is consumed as it comes. The error's own offset does not.
  if (step != Step::failed) out.offset = parser.offset();
  out.trailing = std::string(parser.trailing());
  return out;
}

std::string describe(const Outcome& o) {
  return "step " + std::to_string(static_cast<int>(o.step)) + " offset " +
         std::to_string(o.offset) + " error '" + o.error + "' trailing " +
         std::to_string(o.trailing.size()) + " bytes, events:\n" + o.log.substr(0, 4000);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::uint64_t seed = fz::hash_bytes(in);
  fz::Choices choices(seed);
  RdbLimits limits;
  limits.max_string = 1 << 20;  // keeps LZF claims of huge strings cheap
  // Values over a few bytes to a few KiB come in pieces, so the fuzzer reaches that path too.
  limits.stream_string_over = std::uint64_t{1} << ((seed >> 8) % 13);
  limits.verify_crc = (seed & 1) != 0;
  limits.input_size = (seed & 2) != 0 ? size : 0;
  const bool policy = (seed & 4) != 0;

  const Outcome whole = parse(in, {size}, limits, policy, seed);
  const Outcome split = parse(in, fz::chunk_sizes(size, choices), limits, policy, seed);
  FUZZ_CHECK_MSG(whole.log == split.log && whole.step == split.step && whole.error == split.error &&
                     whole.offset == split.offset && whole.trailing == split.trailing,
                 "whole: " + describe(whole) + "\nsplit: " + describe(split));
  if (whole.step == Step::done) FUZZ_CHECK(whole.offset + whole.trailing.size() == size);
  return 0;
}
