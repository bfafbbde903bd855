// core/bytes.hpp — fixed-width loads from unaligned bytes, and small text helpers.
//
// Every multi-byte wire value goes through these memcpy-based loads, so there is no alignment or
// aliasing trap anywhere else. RDB mixes both byte orders: lengths are big-endian, everything else
// (integers in strings and blobs, millisecond times, doubles) little-endian.
#pragma once
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace redis_repl::core {

static_assert(std::endian::native == std::endian::little,
              "redis-repl assumes a little-endian host");

// The whole of s as a decimal number of type T (no sign for unsigned types, no spaces, no
// overflow): the one number parser for replies and INFO fields.
template <class T>
inline bool parse_decimal(std::string_view s, T& out) noexcept {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

template <class T>
inline T load(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint16_t load_le16(const char* p) noexcept { return load<std::uint16_t>(p); }
inline std::uint32_t load_le32(const char* p) noexcept { return load<std::uint32_t>(p); }
inline std::uint64_t load_le64(const char* p) noexcept { return load<std::uint64_t>(p); }
inline std::uint32_t load_be32(const char* p) noexcept { return __builtin_bswap32(load_le32(p)); }
inline std::uint64_t load_be64(const char* p) noexcept { return __builtin_bswap64(load_le64(p)); }

// Decimal text of an integer into buf (at least 21 bytes); returns the view.
inline std::string_view format_int(char* buf, std::int64_t v) noexcept {
  auto r = std::to_chars(buf, buf + 24, v);
  return {buf, static_cast<std::size_t>(r.ptr - buf)};
}
inline std::string_view format_uint(char* buf, std::uint64_t v) noexcept {
  auto r = std::to_chars(buf, buf + 24, v);
  return {buf, static_cast<std::size_t>(r.ptr - buf)};
}

// "0x1f" for error messages.
inline std::string hex_byte(std::uint8_t b) {
  static constexpr char digits[] = "0123456789abcdef";
  return std::string{'0', 'x', digits[b >> 4], digits[b & 15]};
}
// 16 lower-case hex digits.
inline std::string hex64(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
  return s;
}

}  // namespace redis_repl::core
