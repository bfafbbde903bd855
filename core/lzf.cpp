#include "core/lzf.hpp"

#include <cstring>

namespace redis_repl::core {

// Short copies dominate LZF: where the buffers have room, copy fixed-size blocks (a few plain
// moves) and let the tail spill into output bytes that later copies overwrite.
const char* lzf_decompress(std::string_view in, char* out, std::size_t out_size) noexcept {
  const auto* ip = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const in_end = ip + in.size();
  std::size_t op = 0;
  while (ip < in_end) {
    const std::size_t ctrl = *ip++;
    if (ctrl < 32) {  // literal run of ctrl + 1 bytes
      const std::size_t run = ctrl + 1;
      if (static_cast<std::size_t>(in_end - ip) < run) return "LZF literal runs past the input";
      if (out_size - op < run) return "LZF output longer than declared";
      if (in_end - ip >= 32 && out_size - op >= 32) {
        std::memcpy(out + op, ip, 32);
      } else {
        std::memcpy(out + op, ip, run);
      }
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
    const std::size_t dist = ((ctrl & 0x1f) << 8) + *ip++ + 1;
    len += 2;
    if (dist > op) return "LZF back reference before the start of the output";
    if (out_size - op < len) return "LZF output longer than declared";
    // The source may overlap the destination (a run). Each block read below lies wholly before
    // the block being written, so it is already final.
    char* dst = out + op;
    const char* src = dst - dist;
    if (dist >= 8 && out_size - op >= len + 8) {
      for (std::size_t i = 0; i < len; i += 8) std::memcpy(dst + i, src + i, 8);
    } else if (dist == 1) {
      std::memset(dst, *src, len);
    } else {
      for (std::size_t done = 0; done < len; done += dist)
        std::memcpy(dst + done, src + done, len - done < dist ? len - done : dist);
    }
    op += len;
  }
  if (op != out_size) return "LZF output shorter than declared";
  return nullptr;
}

}  // namespace redis_repl::core
