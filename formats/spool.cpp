#include "formats/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace redis_repl::formats {

bool Spool::failed(const char* doing) {
  errno_ = errno;
  what_ = std::string(doing) + " a temporary file for a long value: " + std::strerror(errno_);
  return false;
}

bool Spool::open() {
  close();
  errno_ = 0;
  what_.clear();
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env && *env ? env : "/tmp";
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
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
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

void Spool::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

}  // namespace redis_repl::formats
