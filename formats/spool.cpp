#include "formats/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace redis_repl::formats {

bool Spool::failed(const char* doing) {
  errno_ = errno;
  what_ = std::string(doing) + " a temporary file for a long value: " + std::strerror(errno_);
  return false;
}

bool Spool::open(const std::string& in) {
  close();
  errno_ = 0;
  what_.clear();
  const char* env = std::getenv("TMPDIR");
  const std::string dir = !in.empty() ? in : env && *env ? env : "/tmp";
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // No O_TMPFILE on this file system: a named file, unlinked before anything is written.
    std::string name = dir + "/redis-repl-XXXXXX";
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(name.c_str());
  }
  if (fd_ < 0) return failed("cannot create");
  return true;
}

bool Spool::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(size_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failed("cannot write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    size_ += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool Spool::rewind() {
  if (::lseek(fd_, 0, SEEK_SET) != 0) return failed("cannot read back");
  return true;
}

bool Spool::read(std::string& block, std::size_t max) {
  block.resize(max);
  for (;;) {
    const ssize_t n = ::read(fd_, block.data(), max);
    if (n < 0) {
      if (errno == EINTR) continue;
      block.clear();
      return failed("cannot read back");
    }
    block.resize(static_cast<std::size_t>(n));
    return n > 0;
  }
}

bool Spool::peek(std::string& block, std::size_t max) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(max, queued()));
  block.resize(n);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t k = ::pread(fd_, block.data() + got, n - got, static_cast<off_t>(front_ + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      block.clear();
      if (k == 0) errno = EIO;
      return failed("cannot read back");
    }
    got += static_cast<std::size_t>(k);
  }
  return true;
}

void Spool::pop(std::uint64_t n) {
  front_ += std::min(n, queued());
  if (front_ == size_) {  // drained: give the space back
    if (::ftruncate(fd_, 0) == 0) front_ = size_ = 0;
  }
}

void Spool::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = front_ = 0;
}

}  // namespace redis_repl::formats
