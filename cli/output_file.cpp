#include "cli/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"

namespace redis_repl::cli {
namespace {

std::string quoted(std::string_view what, const std::string& path) {
  return std::string(what) + " '" + path + "'";
}

[[noreturn]] void refuse(std::string_view what, const std::string& path, const std::string& why) {
  throw Fatal(ExitCode::io, "cannot write " + quoted(what, path) + ": " + why);
}

// A new file beside path, never one that exists (O_EXCL: nor a link planted under its name).
int create_temporary(const std::string& path, std::string_view what, std::string& tmp) {
  static unsigned counter = 0;
  for (int attempt = 0;; ++attempt) {
    tmp = path + ".redis-repl-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
          ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EEXIST || attempt >= 100)
      throw Fatal(ExitCode::io, "cannot create a temporary file beside " + quoted(what, path) +
                                    ": " + std::strerror(errno));
  }
}

}  // namespace

OutputKind classify_output(const std::string& path, std::string_view what, bool dash_is_stdout) {
  if (dash_is_stdout && path == "-") return OutputKind::standard_output;
  if (path.empty()) refuse(what, path, "the path is empty");
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return OutputKind::replace;  // a new file: the directory is checked later
    refuse(what, path, std::strerror(errno));
  }
  if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return OutputKind::replace;
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return OutputKind::stream;
  if (S_ISDIR(st.st_mode)) refuse(what, path, "it is a directory");
  if (S_ISBLK(st.st_mode)) refuse(what, path, "it is a block device, never written over");
  refuse(what, path, S_ISSOCK(st.st_mode) ? "it is a socket" : "it is not a file");
}

void check_output_writable(const std::string& path, std::string_view what, bool dash_is_stdout) {
  if (classify_output(path, what, dash_is_stdout) != OutputKind::replace) return;
  std::string tmp;
  ::close(create_temporary(path, what, tmp));
  ::unlink(tmp.c_str());
}

OutputFile::OutputFile(std::string path, std::string what, bool dash_is_stdout)
    : path_(std::move(path)),
      what_(std::move(what)),
      kind_(classify_output(path_, what_, dash_is_stdout)) {
  switch (kind_) {
    case OutputKind::standard_output:
      fd_ = STDOUT_FILENO;
      return;
    case OutputKind::replace:
      fd_ = create_temporary(path_, what_, tmp_);
      owned_ = true;
      return;
    case OutputKind::stream:
      break;
  }
  // A FIFO waits here for its reader, as a shell redirection does; O_NOFOLLOW: a link swapped in
  // since classify_output() is not followed.
  for (;;) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ >= 0) break;
    if (errno == EINTR && caught_signal() == 0) continue;
    if (errno == EINTR) throw Fatal(static_cast<ExitCode>(128 + caught_signal()), "interrupted");
    refuse(what_, path_, std::strerror(errno));
  }
  owned_ = true;
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
    ::close(fd_);
    fd_ = -1;
    owned_ = false;
    refuse(what_, path_, "it changed while being opened");
  }
}

OutputFile::~OutputFile() {
  if (owned_) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void OutputFile::write(std::string_view bytes) {
  while (!bytes.empty() && errno_ == 0) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      errno_ = errno;
      break;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    written_ += static_cast<std::uint64_t>(n);
  }
}

bool OutputFile::closed_pipe() const { return errno_ == EPIPE && kind_ != OutputKind::replace; }

std::string OutputFile::error() const {
  const std::string where =
      kind_ == OutputKind::standard_output ? std::string("standard output") : quoted(what_, path_);
  return "write to " + where + ": " + std::strerror(errno_);
}

void OutputFile::commit(bool sync) {
  if (failed()) throw Fatal(ExitCode::io, error());
  if (kind_ == OutputKind::standard_output) return;
  if (kind_ == OutputKind::stream) {
    owned_ = false;
    if (::close(fd_) != 0 && errno != EINTR) {
      errno_ = errno;
      throw Fatal(ExitCode::io, error());
    }
    return;
  }
  if (tmp_.empty()) return;  // committed already
  owned_ = false;
  const int synced = !sync || ::fsync(fd_) == 0 ? 0 : errno;
  const int closed = ::close(fd_) == 0 ? 0 : errno;
  if (synced != 0 || closed != 0) {
    errno_ = synced != 0 ? synced : closed;
    throw Fatal(ExitCode::io, error());
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw Fatal(ExitCode::io,
                "cannot rename '" + tmp_ + "' to '" + path_ + "': " + std::strerror(errno));
  tmp_.clear();
}

void write_whole_file(const std::string& path, std::string_view what, std::string_view bytes,
                      bool sync) {
  OutputFile f(path, std::string(what), false);
  f.write(bytes);
  f.commit(sync);
}

}  // namespace redis_repl::cli
