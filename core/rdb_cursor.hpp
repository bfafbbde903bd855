// core/rdb_cursor.hpp — internal to the RDB parser: the commit-on-success read cursor.
//
// A Cursor reads over the bytes available right now. Nothing is consumed until the parser has
// decoded a whole item; when a read does not fit, need() says how many bytes (from the item's
// start) the retry must wait for, so a large item is not re-decoded on every small feed.
#pragma once
#include <cstddef>
#include <string_view>

#include "core/rdb_parser.hpp"

namespace redis_repl::core {

class RdbParser::Cursor {
 public:
  Cursor(const char* data, std::size_t size) : data_(data), size_(size) {}

  bool take(std::size_t n, const char*& out) noexcept {
    if (size_ - pos_ < n) {
      need_ = pos_ + n;
      return false;
    }
    out = data_ + pos_;
    pos_ += n;
    return true;
  }
  bool u8(std::uint8_t& out) noexcept {
    const char* p;
    if (!take(1, p)) return false;
    out = static_cast<std::uint8_t>(*p);
    return true;
  }
  // What is available past the read position.
  std::string_view rest() const noexcept { return {data_ + pos_, size_ - pos_}; }
  std::size_t used() const noexcept { return pos_; }
  std::size_t need() const noexcept { return need_; }
  // Where the field being read starts, for error offsets.
  void set_mark() noexcept { mark_ = pos_; }
  void set_mark(std::size_t at) noexcept { mark_ = at; }
  std::size_t mark() const noexcept { return mark_; }
  // The bytes of the item so far.
  std::string_view consumed() const noexcept { return {data_, pos_}; }

 private:
  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::size_t need_ = 0;
  std::size_t mark_ = 0;
};

// Splits a module type id into its 9-character name (written into name_buf, 10 bytes) and its
// encoding version.
ModuleInfo decode_module_id(std::uint64_t id, char* name_buf) noexcept;

}  // namespace redis_repl::core
