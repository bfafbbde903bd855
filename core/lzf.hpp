// core/lzf.hpp — LZF decompression (liblzf's format), as RDB compressed strings use it.
//
// Our own implementation: bounds-checked on both sides, and the output must come out exactly as
// long as the RDB header said, otherwise the data is corrupt.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace redis_repl::core {

// Decompresses in into out[0..out_size). Returns nullptr on success, or a static message.
const char* lzf_decompress(std::string_view in, char* out, std::size_t out_size) noexcept;

// The same format decoded piece by piece, for strings too large to hold: a back reference
// reaches at most 8 KiB back, so a window of that much history is all that is kept. Input comes
// in pieces of any size; a token cut at the end of a piece is left for the next one.
class LzfStream {
 public:
  static constexpr std::size_t history = 8192;
  static constexpr std::size_t max_token = 3;  // control byte plus up to two more, literals aside

  explicit LzfStream(std::size_t window = 256 * 1024);
  // Starts a value of out_size decompressed bytes.
  void reset(std::uint64_t out_size);
  // Decodes whole tokens from in while the window has room. Returns the bytes used; when none
  // could be, need() says how many bytes the next token needs. On corrupt input, error() is set.
  std::size_t decode(std::string_view in);
  // The output decoded since the last take(), then forgotten (its last 8 KiB kept as history).
  std::string_view take();
  std::size_t need() const noexcept { return need_; }
  const char* error() const noexcept { return error_; }
  std::uint64_t produced() const noexcept { return produced_; }
  // All the declared output was produced.
  bool complete() const noexcept { return produced_ == out_size_; }

 private:
  std::string win_;
  std::size_t op_ = 0;     // write position in win_
  std::size_t taken_ = 0;  // win_[taken_, op_) is not handed out yet
  std::uint64_t produced_ = 0;
  std::uint64_t out_size_ = 0;
  std::size_t need_ = 0;
  const char* error_ = nullptr;
};

}  // namespace redis_repl::core
