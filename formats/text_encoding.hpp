// formats/text_encoding.hpp — byte strings into text: UTF-8 check, base64, redis-cli quoting.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace redis_repl::formats {

bool utf8_valid(std::string_view s) noexcept;
void append_base64(std::string& out, std::string_view bytes);
// A JSON string literal (quotes included) for text known to be valid UTF-8.
void append_json_quoted(std::string& out, std::string_view utf8);
// redis-cli's quoting: "..." with \n \r \t \a \b \" \\ and \xHH for anything not printable ASCII.
void append_repr(std::string& out, std::string_view bytes);
// Shortest text that reads back as the same double; "inf", "-inf", "nan" for the specials.
void append_double(std::string& out, double d);
void append_int(std::string& out, std::int64_t v);
void append_uint(std::string& out, std::uint64_t v);
// ISO 8601 UTC with milliseconds: 2030-01-01T00:00:00.000Z
void append_time_ms(std::string& out, std::int64_t ms);

}  // namespace redis_repl::formats
