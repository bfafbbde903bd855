// tests/fuzz/fuzz_support.hpp — what every fuzz target shares: a hash and a small generator to
// derive choices (chunk splits, flags) from the input itself, and a check that aborts loudly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace redis_repl::fuzz {

// FNV-1a over the bytes: the same input always makes the same choices, so a crash replays.
inline std::uint64_t hash_bytes(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// splitmix64: cheap, and good enough to scatter chunk sizes.
class Choices {
 public:
  explicit Choices(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // A number in [0, n), n > 0.
  std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

// Cuts size bytes into pieces: mostly tiny (1 to 8 bytes, to land splits inside every field),
// sometimes larger, sometimes empty. The lengths add up to size.
inline std::vector<std::size_t> chunk_sizes(std::size_t size, Choices& choices) {
  std::vector<std::size_t> out;
  std::size_t left = size;
  while (left > 0) {
    std::size_t n = 0;
    switch (choices.below(8)) {
      case 0:
        n = 0;  // an empty feed must change nothing
        break;
      case 1:
      case 2:
        n = 1;
        break;
      case 3:
      case 4:
        n = 1 + choices.below(8);
        break;
      case 5:
        n = 1 + choices.below(64);
        break;
      default:
        n = 1 + choices.below(left);
        break;
    }
    if (n > left) n = left;
    out.push_back(n);
    left -= n;
  }
  return out;
}

// The input without its first byte, which a target reads as flags.
inline std::string_view rest_of(std::string_view s) noexcept { return s.empty() ? s : s.substr(1); }

// An error message without the input it quotes: a reader that fails on a stray byte quotes the
// bytes it has at that moment, which depend on how the input arrived.
inline std::string_view unquoted(std::string_view message) noexcept {
  return message.substr(0, message.find('\''));
}

[[noreturn]] inline void fail_check(const char* what, const char* file, int line,
                                    const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n%s\n", file, line, what, detail.c_str());
  std::abort();
}

}  // namespace redis_repl::fuzz

// Checks an invariant; on failure prints what and where, with optional detail, and aborts.
#define FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::redis_repl::fuzz::fail_check(#cond, __FILE__, __LINE__, {}))
#define FUZZ_CHECK_MSG(cond, detail) \
  ((cond) ? (void)0 : ::redis_repl::fuzz::fail_check(#cond, __FILE__, __LINE__, (detail)))
