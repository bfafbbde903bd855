// FakeMaster: see fake_master.hpp.
#include "support/fake_master.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "support/redis_server.hpp"

namespace redis_repl::test {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for `events` on fd in slices, so a stopping helper is noticed; true when ready.
bool wait_ready(int fd, short events, Clock::time_point deadline, const std::atomic<bool>& stop) {
  for (;;) {
    if (stop) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 50)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

std::int64_t number(const std::string& s) {
  if (s.empty() || s.size() > 18 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw HarnessError("fake master: bad length " + quote_bytes(s));
  return std::stoll(s);
}

}  // namespace

bool FakeMaster::Link::fill(Clock::time_point deadline) {
  if (!wait_ready(fd_, POLLIN, deadline, stop_)) return false;
  char buf[4096];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  in_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::string FakeMaster::Link::line(Clock::time_point deadline) {
  for (;;) {
    const std::size_t nl = in_.find("\r\n");
    if (nl != std::string::npos) {
      std::string l = in_.substr(0, nl);
      in_.erase(0, nl + 2);
      return l;
    }
    if (!fill(deadline)) throw HarnessError("fake master: no complete line from the replica");
  }
}

std::vector<std::string> FakeMaster::Link::read_command(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string head = line(deadline);
  if (head.empty() || head[0] != '*')
    throw HarnessError("fake master: not a command: " + quote_bytes(head));
  std::vector<std::string> args(static_cast<std::size_t>(number(head.substr(1))));
  for (std::string& a : args) {
    const std::string len = line(deadline);
    if (len.empty() || len[0] != '$')
      throw HarnessError("fake master: not a bulk string: " + quote_bytes(len));
    const auto n = static_cast<std::size_t>(number(len.substr(1)));
    while (in_.size() < n + 2)
      if (!fill(deadline)) throw HarnessError("fake master: an argument cut short");
    a = in_.substr(0, n);
    in_.erase(0, n + 2);
  }
  return args;
}

bool FakeMaster::Link::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    if (!wait_ready(fd_, POLLOUT, deadline, stop_)) return false;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::vector<std::string> FakeMaster::Link::answer_handshake() {
  for (;;) {
    std::vector<std::string> c = read_command();
    std::string name = c.empty() ? "" : c[0];
    for (char& ch : name) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
    if (name == "PSYNC" || name == "SYNC") return c;
    if (!send(name == "PING" ? "+PONG\r\n" : "+OK\r\n"))
      throw HarnessError("fake master: the replica went away during the handshake");
  }
}

void FakeMaster::Link::drain() {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  in_.clear();
  while (fill(deadline)) in_.clear();
}

std::uint64_t FakeMaster::Link::flood(std::string_view chunk, std::chrono::milliseconds pause,
                                      std::uint64_t limit) {
  std::uint64_t sent = 0;
  while (sent < limit && send(chunk, std::chrono::milliseconds(2000))) {
    sent += chunk.size();
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  return sent;
}

FakeMaster::FakeMaster(Script script) : script_(std::move(script)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    throw HarnessError(std::string("fake master: socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 4) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(listen_fd_);
    throw HarnessError(std::string("fake master: cannot listen on 127.0.0.1: ") + std::strerror(e));
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

FakeMaster::Link::~Link() {
  if (owns_fd_) ::close(fd_);
}

std::unique_ptr<FakeMaster::Link> FakeMaster::accept_next(std::chrono::milliseconds timeout) {
  if (!wait_ready(listen_fd_, POLLIN, Clock::now() + timeout, stop_))
    throw HarnessError("fake master: no second connection within " +
                       std::to_string(timeout.count()) + " ms");
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) throw HarnessError("fake master: accept failed");
  ++accepted_;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return std::make_unique<Link>(fd, stop_, true);
}

FakeMaster::~FakeMaster() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

std::string FakeMaster::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void FakeMaster::run() {
  const auto forever = Clock::time_point::max() - std::chrono::hours(24);
  while (wait_ready(listen_fd_, POLLIN, forever, stop_)) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Link link(fd, stop_);
    try {
      script_(link);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ += std::string(error_.empty() ? "" : "; ") + e.what();
    }
    ::close(fd);
  }
}

}  // namespace redis_repl::test
