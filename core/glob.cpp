#include "core/glob.hpp"

#include <cstddef>

namespace redis_repl::core {
namespace {

// Matches one bracket class starting after '['. Sets p to the position after ']'.
bool match_class(std::string_view pat, std::size_t& p, unsigned char c) {
  bool negate = false;
  if (p < pat.size() && pat[p] == '^') {
    negate = true;
    ++p;
  }
  bool matched = false;
  while (p < pat.size() && pat[p] != ']') {
    if (pat[p] == '\\' && p + 1 < pat.size()) {
      ++p;
      if (static_cast<unsigned char>(pat[p]) == c) matched = true;
      ++p;
    } else if (p + 2 < pat.size() && pat[p + 1] == '-' && pat[p + 2] != ']') {
      auto lo = static_cast<unsigned char>(pat[p]);
      auto hi = static_cast<unsigned char>(pat[p + 2]);
      if (lo > hi) {
        auto t = lo;
        lo = hi;
        hi = t;
      }
      if (c >= lo && c <= hi) matched = true;
      p += 3;
    } else {
      if (static_cast<unsigned char>(pat[p]) == c) matched = true;
      ++p;
    }
  }
  if (p < pat.size()) ++p;  // skip ']'; an unterminated class ends at the end of the pattern
  return negate ? !matched : matched;
}

}  // namespace

bool glob_match(std::string_view pat, std::string_view text) noexcept {
  // Iterative matcher with one backtrack point for the last '*': linear in practice, never
  // exponential on hostile patterns.
  std::size_t p = 0, t = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pat.size()) {
      char pc = pat[p];
      if (pc == '*') {
        while (p < pat.size() && pat[p] == '*') ++p;
        if (p == pat.size()) return true;
        star_p = p;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        std::size_t q = p + 1;
        if (match_class(pat, q, static_cast<unsigned char>(text[t]))) {
          p = q;
          ++t;
          continue;
        }
      } else {
        std::size_t q = p;
        if (pc == '\\' && q + 1 < pat.size()) ++q;
        if (pat[q] == text[t]) {
          p = q + 1;
          ++t;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace redis_repl::core
