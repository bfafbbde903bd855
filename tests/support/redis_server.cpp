// RedisServer, RespClient and run_program: see redis_server.hpp.
#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace redis_repl::test {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int max_reply_depth = 64;

std::string errno_text(int e) { return std::strerror(e); }

[[noreturn]] void fail(const std::string& what) { throw HarnessError(what); }

[[noreturn]] void fail_errno(const std::string& what) {
  throw HarnessError(what + ": " + errno_text(errno));
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 60'000 ? 60'000 : static_cast<int>(left);
}

// Waits until fd is ready for events; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    if (errno != EINTR) fail_errno("poll");
  }
}

// A port that was free a moment ago: bind 127.0.0.1:0 and ask which port the kernel chose.
int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(fd);
    throw HarnessError("cannot pick a free loopback port: " + errno_text(e));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

const ServerKind* current_kind = nullptr;

}  // namespace

const ServerKind& current_server_kind() {
  if (current_kind == nullptr)
    fail("no server kind chosen: a test that starts a real server is a SERVER_TEST_CASE");
  return *current_kind;
}

ServerKindScope::ServerKindScope(const ServerKind& kind) : previous_(current_kind) {
  current_kind = &kind;
}

ServerKindScope::~ServerKindScope() { current_kind = previous_; }

// The program to execute: a path as it is, a bare name searched in PATH.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

namespace {

// Starts program with the given standard streams (fds in the parent; -1: /dev/null). The child
// dies with the parent (Linux) so that a crashed test leaves nothing behind.
pid_t spawn(const std::string& program, const std::vector<std::string>& argv, int out_fd,
            int err_fd, int death_signal) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) fail_errno("open /dev/null");
  int status_pipe[2];  // the child writes errno here if exec fails; closed by a successful exec
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(null_fd);
    throw HarnessError("pipe: " + errno_text(e));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(null_fd);
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    throw HarnessError("fork: " + errno_text(e));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
#ifdef __linux__
    ::prctl(PR_SET_PDEATHSIG, death_signal);
    if (::getppid() != parent) ::_exit(127);
#else
    (void)death_signal;
    (void)parent;
#endif
    if (::dup2(null_fd, STDIN_FILENO) < 0 ||
        ::dup2(out_fd >= 0 ? out_fd : null_fd, STDOUT_FILENO) < 0 ||
        ::dup2(err_fd >= 0 ? err_fd : null_fd, STDERR_FILENO) < 0) {
      const int e = errno;
      (void)!::write(status_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    ::execv(program.c_str(), args.data());
    const int e = errno;
    (void)!::write(status_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(null_fd);
  ::close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw HarnessError("cannot execute '" + program + "': " + errno_text(child_errno));
  }
  return pid;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// waitpid with a bounded wait: true when the child was reaped (status set, and *usage when given).
bool wait_child(pid_t pid, int& status, milliseconds timeout, rusage* usage = nullptr) {
  const auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    const pid_t r = ::wait4(pid, &status, WNOHANG, usage);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;  // not our child any more: nothing to wait for
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    if (pause < milliseconds(10)) pause *= 2;
  }
}

std::string read_file_tail(const fs::path& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > max_bytes) text.erase(0, text.size() - max_bytes);
  return text;
}

void append_escaped(std::string& out, std::string_view bytes, std::size_t max_bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  const std::size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (n < bytes.size()) out += "...(" + std::to_string(bytes.size()) + " bytes)";
}

void describe_into(std::string& out, const Reply& r, std::size_t max_string) {
  switch (r.type) {
    case Reply::Type::simple:
      out += r.str;
      break;
    case Reply::Type::error:
      out += "(error) " + r.str;
      break;
    case Reply::Type::integer:
      out += "(integer) " + std::to_string(r.integer);
      break;
    case Reply::Type::bulk:
      out.push_back('"');
      append_escaped(out, r.str, max_string);
      out.push_back('"');
      break;
    case Reply::Type::nil:
      out += "(nil)";
      break;
    case Reply::Type::array:
      out.push_back('[');
      for (std::size_t i = 0; i < r.elements.size(); ++i) {
        if (i) out += ", ";
        describe_into(out, r.elements[i], max_string);
      }
      out.push_back(']');
      break;
  }
}

