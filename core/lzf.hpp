// core/lzf.hpp — LZF decompression (liblzf's format), as RDB compressed strings use it.
//
// Our own implementation: bounds-checked on both sides, and the output must come out exactly as
// long as the RDB header said, otherwise the data is corrupt.
#pragma once
#include <cstddef>
#include <string_view>

namespace redis_repl::core {

// Decompresses in into out[0..out_size). Returns nullptr on success, or a static message.
const char* lzf_decompress(std::string_view in, char* out, std::size_t out_size) noexcept;

}  // namespace redis_repl::core
