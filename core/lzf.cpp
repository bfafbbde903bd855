#include "core/lzf.hpp"

#include <cstring>

namespace redis_repl::core {

const char* lzf_decompress(std::string_view in, char* out, std::size_t out_size) noexcept {
  const auto* ip = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const in_end = ip + in.size();
  std::size_t op = 0;
  while (ip < in_end) {
    std::size_t ctrl = *ip++;
    if (ctrl < 32) {  // literal run of ctrl + 1 bytes
      std::size_t run = ctrl + 1;
      if (static_cast<std::size_t>(in_end - ip) < run) return "LZF literal runs past the input";
      if (out_size - op < run) return "LZF output longer than declared";
      std::memcpy(out + op, ip, run);
      ip += run;
      op += run;
      continue;
    }
    std::size_t len = ctrl >> 5;  // back reference
    if (len == 7) {
      if (ip >= in_end) return "LZF back reference runs past the input";
      len += *ip++;
    }
    if (ip >= in_end) return "LZF back reference runs past the input";
    std::size_t dist = ((ctrl & 0x1f) << 8) + *ip++ + 1;
    len += 2;
    if (dist > op) return "LZF back reference before the start of the output";
    if (out_size - op < len) return "LZF output longer than declared";
    // Byte by byte: the source may overlap the destination (a run).
    char* dst = out + op;
    const char* src = dst - dist;
    if (dist >= len) {
      std::memcpy(dst, src, len);
    } else {
      for (std::size_t i = 0; i < len; ++i) dst[i] = src[i];
    }
    op += len;
  }
  if (op != out_size) return "LZF output shorter than declared";
  return nullptr;
}

}  // namespace redis_repl::core
