#include "formats/out_buffer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "formats/spool.hpp"

namespace redis_repl::formats {

OutBuffer::~OutBuffer() {
  if (saved_flags_ >= 0) ::fcntl(fd_, F_SETFL, saved_flags_);
}

bool OutBuffer::spool_to(const std::string& dir, std::uint64_t max) {
  struct stat st {};
  if (target_ || max == 0 || ::fstat(fd_, &st) != 0 ||
      !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
    return false;
  spool_ = std::make_unique<Spool>();
  if (!spool_->open(dir)) {
    fail(spool_->error(), spool_->what());
    spool_.reset();
    return false;
  }
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
    spool_.reset();
    return false;
  }
  saved_flags_ = flags;
  spool_max_ = max;
  return true;
}

std::uint64_t OutBuffer::spooled() const noexcept { return spool_ ? spool_->queued() : 0; }

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
  if (spooled() > 0) {
    off = buf_.size();  // behind what waits already: into the spool, in order
    if (!spool_->write(buf_)) fail(spool_->error(), spool_->what());
  }
  while (off < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && spool_) {
        // The reader is behind: the rest waits in the spool.
        if (!spool_->write(std::string_view(buf_).substr(off)))
          fail(spool_->error(), spool_->what());
        break;
      }
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
  drain();
  if (spooled() > spool_max_) {
    // Over the bound: wait for the reader, as without a spool (the master decides the rest).
    drain(true, [this] { return spooled() <= spool_max_ / 2; });
  }
  return ok();
}

void OutBuffer::drain(bool wait, const std::function<bool()>& give_up) {
  while (spooled() > 0 && ok()) {
    if (!spool_->peek(block_buf_, 1 << 20)) {
      fail(spool_->error(), spool_->what());
      return;
    }
    const ssize_t n = ::write(fd_, block_buf_.data(), block_buf_.size());
    if (n > 0) {
      spool_->pop(static_cast<std::uint64_t>(n));
      written_ += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      if (give_up && give_up()) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait || (give_up && give_up())) return;
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    if (n < 0 && errno == EPIPE) {
      closed_ = true;
    } else {
      errno_ = n < 0 ? errno : 5;
    }
    return;
  }
}

std::string OutBuffer::failure() const {
  if (!what_.empty()) return what_;
  return std::string("write to standard output: ") + std::strerror(errno_);
}

}  // namespace redis_repl::formats