std::int64_t parse_int(std::string_view s) {
  if (s.empty()) fail("RESP: empty number");
  bool negative = false;
  std::size_t i = 0;
  if (s[0] == '-') {
    negative = true;
    i = 1;
  }
  if (i == s.size()) fail("RESP: bad number");
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') fail("RESP: bad number '" + std::string(s) + "'");
    v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
  }
  return negative ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
}

}  // namespace

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Replies and commands

std::string Reply::describe(std::size_t max_string) const {
  std::string out;
  describe_into(out, *this, max_string);
  return out;
}

std::string quote_bytes(std::string_view bytes, std::size_t max_bytes) {
  std::string out = "\"";
  append_escaped(out, bytes, max_bytes);
  out.push_back('"');
  return out;
}

std::string encode_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// RespClient

RespClient::RespClient(int port, milliseconds timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) fail_errno("socket");
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const sockaddr_in a = loopback(port);
  const auto deadline = Clock::now() + timeout_;
  const std::string where = "connect to 127.0.0.1:" + std::to_string(port);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS) {
      const int e = errno;
      ::close(fd_);
      fd_ = -1;
      throw HarnessError(where + ": " + errno_text(e));
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (!wait_fd(fd_, POLLOUT, deadline)) {
      err = ETIMEDOUT;
    } else if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    if (err != 0) {
      ::close(fd_);
      fd_ = -1;
      throw HarnessError(where + ": " + errno_text(err));
    }
  }
}

RespClient::~RespClient() {
  if (fd_ >= 0) ::close(fd_);
}

RespClient::RespClient(RespClient&& other) noexcept
    : fd_(other.fd_), timeout_(other.timeout_), in_(std::move(other.in_)), pos_(other.pos_) {
  other.fd_ = -1;
}

RespClient& RespClient::operator=(RespClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    timeout_ = other.timeout_;
    in_ = std::move(other.in_);
    pos_ = other.pos_;
    other.fd_ = -1;
  }
  return *this;
}

void RespClient::send_raw(std::string_view bytes) {
  if (fd_ < 0) fail("RESP client: not connected");
  const auto deadline = Clock::now() + timeout_;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(fd_, POLLOUT, deadline))
        fail("RESP client: send timed out after " + std::to_string(timeout_.count()) + " ms");
      continue;
    }
    fail_errno("RESP client: send");
  }
}

void RespClient::fill(Clock::time_point deadline) {
  if (pos_ > 0 && pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20)) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      return;
    }
    if (n == 0) fail("RESP client: connection closed by the server");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_fd(fd_, POLLIN, deadline))
        fail("RESP client: no reply within " + std::to_string(timeout_.count()) + " ms");
      continue;
    }
    fail_errno("RESP client: recv");
  }
}

std::string RespClient::read_line(Clock::time_point deadline) {
  for (;;) {
    const std::size_t end = in_.find("\r\n", pos_);
    if (end != std::string::npos) {
      std::string line = in_.substr(pos_, end - pos_);
      pos_ = end + 2;
      return line;
    }
    fill(deadline);
  }
}

Reply RespClient::parse(Clock::time_point deadline, int depth) {
  if (depth > max_reply_depth) fail("RESP: replies nested too deeply");
  const std::string line = read_line(deadline);
  if (line.empty()) fail("RESP: empty line where a reply was expected");
  Reply r;
  const std::string_view rest = std::string_view(line).substr(1);
  switch (line[0]) {
    case '+':
      r.type = Reply::Type::simple;
      r.str = rest;
      return r;
    case '-':
      r.type = Reply::Type::error;
      r.str = rest;
      return r;
    case ':':
      r.type = Reply::Type::integer;
      r.integer = parse_int(rest);
      return r;
    case '$': {
      const std::int64_t len = parse_int(rest);
      if (len < 0) return r;  // nil
      const auto n = static_cast<std::size_t>(len);
      while (in_.size() - pos_ < n + 2) fill(deadline);
      if (in_.compare(pos_ + n, 2, "\r\n") != 0) fail("RESP: bulk string not ended by CRLF");
      r.type = Reply::Type::bulk;
      r.str = in_.substr(pos_, n);
      pos_ += n + 2;
      return r;
    }
    case '*': {
      const std::int64_t count = parse_int(rest);
      if (count < 0) return r;  // nil
      r.type = Reply::Type::array;
      r.elements.reserve(static_cast<std::size_t>(count < 4096 ? count : 4096));
      for (std::int64_t i = 0; i < count; ++i) r.elements.push_back(parse(deadline, depth + 1));
      return r;
    }
    default:
      fail("RESP: unexpected reply type byte " + quote_bytes(line.substr(0, 1)));
  }
}

