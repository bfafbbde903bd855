// core/rdb_packed.hpp — readers over one complete compact blob: listpack, ziplist, intset, zipmap.
//
// Each reader walks a blob the RDB parser has fully read, bounds-checks every entry against the
// blob and its own headers, and hands out entries one by one. A string entry's view points into
// the blob; integer entries come out as numbers (callers render them as text where a Redis string
// is meant). Errors are static messages; the caller adds the offset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace redis_repl::core {

struct PackedItem {
  std::string_view str;
  std::int64_t num = 0;
  bool is_int = false;
};

enum class Next : std::uint8_t { item, end, error };

class ListpackReader {
 public:
  const char* open(std::string_view blob) noexcept;  // nullptr when the header is sound
  Next next(PackedItem& out) noexcept;
  const char* error() const noexcept { return error_; }
  std::size_t count() const noexcept { return seen_; }

 private:
  Next fail(const char* msg) noexcept {
    error_ = msg;
    return Next::error;
  }
  std::string_view blob_;
  std::size_t pos_ = 0;
  std::size_t seen_ = 0;
  std::uint32_t declared_ = 0;
  const char* error_ = nullptr;
};

class ZiplistReader {
 public:
  const char* open(std::string_view blob) noexcept;
  Next next(PackedItem& out) noexcept;
  const char* error() const noexcept { return error_; }
  std::size_t count() const noexcept { return seen_; }

 private:
  Next fail(const char* msg) noexcept {
    error_ = msg;
    return Next::error;
  }
  std::string_view blob_;
  std::size_t pos_ = 0;
  std::size_t prev_size_ = 0;
  std::size_t seen_ = 0;
  std::uint32_t declared_ = 0;
  const char* error_ = nullptr;
};

class IntsetReader {
 public:
  const char* open(std::string_view blob) noexcept;
  Next next(PackedItem& out) noexcept;
  const char* error() const noexcept { return error_; }

 private:
  std::string_view blob_;
  std::size_t width_ = 0;
  std::size_t left_ = 0;
  std::size_t pos_ = 0;
  bool have_prev_ = false;
  std::int64_t prev_ = 0;
  const char* error_ = nullptr;
};

// Yields key, value, key, value, ...
class ZipmapReader {
 public:
  const char* open(std::string_view blob) noexcept;
  Next next(PackedItem& out) noexcept;
  const char* error() const noexcept { return error_; }

 private:
  Next fail(const char* msg) noexcept {
    error_ = msg;
    return Next::error;
  }
  bool read_len(std::size_t& len) noexcept;
  std::string_view blob_;
  std::size_t pos_ = 0;
  bool want_value_ = false;
  std::size_t pairs_ = 0;
  const char* error_ = nullptr;
};

}  // namespace redis_repl::core
