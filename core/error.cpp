#include "core/error.hpp"

namespace redis_repl {

std::string_view describe(Errc code) noexcept {
  switch (code) {
    case Errc::none:
      return "no error";
    case Errc::rdb_corrupt:
      return "corrupt RDB";
    case Errc::rdb_truncated:
      return "truncated RDB";
    case Errc::rdb_unsupported:
      return "unsupported RDB";
    case Errc::limit_exceeded:
      return "limit exceeded";
    case Errc::protocol:
      return "protocol error";
  }
  return "error";
}

}  // namespace redis_repl