Reply RespClient::read_reply() {
  if (fd_ < 0) fail("RESP client: not connected");
  return parse(Clock::now() + timeout_, 0);
}

Reply RespClient::command(const std::vector<std::string>& args) {
  send_raw(encode_command(args));
  return read_reply();
}

std::vector<Reply> RespClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
  // In slices, so that neither side's socket buffers can fill up while the other waits.
  constexpr std::size_t slice = 512;
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); i += slice) {
    const std::size_t end = i + slice < commands.size() ? i + slice : commands.size();
    std::string out;
    for (std::size_t j = i; j < end; ++j) out += encode_command(commands[j]);
    send_raw(out);
    for (std::size_t j = i; j < end; ++j) replies.push_back(read_reply());
  }
  return replies;
}

// ---------------------------------------------------------------------------------------------
// RedisServer

RedisServer::RedisServer(ServerOptions options) {
  if (options.executable.empty()) {
    const ServerKind& kind = current_server_kind();
    options.executable = kind.server;
    if (find_program(options.executable).empty())
      fail("'" + options.executable + "' was not found in PATH (" + std::string(kind.packages) +
           ")");
  }
  if (find_program(options.executable).empty())
    fail("'" + options.executable + "' was not found in PATH");
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/redis-repl-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) fail_errno("mkdtemp '" + templ + "'");
  dir_ = templ;
  try {
    if (!options.rdb_file.empty()) {
      std::error_code ec;
      fs::copy_file(options.rdb_file, dir_ / "load.rdb", ec);
      if (ec) fail("cannot copy '" + options.rdb_file.string() + "': " + ec.message());
    }
    std::string failure;
    constexpr int attempts = 5;
    for (int i = 0; i < attempts; ++i) {
      if (start_once(options, failure)) return;
      // Only a port taken between choosing it and the server binding it is worth a retry.
      if (failure.find("Address already in use") == std::string::npos) break;
    }
    fail(failure);
  } catch (...) {
    stop();
    throw;
  }
}

RedisServer::~RedisServer() { stop(); }

