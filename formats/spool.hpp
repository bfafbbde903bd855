// formats/spool.hpp — a private temporary file for a value that must be read twice.
//
// JSON must know whether a byte string is valid UTF-8 before writing its first byte, so a value
// too long to hold in memory is written here while it is checked, then read back to be written
// out. The file is anonymous where the system allows (O_TMPFILE), otherwise unlinked at once:
// mode 0600, in $TMPDIR (else /tmp), never visible to another user, gone when closed.
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

  // Starts empty. False (see error()) when no temporary file can be made.
  bool open();
  bool write(std::string_view bytes);
  // Reads what was written, from the start, one block at a time into block; false at the end
  // or on an error.
  bool rewind();
  bool read(std::string& block, std::size_t max = 1 << 20);
  void close();
  // errno and a description of the last failure, 0 and empty if none.
  int error() const noexcept { return errno_; }
  const std::string& what() const noexcept { return what_; }
  std::uint64_t size() const noexcept { return size_; }

 private:
  bool failed(const char* doing);

  int fd_ = -1;
  std::uint64_t size_ = 0;
  int errno_ = 0;
  std::string what_;
};

}  // namespace redis_repl::formats
