#include "formats/text_encoding.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

namespace redis_repl::formats {

bool utf8_valid(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p < end) {
    // ASCII runs, eight bytes at a time.
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n;
    std::uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    for (std::size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    p += n + 1;
  }
  return true;
}

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  const std::size_t start = out.size();
  out.resize(start + (n + 2) / 3 * 4);
  char* o = out.data() + start;
  while (n >= 3) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = tbl[(v >> 6) & 63];
    *o++ = tbl[v & 63];
    p += 3;
    n -= 3;
  }
  if (n) {
    const std::uint32_t v = (std::uint32_t{p[0]} << 16) | (n == 2 ? std::uint32_t{p[1]} << 8 : 0);
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = n == 2 ? tbl[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
}

bool Utf8Checker::feed(std::string_view s) noexcept {
  if (!ok_) return false;
  if (held_n_) {
    // Complete the sequence the last piece cut, then check it alone.
    const auto lead = static_cast<unsigned char>(held_[0]);
    const std::size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    while (held_n_ < want && !s.empty()) {
      held_[held_n_++] = s.front();
      s.remove_prefix(1);
    }
    if (held_n_ < want) return true;
    ok_ = utf8_valid({held_, held_n_});
    held_n_ = 0;
    if (!ok_) return false;
  }
  // A sequence cut by the end of this piece starts at one of its last three bytes.
  std::size_t keep = 0;
  for (std::size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xc0) == 0x80) continue;  // a continuation byte: look further back
    const std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (len > back) keep = back;
    break;
  }
  ok_ = utf8_valid(s.substr(0, s.size() - keep));
  if (ok_ && keep) {
    std::memcpy(held_, s.data() + s.size() - keep, keep);
    held_n_ = keep;
  }
  return ok_;
}

void Base64Stream::add(std::string& out, std::string_view bytes) {
  if (held_n_) {
    while (held_n_ < 3 && !bytes.empty()) {
      held_[held_n_++] = bytes.front();
      bytes.remove_prefix(1);
    }
    if (held_n_ < 3) return;
    append_base64(out, {held_, 3});
    held_n_ = 0;
  }
  const std::size_t whole = bytes.size() / 3 * 3;
  append_base64(out, bytes.substr(0, whole));
  held_n_ = bytes.size() - whole;
  std::memcpy(held_, bytes.data() + whole, held_n_);
}

void Base64Stream::finish(std::string& out) {
  append_base64(out, {held_, held_n_});
  held_n_ = 0;
}

namespace {

// True when some byte is a control byte, '"' or '\\': eight bytes at a time.
bool needs_json_escape(std::string_view s) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  std::size_t i = 0;
  for (; s.size() - i >= 8; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const std::uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
    if ((((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash)) & highs)
      return true;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return true;
  }
  return false;
}

}  // namespace

void append_json_quoted(std::string& out, std::string_view s) {
  if (!needs_json_escape(s)) {  // the common case: one copy
    const std::size_t at = out.size();
    out.resize(at + s.size() + 2);
    char* o = out.data() + at;
    o[0] = '"';
    std::memcpy(o + 1, s.data(), s.size());
    o[s.size() + 1] = '"';
    return;
  }
  out.push_back('"');
  append_json_escaped(out, s);
  out.push_back('"');
}

void append_json_escaped(std::string& out, std::string_view s) {
  if (!needs_json_escape(s)) {
    out.append(s);
    return;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
}

void append_repr(std::string& out, std::string_view s) {
  out.push_back('"');
  append_repr_body(out, s);
  out.push_back('"');
}

void append_byte_escape(std::string& out, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  switch (c) {
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\a':
      out.append("\\a");
      break;
    case '\b':
      out.append("\\b");
      break;
    default: {
      const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
      out.append(esc, 4);
    }
  }
}

void append_repr_body(std::string& out, std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(ch);
    } else {
      append_byte_escape(out, c);
    }
  }
}

void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out.append("nan");
    return;
  }
  if (std::isinf(d)) {
    out.append(d > 0 ? "inf" : "-inf");
    return;
  }
  char buf[32];
  // Whole numbers (most scores) print as integers: same text as the shortest form, far cheaper.
  if (d >= -9007199254740992.0 && d <= 9007199254740992.0) {
    const auto i = static_cast<std::int64_t>(d);
    if (static_cast<double>(i) == d && !(i == 0 && std::signbit(d))) {
      auto r = std::to_chars(buf, buf + sizeof buf, i);
      out.append(buf, static_cast<std::size_t>(r.ptr - buf));
      return;
    }
  }
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

void append_time_ms(std::string& out, std::int64_t ms) {
  std::int64_t secs = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) {
    append_int(out, ms);
    return;
  }
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  const char ms3[5] = {'.', static_cast<char>('0' + frac / 100),
                       static_cast<char>('0' + frac / 10 % 10), static_cast<char>('0' + frac % 10),
                       'Z'};
  out.append(ms3, 5);
}

}  // namespace redis_repl::formats
