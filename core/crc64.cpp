#include "core/crc64.hpp"

#include <array>
#include <cstring>

namespace redis_repl::core {
namespace {

constexpr std::uint64_t reflected_poly = 0x95ac9329ac4bc9b5ULL;

using Tables = std::array<std::array<std::uint64_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint64_t n = 0; n < 256; ++n) {
    std::uint64_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ reflected_poly : c >> 1;
    t[0][n] = c;
  }
  for (std::size_t n = 0; n < 256; ++n) {
    for (std::size_t k = 1; k < 8; ++k) t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xff];
  }
  return t;
}

constexpr Tables tables = make_tables();

}  // namespace

std::uint64_t crc64(std::uint64_t crc, const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  while (size >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= crc;
    crc = tables[7][w & 0xff] ^ tables[6][(w >> 8) & 0xff] ^ tables[5][(w >> 16) & 0xff] ^
          tables[4][(w >> 24) & 0xff] ^ tables[3][(w >> 32) & 0xff] ^ tables[2][(w >> 40) & 0xff] ^
          tables[1][(w >> 48) & 0xff] ^ tables[0][w >> 56];
    p += 8;
    size -= 8;
  }
  while (size--) crc = tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

}  // namespace redis_repl::core
