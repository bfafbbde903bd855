// formats/text_encoding.hpp — byte strings into text: UTF-8 check, base64, redis-cli quoting.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace redis_repl::formats {

bool utf8_valid(std::string_view s) noexcept;

// utf8_valid over a byte string that comes in pieces cut anywhere, a sequence included.
class Utf8Checker {
 public:
  // False as soon as the bytes so far cannot be valid UTF-8.
  bool feed(std::string_view piece) noexcept;
  // Whether everything fed is valid UTF-8 (a sequence left incomplete is not).
  bool valid() const noexcept { return ok_ && held_n_ == 0; }

 private:
  bool ok_ = true;
  char held_[4] = {};
  std::size_t held_n_ = 0;
};

void append_base64(std::string& out, std::string_view bytes);

// append_base64 over bytes that come in pieces: the same text as over them all at once.
class Base64Stream {
 public:
  void add(std::string& out, std::string_view piece);
  void finish(std::string& out);

 private:
  char held_[3] = {};
  std::size_t held_n_ = 0;
};

// A JSON string literal (quotes included) for text known to be valid UTF-8.
void append_json_quoted(std::string& out, std::string_view utf8);
// The same without the quotes; valid UTF-8 cut anywhere gives the same text piece by piece.
void append_json_escaped(std::string& out, std::string_view utf8);
// redis-cli's quoting: "..." with \n \r \t \a \b \" \\ and \xHH for anything not printable ASCII.
void append_repr(std::string& out, std::string_view bytes);
// The same without the quotes; byte by byte, so pieces may be cut anywhere.
void append_repr_body(std::string& out, std::string_view bytes);
// One byte as redis-cli escapes it: \n \r \t \a \b, else \xHH.
void append_byte_escape(std::string& out, unsigned char c);
// Shortest text that reads back as the same double; "inf", "-inf", "nan" for the specials.
void append_double(std::string& out, double d);
void append_int(std::string& out, std::int64_t v);
void append_uint(std::string& out, std::uint64_t v);
// ISO 8601 UTC with milliseconds: 2030-01-01T00:00:00.000Z
void append_time_ms(std::string& out, std::int64_t ms);

}  // namespace redis_repl::formats
