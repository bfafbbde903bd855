// BackgroundProcess: see background_process.hpp.
#include "support/background_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstring>

#include "support/redis_server.hpp"

extern char** environ;

namespace redis_repl::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string errno_text(int e) { return std::strerror(e); }

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string tail_of(const std::string& s, std::size_t n) {
  return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

// The environment for the child: ours, less REDISCLI_AUTH and the names in env, plus env's sets.
std::vector<std::string> child_environment(const BackgroundProcess::Env& env) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = name == "REDISCLI_AUTH";
    for (const auto& [n, v] : env) replaced = replaced || name == n;
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [n, v] : env)
    if (v) out.push_back(n + "=" + *v);
  return out;
}

}  // namespace

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const Env& env) {
  if (argv.empty()) throw HarnessError("BackgroundProcess: no program");
  name_ = argv[0];
  const std::size_t slash = name_.rfind('/');
  if (slash != std::string::npos) name_.erase(0, slash + 1);
  for (std::size_t i = 1; i < argv.size() && i < 3; ++i) name_ += " " + argv[i];

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> environment = child_environment(env);
  std::vector<char*> envp;
  for (const std::string& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2], status_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw HarnessError("pipe: " + errno_text(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw HarnessError("pipe: " + errno_text(e));
  }
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    throw HarnessError("pipe: " + errno_text(e));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = null_fd < 0 ? -1 : ::fork();
  if (pid == 0) {
#ifdef __linux__
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
#else
    (void)parent;
#endif
    // The test may have signals blocked or ignored in this thread: the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        ::dup2(err_pipe[1], STDERR_FILENO) < 0) {
      const int e = errno;
      (void)!::write(status_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    ::execve(args[0], args.data(), envp.data());
    const int e = errno;
    (void)!::write(status_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  const int fork_errno = errno;
  if (null_fd >= 0) ::close(null_fd);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(status_pipe[1]);
  if (pid < 0) {
    for (int fd : {out_pipe[0], err_pipe[0], status_pipe[0]}) ::close(fd);
    throw HarnessError("fork: " + errno_text(fork_errno));
  }
  pid_ = pid;
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n > 0) {
    reap(milliseconds(5000));
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw HarnessError("cannot execute '" + argv[0] + "': " + errno_text(child_errno));
  }
  thread_ = std::thread([this, o = out_pipe[0], e = err_pipe[0]] { reader(o, e); });
}

BackgroundProcess::~BackgroundProcess() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(milliseconds(5000));
  }
  // The pipes close with the process; the reader also gives up on its own after a while.
  if (thread_.joinable()) thread_.join();
}

void BackgroundProcess::reader(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_count = 2;
  // Bounded even if a pipe stays open after the process is gone (a grandchild holding it).
  Clock::time_point gone_at{};
  while (open_count > 0) {
    const int r = ::poll(fds, 2, 100);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) {
      std::lock_guard lock(mutex_);
      if (exit_code_) {
        if (gone_at == Clock::time_point{}) gone_at = Clock::now();
        if (Clock::now() - gone_at > milliseconds(2000)) break;
      }
      continue;
    }
    open_count -= read_ready_pipes(fds, [&](int i, std::string_view bytes) {
      std::lock_guard lock(mutex_);
      (i == 0 ? out_ : err_).append(bytes);
      changed_.notify_all();
    });
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  std::lock_guard lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

void BackgroundProcess::reap(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) {
      std::lock_guard lock(mutex_);
      exit_code_ = r == pid_ ? exit_code_of(status) : -1;
      changed_.notify_all();
      return;
    }
    if (Clock::now() >= deadline) return;
    std::this_thread::sleep_for(milliseconds(2));
  }
}

void BackgroundProcess::signal(int sig) {
  if (!exit_code_ && pid_ > 0) ::kill(pid_, sig);
}

int BackgroundProcess::wait(milliseconds timeout) {
  if (!exit_code_) reap(timeout);
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    reap(milliseconds(5000));
    throw HarnessError("'" + name_ + "' did not end within " + std::to_string(timeout.count()) +
                       " ms (killed); " + describe());
  }
  // Let the reader take in the last output (the pipes close with the process).
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, milliseconds(3000), [this] { return eof_; });
  return *exit_code_;
}

std::string BackgroundProcess::wait_for_line(const std::function<bool(std::string_view)>& pred,
                                             milliseconds timeout, std::string_view what,
                                             std::size_t from, std::size_t* index) {
  const auto deadline = Clock::now() + timeout;
  std::size_t pos = 0;  // bytes of out_ already split into lines
  std::size_t line_no = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    for (;;) {
      const std::size_t nl = out_.find('\n', pos);
      if (nl == std::string::npos) break;
      const std::string_view line(out_.data() + pos, nl - pos);
      pos = nl + 1;
      if (line_no++ >= from && pred(line)) {
        if (index) *index = line_no - 1;
        return std::string(line);
      }
    }
    if (eof_) break;
    if (Clock::now() >= deadline) break;
    // Polls the exit status too: a process that ended must not make us wait for the deadline.
    changed_.wait_for(lock, milliseconds(50));
  }
  const bool ended = eof_;
  lock.unlock();
  throw HarnessError("'" + name_ + "': " +
                     (ended ? "ended before printing "
                            : "no line within " + std::to_string(timeout.count()) + " ms: ") +
                     std::string(what) + "; " + describe());
}

std::vector<std::string> BackgroundProcess::lines() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t nl = out_.find('\n', pos);
    if (nl == std::string::npos) return out;
    out.emplace_back(out_, pos, nl - pos);
    pos = nl + 1;
  }
}

std::string BackgroundProcess::out() const {
  std::lock_guard lock(mutex_);
  return out_;
}

std::string BackgroundProcess::err() const {
  std::lock_guard lock(mutex_);
  return err_;
}

std::string BackgroundProcess::describe() const {
  std::lock_guard lock(mutex_);
  std::string s = "pid " + std::to_string(pid_);
  if (exit_code_) s += ", exit " + std::to_string(*exit_code_);
  s += "; stderr: " + (err_.empty() ? std::string("(none)") : tail_of(err_, 1500));
  s += "; stdout ends: " + (out_.empty() ? std::string("(none)") : tail_of(out_, 1500));
  return s;
}

}  // namespace redis_repl::test
