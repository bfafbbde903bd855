// formats/spool.hpp — a private temporary file for bytes that must wait or be read twice.
//
// JSON must know whether a byte string is valid UTF-8 before writing its first byte, so a value
// too long to hold in memory is written here while it is checked, then read back to be written
// out. tail's output waits here while a slow reader catches up (a queue: append at the end, read
// from the front). The file is anonymous where the system allows (O_TMPFILE), otherwise unlinked at
// once: mode 0600, in $TMPDIR (else /tmp), never visible to another user, gone when closed.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace redis_repl::formats {

class Spool {
 public:
  Spool() = default;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;
  ~Spool() { close(); }

  // Starts empty, in dir (empty: $TMPDIR, else /tmp). False (see error()) when no temporary
  // file can be made.
  bool open(const std::string& dir = {});
  bool write(std::string_view bytes);
  // Reads what was written, from the start, one block at a time into block; false at the end
  // or on an error.
  bool rewind();
  bool read(std::string& block, std::size_t max = 1 << 20);
  void close();
  bool is_open() const noexcept { return fd_ >= 0; }
  // As a queue: bytes [0, size()) were appended by write(); those before front() are gone.
  std::uint64_t front() const noexcept { return front_; }
  std::uint64_t queued() const noexcept { return size_ - front_; }
  // Up to max bytes from front() into block (without taking them); false on an error.
  bool peek(std::string& block, std::size_t max);
  // The first n queued bytes are gone; when none are left the file is emptied.
  void pop(std::uint64_t n);
  // errno and a description of the last failure, 0 and empty if none.
  int error() const noexcept { return errno_; }
  const std::string& what() const noexcept { return what_; }
  std::uint64_t size() const noexcept { return size_; }

 private:
  bool failed(const char* doing);

  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t front_ = 0;
  int errno_ = 0;
  std::string what_;
};

}  // namespace redis_repl::formats
