#include "formats/terminal_text.hpp"

#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

// The length of the UTF-8 sequence at the start of s, or 0 when it does not start with one.
std::size_t utf8_sequence(std::string_view s) {
  const auto lead = static_cast<unsigned char>(s.front());
  const std::size_t n = lead >= 0xc2 && lead <= 0xdf   ? 2
                        : lead >= 0xe0 && lead <= 0xef ? 3
                        : lead >= 0xf0 && lead <= 0xf4 ? 4
                                                       : 0;
  return n != 0 && n <= s.size() && utf8_valid(s.substr(0, n)) ? n : 0;
}

}  // namespace

void append_terminal_safe(std::string& out, std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(s[i++]);
      continue;
    }
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(s.substr(i));
      // U+0080 to U+009F are the C1 controls (U+009B is CSI): escaped like the C0 ones.
      const bool c1 = n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0;
      if (n != 0 && !c1) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    append_byte_escape(out, c);
    ++i;
  }
}

std::string terminal_safe(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_terminal_safe(out, bytes);
  return out;
}

}  // namespace redis_repl::formats
