// core/resp_reader.hpp — incremental RESP2 readers, byte-exact, with limits.
//
// RespReader reads any reply (status, error, integer, bulk, nil, nested arrays) into an owned
// Reply: for handshakes, INFO and pub/sub, where replies are few. CommandReader reads the
// replication stream: arrays of bulk strings, handed out as views into its buffer with the exact
// number of bytes each took (the replication offset is counted in bytes, framing included), plus
// the bare newlines a master may send. Neither ever consumes a byte past the message it returns,
// so whatever follows (an RDB payload, the next command) stays for the next stage: see
// take_buffered(). Errors are sticky and carry the stream offset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace redis_repl::core {

struct RespLimits {
  std::uint64_t max_bulk = 1ULL << 32;   // one bulk string (Redis replicas enforce none)
  std::uint64_t max_elements = 1 << 24;  // one array
  int max_depth = 8;
};

struct Reply {
  enum class Type : std::uint8_t { status, error, integer, bulk, nil, array };
  Type type = Type::nil;
  std::string str;  // status, error and bulk
  std::int64_t integer = 0;
  std::vector<Reply> elements;
  std::uint64_t size = 0;  // bytes this reply took on the wire

  bool is_error() const noexcept { return type == Type::error; }
};

enum class ReadStatus : std::uint8_t { ok, need_more, failed };

class RespReader {
 public:
  explicit RespReader(RespLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);
  ReadStatus next(Reply& out);
  // One line up to '\n' without its "\r\n" (the handshake reads replies so); an empty line is a
  // keep-alive newline.
  ReadStatus next_line(std::string& out, std::uint64_t& size);
  // Moves out the bytes not consumed yet, for the next stage.
  std::string take_buffered();
  std::size_t buffered() const noexcept { return buf_.size() - head_; }
  const Error& error() const noexcept { return error_; }
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  ReadStatus parse(std::size_t& pos, Reply& out, int depth);
  ReadStatus fail(std::string message);

  RespLimits limits_;
  std::string buf_;
  std::size_t head_ = 0;
  std::uint64_t offset_ = 0;
  Error error_;
  bool failed_ = false;
};

// One command of the replication stream, or a bare newline (args empty).
struct StreamCommand {
  std::vector<std::string_view> args;  // into the reader's buffer, valid until the next call
  std::uint64_t size = 0;              // bytes on the wire
};

class CommandReader {
 public:
  explicit CommandReader(RespLimits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);
  ReadStatus next(StreamCommand& out);
  std::size_t buffered() const noexcept { return buf_.size() - head_; }
  const Error& error() const noexcept { return error_; }
  // Bytes consumed so far (commands and newlines), from the start of this reader.
  std::uint64_t consumed() const noexcept { return consumed_; }

 private:
  ReadStatus fail(std::string message, std::size_t at);

  RespLimits limits_;
  std::string buf_;
  std::size_t head_ = 0;
  std::size_t want_ = 0;  // bytes needed from head_ before the pending command can complete
  std::uint64_t consumed_ = 0;
  Error error_;
  bool failed_ = false;
};

}  // namespace redis_repl::core
