// core/error.hpp — the single error vocabulary of core/ and formats/.
//
// Parsers never throw for bad input: they return an Error value carrying a code, a lower-case
// message without a final period, and the byte offset in the stream the error was found at.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace redis_repl {

enum class Errc : std::uint8_t {
  none,
  rdb_corrupt,      // bad length encoding, unknown opcode, inconsistent blob, CRC64 mismatch
  rdb_truncated,    // the input ended inside the snapshot
  rdb_unsupported,  // well-formed but a format we do not read (newer version, Valkey 9, type 6)
  limit_exceeded,   // a length above a configured safety limit
  protocol,         // bytes RESP does not allow, or a reply out of place
};

struct Error {
  Errc code = Errc::none;
  std::string message;       // "bad length prefix 0xbf"
  std::uint64_t offset = 0;  // byte offset in the stream it came from
};

// "corrupt RDB", "truncated RDB", ...
std::string_view describe(Errc code) noexcept;

}  // namespace redis_repl
