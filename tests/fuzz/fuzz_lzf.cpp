// Fuzz target: LZF decompression against a plain reference decoder written for this test. The
// first two bytes give the declared output size (little-endian); the rest is the compressed
// input. The output buffer is exactly that size, so a write past it is caught; both decoders
// must agree on success and, when they succeed, on every output byte.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/lzf.hpp"
#include "fuzz_support.hpp"

namespace {

// One byte at a time, straight from the format: a control byte below 32 starts a literal run of
// ctrl + 1 bytes; otherwise the top 3 bits are the length - 2 (7: one more length byte follows)
// and the low 5 bits with the next byte are the distance - 1 back into the output.
bool reference_lzf(std::string_view in, std::string& out, std::size_t out_size) {
  out.clear();
  std::size_t i = 0;
  while (i < in.size()) {
    const std::size_t ctrl = static_cast<std::uint8_t>(in[i++]);
    if (ctrl < 32) {
      const std::size_t run = ctrl + 1;
      if (in.size() - i < run || out_size - out.size() < run) return false;
      out.append(in.substr(i, run));
      i += run;
      continue;
    }
    std::size_t len = ctrl >> 5;
    if (len == 7) {
      if (i >= in.size()) return false;
      len += static_cast<std::uint8_t>(in[i++]);
    }
    if (i >= in.size()) return false;
    const std::size_t dist = ((ctrl & 31) << 8) + static_cast<std::uint8_t>(in[i++]) + 1;
    len += 2;
    if (dist > out.size() || out_size - out.size() < len) return false;
    for (std::size_t k = 0; k < len; ++k) out.push_back(out[out.size() - dist]);
  }
  return out.size() == out_size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t out_size = data[0] | static_cast<std::size_t>(data[1]) << 8;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  // Exactly out_size bytes on the heap (at least one, so the pointer is valid).
  std::unique_ptr<char[]> out(new char[out_size == 0 ? 1 : out_size]);
  const char* err = redis_repl::core::lzf_decompress(in, out.get(), out_size);
  std::string expected;
  const bool ok = reference_lzf(in, expected, out_size);
  FUZZ_CHECK_MSG((err == nullptr) == ok, err ? std::string("ours failed: ") + err
                                             : std::string("ours succeeded, reference failed"));
  if (ok) FUZZ_CHECK(std::memcmp(out.get(), expected.data(), out_size) == 0);
  if (err) FUZZ_CHECK(*err != '\0');
  return 0;
}
