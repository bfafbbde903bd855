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

namespace redis_repl::core {

LzfStream::LzfStream(std::size_t window) : win_(window + history, '\0') {}

void LzfStream::reset(std::uint64_t out_size) {
  op_ = taken_ = 0;
  produced_ = 0;
  out_size_ = out_size;
  need_ = 0;
  error_ = nullptr;
}

std::size_t LzfStream::decode(std::string_view in) {
  if (error_) return 0;
  const auto* const begin = reinterpret_cast<const unsigned char*>(in.data());
  const auto* ip = begin;
  const auto* const end = ip + in.size();
  need_ = 0;
  if (taken_ == op_ && win_.size() - op_ < 264 && op_ > history) {
    // Everything decoded was handed out: keep only the history a reference can reach.
    std::memmove(win_.data(), win_.data() + op_ - history, history);
    op_ = taken_ = history;
  }
  for (;;) {
    // Room for the longest token's output (a 264-byte reference or a 32-byte literal).
    if (win_.size() - op_ < 264) break;
    if (ip == end) break;
    const std::size_t ctrl = *ip;
    const std::size_t avail = static_cast<std::size_t>(end - ip);
    if (ctrl < 32) {
      const std::size_t run = ctrl + 1;
      if (avail < run + 1) {
        need_ = run + 1;
        break;
      }
      if (out_size_ - produced_ < run) {
        error_ = "LZF output longer than declared";
        break;
      }
      std::memcpy(win_.data() + op_, ip + 1, run);
      ip += run + 1;
      op_ += run;
      produced_ += run;
      continue;
    }
    std::size_t len = ctrl >> 5;
    const std::size_t token = len == 7 ? 3 : 2;
    if (avail < token) {
      need_ = token;
      break;
    }
    if (len == 7) len += ip[1];
    const std::size_t dist = ((ctrl & 0x1f) << 8) + ip[token - 1] + 1;
    len += 2;
    if (dist > produced_) {
      error_ = "LZF back reference before the start of the output";
      break;
    }
    if (out_size_ - produced_ < len) {
      error_ = "LZF output longer than declared";
      break;
    }
    char* dst = win_.data() + op_;
    const char* src = dst - dist;  // the window always holds the last 8 KiB before op_
    for (std::size_t i = 0; i < len; ++i) dst[i] = src[i];
    ip += token;
    op_ += len;
    produced_ += len;
  }
  return static_cast<std::size_t>(ip - begin);
}

std::string_view LzfStream::take() {
  const std::string_view out(win_.data() + taken_, op_ - taken_);
  taken_ = op_;
  return out;
}

}  // namespace redis_repl::core
