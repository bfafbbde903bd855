// formats/out_buffer.hpp — where formatted output goes: a file descriptor written in large blocks,
// or a string (tests).
//
// Writers append to buffer() and call line_done() after each line; the block goes out when it is
// full (or after every line in line mode, for tail). A reader that closes the pipe (EPIPE) makes
// closed() true: that is a normal end, not an error. Any other write failure is kept in error().
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "formats/spool.hpp"

namespace redis_repl::formats {

class OutBuffer {
 public:
  explicit OutBuffer(int fd, std::size_t block = 1 << 20) : fd_(fd), block_(block) {
    buf_.reserve(block + 4096);
  }
  explicit OutBuffer(std::string* target) : target_(target), block_(1 << 16) {}
  ~OutBuffer();
  OutBuffer(const OutBuffer&) = delete;
  OutBuffer& operator=(const OutBuffer&) = delete;

  // A reader that cannot keep up (a pipe or a socket): what it does not take at once waits in a
  // spool file in dir (empty: $TMPDIR), in order, and is written as it takes more (drain()). Past
  // max bytes waiting, writing blocks again until the spool is below it. The descriptor is made
  // non-blocking, and restored on destruction. False when the output is something else (a
  // terminal, a file): nothing changes. A spool that cannot be made fails the output.
  bool spool_to(const std::string& dir, std::uint64_t max);
  // Writes what the reader takes now from the spool; with wait, until it is empty or give_up()
  // says so (checked every 100 ms while the reader takes nothing).
  void drain(bool wait = false, const std::function<bool()>& give_up = {});
  std::uint64_t spooled() const noexcept;
  // Bytes handed to the output so far: written, spooled or buffered.
  std::uint64_t produced() const noexcept { return written_ + spooled() + buf_.size(); }

  std::string& buffer() noexcept { return buf_; }
  void line_done() {
    if (line_mode_ || buf_.size() >= block_) flush();
  }
  // Writes what is buffered, partial line included. False once closed or failed.
  bool flush();

  void set_line_mode(bool on) noexcept { line_mode_ = on; }
  bool line_mode() const noexcept { return line_mode_; }
  bool closed() const noexcept { return closed_; }  // the reader went away (EPIPE)
  // The reader went away, seen before any write failed (poll on a pipe).
  void mark_closed() noexcept { closed_ = true; }
  int error() const noexcept { return errno_; }  // errno of a failed write, 0 if none
  // Something the output depends on failed (a temporary file for a long value): the output
  // ends as after a failed write, with this description.
  void fail(int err, std::string what) {
    errno_ = err ? err : 5;  // EIO
    what_ = std::move(what);
  }
  // The failure as one line, for error messages.
  std::string failure() const;
  bool ok() const noexcept { return !closed_ && errno_ == 0; }
  std::uint64_t written() const noexcept { return written_; }  // reached the descriptor

 private:
  int fd_ = -1;
  std::string* target_ = nullptr;
  std::size_t block_;
  std::string buf_;
  bool line_mode_ = false;
  bool closed_ = false;
  int errno_ = 0;
  std::string what_;
  std::unique_ptr<Spool> spool_;
  std::uint64_t spool_max_ = 0;
  int saved_flags_ = -1;  // the descriptor's flags before spool_to()
  std::string block_buf_;
  std::uint64_t written_ = 0;
};

}  // namespace redis_repl::formats
