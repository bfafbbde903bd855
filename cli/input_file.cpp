#include "cli/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"

namespace redis_repl::cli {

InputFile::InputFile(const std::string& path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    name_ = "stdin";
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Fatal(ExitCode::io, "cannot open '" + path + "': " + std::strerror(errno));
    owned_ = true;
    name_ = path;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (owned_) ::close(fd_);
      throw Fatal(ExitCode::io, "'" + path + "' is a directory");
    }
    if (S_ISREG(st.st_mode)) size_ = static_cast<std::uint64_t>(st.st_size);
  }
}

InputFile::~InputFile() {
  if (owned_) ::close(fd_);
}

long InputFile::read(char* buf, std::size_t n) {
  for (;;) {
    const ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<long>(r);
    if (errno == EINTR) {
      if (caught_signal()) return -1;
      continue;
    }
    throw Fatal(ExitCode::io, "read '" + name_ + "': " + std::strerror(errno));
  }
}

}  // namespace redis_repl::cli
