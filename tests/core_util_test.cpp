// Small core pieces against known vectors: CRC-64/Jones, LZF, Redis glob matching.
#include <doctest/doctest.h>

#include <string>

#include "core/crc64.hpp"
#include "core/glob.hpp"
#include "core/lzf.hpp"
#include "core/rdb_visitor.hpp"

namespace redis_repl::test {

using namespace std::string_literals;

TEST_CASE("crc64: the Jones check value, in one call and in pieces") {
  CHECK(core::crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
  std::uint64_t c = 0;
  for (char ch : std::string("123456789")) c = core::crc64(c, &ch, 1);
  CHECK(c == 0xe9c6d914c4b8d9caULL);
  const std::string long_input(1000, 'x');
  CHECK(core::crc64(core::crc64(0, long_input.data(), 333), long_input.data() + 333, 667) ==
        core::crc64(0, long_input.data(), 1000));
}

TEST_CASE("lzf: runs, literals and the errors a hostile input can cause") {
  char out[100];
  // 100 × 'a' as Redis 7.0.15 compressed it (protocol.md B4).
  CHECK(core::lzf_decompress("\x01\x61\x61\xe0\x57\x00\x01\x61\x61"s, out, 100) == nullptr);
  CHECK(std::string(out, 100) == std::string(100, 'a'));
  CHECK(std::string(core::lzf_decompress("\x01\x61\x61\xe0\x57\x00\x01\x61\x61"s, out, 99)) ==
        "LZF output longer than declared");
  CHECK(std::string(core::lzf_decompress("\x20\x00"s, out, 3)) ==
        "LZF back reference before the start of the output");
  CHECK(std::string(core::lzf_decompress("\x05\x61"s, out, 6)) ==
        "LZF literal runs past the input");
  CHECK(std::string(core::lzf_decompress("\xe0"s, out, 10)) ==
        "LZF back reference runs past the input");
}

TEST_CASE("glob: Redis KEYS/SCAN MATCH semantics") {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  const Case cases[] = {
      {"*", "", true},
      {"*", "anything", true},
      {"user:*", "user:1", true},
      {"user:*", "users:1", false},
      {"h?llo", "hello", true},
      {"h?llo", "hllo", false},
      {"h[ae]llo", "hallo", true},
      {"h[ae]llo", "hillo", false},
      {"h[^e]llo", "hallo", true},
      {"h[^e]llo", "hello", false},
      {"h[a-b]llo", "hbllo", true},
      {"h[b-a]llo", "hallo", true},
      {"a\\*b", "a*b", true},
      {"a\\*b", "axb", false},
      {"*:*:*", "a:b:c", true},
      {"*x*y*z*", "axbyczd", true},
      {"*x*y*z*", "axbzcyd", false},
      {"a*", "b", false},
      {"[\\]]", "]", true},
      {"**a", "ba", true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.pattern);
    CAPTURE(c.text);
    CHECK(core::glob_match(c.pattern, c.text) == c.match);
  }
  // No exponential blow-up on a hostile pattern.
  CHECK_FALSE(core::glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST_CASE("rdb_format: type names round-trip") {
  for (int t = 0; t < core::value_type_count; ++t) {
    core::ValueType vt;
    REQUIRE(core::parse_type_name(core::type_name(static_cast<core::ValueType>(t)), vt));
    CHECK(static_cast<int>(vt) == t);
  }
  core::ValueType vt;
  CHECK_FALSE(core::parse_type_name("hyperloglog", vt));
}

}  // namespace redis_repl::test
