#include "formats/out_buffer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace redis_repl::formats {

bool OutBuffer::flush() {
  if (!ok()) {
    buf_.clear();
    return false;
  }
  if (target_) {
    target_->append(buf_);
    written_ += buf_.size();
    buf_.clear();
    return true;
  }
  std::size_t off = 0;
  while (off < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        closed_ = true;
      } else {
        errno_ = errno;
      }
      buf_.clear();
      return false;
    }
    off += static_cast<std::size_t>(n);
    written_ += static_cast<std::uint64_t>(n);
  }
  buf_.clear();
  return true;
}

std::string OutBuffer::failure() const {
  if (!what_.empty()) return what_;
  return std::string("write to standard output: ") + std::strerror(errno_);
}

}  // namespace redis_repl::formats