bool RedisServer::start_once(const ServerOptions& options, std::string& failure) {
  port_ = pick_free_port();
  const fs::path log = dir_ / "server.log";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) fail_errno("open '" + log.string() + "'");

  std::vector<std::string> argv = {options.executable, "--save", "", "--appendonly", "no",
                                   "--daemonize",      "no"};
  if (!options.rdb_file.empty()) {
    argv.push_back("--dbfilename");
    argv.push_back("load.rdb");
  }
  if (options.unix_socket) {
    unix_socket_ = dir_ / "redis.sock";
    for (const std::string& a : {std::string("--unixsocket"), unix_socket_.string(),
                                 std::string("--unixsocketperm"), std::string("700")})
      argv.push_back(a);
  }
  if (options.tls) {
    tls_port_ = pick_free_port();
    const TlsFiles& t = *options.tls;
    for (const std::string& a :
         {std::string("--tls-port"), std::to_string(tls_port_), std::string("--tls-cert-file"),
          t.cert.string(), std::string("--tls-key-file"), t.key.string(),
          std::string("--tls-ca-cert-file"), t.ca.string(), std::string("--tls-auth-clients"),
          std::string(t.auth_clients ? "yes" : "no"), std::string("--tls-replication"),
          std::string(t.replication ? "yes" : "no")})
      argv.push_back(a);
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  for (const char* a : {"--bind", "127.0.0.1", "--port"}) argv.emplace_back(a);
  argv.push_back(std::to_string(port_));
  argv.push_back("--dir");
  argv.push_back(dir_.string());

  try {
    pid_ = spawn(find_program(options.executable), argv, log_fd, log_fd, SIGTERM);
  } catch (...) {
    ::close(log_fd);
    throw;
  }
  ::close(log_fd);

  const std::string name = options.executable + " on 127.0.0.1:" + std::to_string(port_);
  const auto deadline = Clock::now() + options.start_timeout;
  std::string last_problem = "no answer";
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      failure = name + " exited during start-up (status " + std::to_string(exit_code_of(status)) +
                "); its log ends with:\n" + log_tail();
      return false;
    }
    try {
      RespClient c(port_, milliseconds(500));
      const Reply pong = c.command({"PING"});
      if (pong.type == Reply::Type::simple && pong.str == "PONG") {
        // Our server, not another one that took the port first; and done loading.
        const Reply info = c.command({"INFO"});
        if (info.type != Reply::Type::bulk ||
            info.str.find("\r\nprocess_id:" + std::to_string(pid_) + "\r\n") == std::string::npos) {
          last_problem = "another process answers on the port";
        } else if (info.str.find("\r\nloading:0\r\n") != std::string::npos) {
          return true;
        } else {
          last_problem = "still loading";
        }
      } else {
        last_problem = "PING answered " + pong.describe();
      }
    } catch (const HarnessError& e) {
      last_problem = e.what();
    }
    if (Clock::now() >= deadline) {
      failure = name + " not ready after " + std::to_string(options.start_timeout.count()) +
                " ms (" + last_problem + "); its log ends with:\n" + log_tail();
      ::kill(pid_, SIGKILL);
      int ignored = 0;
      wait_child(pid_, ignored, milliseconds(5000));
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
}

std::string RedisServer::log_tail(std::size_t max_bytes) const {
  if (dir_.empty()) return {};
  return read_file_tail(dir_ / "server.log", max_bytes);
}

void RedisServer::request_stop() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
}

void RedisServer::stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (!wait_child(pid_, status, milliseconds(5000))) {
      ::kill(pid_, SIGKILL);
      wait_child(pid_, status, milliseconds(5000));
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// run_program

int read_ready_pipes(pollfd (&fds)[2], const std::function<void(int, std::string_view)>& sink) {
  char buf[65536];
  int closed = 0;
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
    if (n > 0) {
      sink(i, std::string_view(buf, static_cast<std::size_t>(n)));
    } else if (n == 0 || errno != EINTR) {
      ::close(fds[i].fd);
      fds[i].fd = -1;
      ++closed;
    }
  }
  return closed;
}

ProgramResult run_program(const std::vector<std::string>& argv, milliseconds timeout) {
  if (argv.empty()) fail("run_program: no program");
  const std::string program = find_program(argv[0]);
  if (program.empty()) fail("'" + argv[0] + "' was not found in PATH");
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) fail_errno("pipe");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw HarnessError("pipe: " + errno_text(e));
  }
  pid_t pid;
  try {
    pid = spawn(program, argv, out_pipe[1], err_pipe[1], SIGKILL);
  } catch (...) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    throw;
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  ProgramResult result;
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  bool timed_out = false;
  while (open_count > 0) {
    const int r = ::poll(fds, 2, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 && Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    open_count -=
        read_ready_pipes(fds, [&](int i, std::string_view bytes) { sinks[i]->append(bytes); });
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  rusage usage{};
  if (!wait_child(pid, status, timed_out ? milliseconds(5000) : timeout, &usage)) {
    ::kill(pid, SIGKILL);
    wait_child(pid, status, milliseconds(5000));
    timed_out = true;
  }
  if (timed_out)
    fail("'" + argv[0] + "' did not finish within " + std::to_string(timeout.count()) + " ms");
  result.exit_code = exit_code_of(status);
  result.max_rss_kb = usage.ru_maxrss;
  return result;
}

}  // namespace redis_repl::test
