// core/resp_writer.hpp — the one RESP writer: commands as arrays of bulk strings, appended to a
// buffer. The replica's handshake and ACKs, the request/reply client and the RESP output format
// all write through it.
#pragma once
#include <charconv>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace redis_repl::core {

// "<type><n>\r\n": an array header ('*') or a bulk string's length ('$').
inline void append_resp_header(std::string& out, char type, std::uint64_t n) {
  char head[24];
  head[0] = type;
  char* p = std::to_chars(head + 1, head + 21, n).ptr;
  *p++ = '\r';
  *p++ = '\n';
  out.append(head, static_cast<std::size_t>(p - head));
}

// "$<len>\r\n<bytes>\r\n", binary-safe.
inline void append_bulk(std::string& out, std::string_view arg) {
  append_resp_header(out, '$', arg.size());
  out.append(arg);
  out.append("\r\n", 2);
}

template <class Args>
inline void append_command(std::string& out, const Args& args) {
  append_resp_header(out, '*', static_cast<std::uint64_t>(args.size()));
  for (std::string_view a : args) append_bulk(out, a);
}

inline void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_command<std::initializer_list<std::string_view>>(out, args);
}

}  // namespace redis_repl::core
