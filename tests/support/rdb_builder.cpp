#include "support/rdb_builder.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/crc64.hpp"

namespace redis_repl::test {
namespace {

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::string lp_encode(const PackedEntry& e) {
  std::string enc;
  if (const auto* s = std::get_if<std::string>(&e)) {
    if (s->size() < 64) {
      enc.push_back(static_cast<char>(0x80 | s->size()));
    } else if (s->size() < 4096) {
      enc.push_back(static_cast<char>(0xe0 | (s->size() >> 8)));
      enc.push_back(static_cast<char>(s->size() & 0xff));
    } else {
      enc.push_back(static_cast<char>(0xf0));
      put_le(enc, s->size(), 4);
    }
    enc += *s;
  } else {
    const std::int64_t v = std::get<std::int64_t>(e);
    if (v >= 0 && v <= 127) {
      enc.push_back(static_cast<char>(v));
    } else if (v >= -4096 && v <= 4095) {
      const auto u = static_cast<std::uint64_t>(v) & 0x1fff;
      enc.push_back(static_cast<char>(0xc0 | (u >> 8)));
      enc.push_back(static_cast<char>(u & 0xff));
    } else if (v >= -32768 && v <= 32767) {
      enc.push_back(static_cast<char>(0xf1));
      put_le(enc, static_cast<std::uint64_t>(v), 2);
    } else if (v >= -8388608 && v <= 8388607) {
      enc.push_back(static_cast<char>(0xf2));
      put_le(enc, static_cast<std::uint64_t>(v), 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      enc.push_back(static_cast<char>(0xf3));
      put_le(enc, static_cast<std::uint64_t>(v), 4);
    } else {
      enc.push_back(static_cast<char>(0xf4));
      put_le(enc, static_cast<std::uint64_t>(v), 8);
    }
  }
  // backlen: the encoding's size in 7-bit groups, most significant first; every byte after the
  // first has bit 7 set.
  const std::size_t n = enc.size();
  const std::size_t bl = n <= 127 ? 1 : n < 16383 ? 2 : n < 2097151 ? 3 : n < 268435455 ? 4 : 5;
  std::string back;
  for (std::size_t i = 0; i < bl; ++i) {
    const auto group = static_cast<char>((n >> (7 * (bl - 1 - i))) & 127);
    back.push_back(i == 0 ? group : static_cast<char>(group | 128));
  }
  return enc + back;
}

std::string zl_encode(const PackedEntry& e, std::size_t prevlen) {
  std::string out;
  if (prevlen < 254) {
    out.push_back(static_cast<char>(prevlen));
  } else {
    out.push_back(static_cast<char>(0xfe));
    put_le(out, prevlen, 4);
  }
  if (const auto* s = std::get_if<std::string>(&e)) {
    if (s->size() < 64) {
      out.push_back(static_cast<char>(s->size()));
    } else if (s->size() < 16384) {
      out.push_back(static_cast<char>(0x40 | (s->size() >> 8)));
      out.push_back(static_cast<char>(s->size() & 0xff));
    } else {
      out.push_back(static_cast<char>(0x80));
      for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(s->size() >> (8 * i)));
    }
    out += *s;
    return out;
  }
  const std::int64_t v = std::get<std::int64_t>(e);
  if (v >= 0 && v <= 12) {
    out.push_back(static_cast<char>(0xf1 + v));
  } else if (v >= -128 && v <= 127) {
    out.push_back(static_cast<char>(0xfe));
    put_le(out, static_cast<std::uint64_t>(v), 1);
  } else if (v >= -32768 && v <= 32767) {
    out.push_back(static_cast<char>(0xc0));
    put_le(out, static_cast<std::uint64_t>(v), 2);
  } else if (v >= -8388608 && v <= 8388607) {
    out.push_back(static_cast<char>(0xf0));
    put_le(out, static_cast<std::uint64_t>(v), 3);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    out.push_back(static_cast<char>(0xd0));
    put_le(out, static_cast<std::uint64_t>(v), 4);
  } else {
    out.push_back(static_cast<char>(0xe0));
    put_le(out, static_cast<std::uint64_t>(v), 8);
  }
  return out;
}

}  // namespace

std::string lzf_compress(std::string_view in) {
  std::string out;
  std::vector<std::uint32_t> last(1 << 16, ~0u);  // 3-byte hash -> latest position
  std::size_t lit_start = 0;
  auto flush_literals = [&](std::size_t end) {
    while (lit_start < end) {
      const std::size_t run = std::min<std::size_t>(32, end - lit_start);
      out.push_back(static_cast<char>(run - 1));
      out.append(in.substr(lit_start, run));
      lit_start += run;
    }
  };
  std::size_t i = 0;
  while (i + 3 <= in.size()) {
    const auto b = [&](std::size_t at) { return static_cast<std::uint32_t>(in[at]) & 0xff; };
    const std::uint32_t h = ((b(i) << 16 | b(i + 1) << 8 | b(i + 2)) * 2654435761u) >> 16;
    const std::uint32_t cand = last[h];
    last[h] = static_cast<std::uint32_t>(i);
    std::size_t len = 0;
    if (cand != ~0u && i - cand <= 8192) {
      while (len < 264 && i + len < in.size() && in[cand + len] == in[i + len]) ++len;
    }
    if (len < 3) {
      ++i;
      continue;
    }
    flush_literals(i);
    const std::size_t off = i - cand - 1;
    const std::size_t l = len - 2;
    if (l < 7) {
      out.push_back(static_cast<char>((l << 5) | (off >> 8)));
    } else {
      out.push_back(static_cast<char>((7 << 5) | (off >> 8)));
      out.push_back(static_cast<char>(l - 7));
    }
    out.push_back(static_cast<char>(off & 0xff));
    i += len;
    lit_start = i;
  }
  flush_literals(in.size());
  return out;
}

RdbBuilder::RdbBuilder(int version) : version_(version) {
  char head[16];
  std::snprintf(head, sizeof head, "REDIS%04d", version);
  out_ = head;
}
RdbBuilder RdbBuilder::valkey(int version) {
  RdbBuilder b(version);
  char head[16];
  std::snprintf(head, sizeof head, "VALKEY%03d", version);
  b.out_ = head;
  return b;
}
RdbBuilder& RdbBuilder::byte(std::uint8_t b) {
  out_.push_back(static_cast<char>(b));
  return *this;
}
RdbBuilder& RdbBuilder::raw(std::string_view bytes) {
  out_.append(bytes);
  return *this;
}
RdbBuilder& RdbBuilder::len(std::uint64_t n) {
  if (n < 64) return byte(static_cast<std::uint8_t>(n));
  if (n < 16384) return byte(static_cast<std::uint8_t>(0x40 | (n >> 8))).byte(n & 0xff);
  if (n <= 0xffffffffULL) return len32(static_cast<std::uint32_t>(n));
  return len64(n);
}
RdbBuilder& RdbBuilder::len32(std::uint32_t n) {
  byte(0x80);
  for (int i = 3; i >= 0; --i) byte(static_cast<std::uint8_t>(n >> (8 * i)));
  return *this;
}
RdbBuilder& RdbBuilder::len64(std::uint64_t n) {
  byte(0x81);
  return be64(n);
}
RdbBuilder& RdbBuilder::be64(std::uint64_t n) {
  for (int i = 7; i >= 0; --i) byte(static_cast<std::uint8_t>(n >> (8 * i)));
  return *this;
}
RdbBuilder& RdbBuilder::str(std::string_view s) { return len(s.size()).raw(s); }
RdbBuilder& RdbBuilder::lzf_str(std::string_view s) {
  const std::string packed = lzf_compress(s);
  byte(0xc3);
  len(packed.size());
  len(s.size());
  return raw(packed);
}

RdbBuilder& RdbBuilder::le32(std::uint32_t v) {
  put_le(out_, v, 4);
  return *this;
}
RdbBuilder& RdbBuilder::le64(std::uint64_t v) {
  put_le(out_, v, 8);
  return *this;
}
std::string RdbBuilder::finish(bool with_crc) {
  byte(0xff);
  if (version_ >= 5) put_le(out_, with_crc ? core::crc64(0, out_.data(), out_.size()) : 0, 8);
  return out_;
}

std::string listpack(std::initializer_list<PackedEntry> entries) {
  std::string body;
  for (const PackedEntry& e : entries) body += lp_encode(e);
  std::string out;
  put_le(out, 6 + body.size() + 1, 4);
  put_le(out, entries.size() < 65535 ? entries.size() : 65535, 2);
  out += body;
  out.push_back(static_cast<char>(0xff));
  return out;
}

std::string ziplist(std::initializer_list<PackedEntry> entries) {
  std::string body;
  std::size_t prev = 0, tail = 10;
  for (const PackedEntry& e : entries) {
    tail = 10 + body.size();
    std::string enc = zl_encode(e, prev);
    prev = enc.size();
    body += enc;
  }
  std::string out;
  put_le(out, 10 + body.size() + 1, 4);
  put_le(out, tail, 4);
  put_le(out, entries.size(), 2);
  out += body;
  out.push_back(static_cast<char>(0xff));
  return out;
}

}  // namespace redis_repl::test
