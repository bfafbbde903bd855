// core/glob.hpp — Redis glob matching, as KEYS and SCAN MATCH do it.
//
// `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` classes, `\x` a literal x. Byte-wise and
// case-sensitive, like stringmatchlen() in Redis's util.c (our own implementation).
#pragma once
#include <string_view>

namespace redis_repl::core {

bool glob_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace redis_repl::core
