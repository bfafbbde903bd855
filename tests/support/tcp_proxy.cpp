// TcpProxy: see tcp_proxy.hpp.
#include "support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "support/redis_server.hpp"

namespace redis_repl::test {
namespace {

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

int side_of(TcpProxy::Direction d) { return d == TcpProxy::Direction::to_server ? 0 : 1; }

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw HarnessError(std::string("proxy: socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(listen_fd_);
    throw HarnessError(std::string("proxy: cannot listen on 127.0.0.1: ") + std::strerror(e));
  }
  port_ = ntohs(a.sin_port);
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int e = errno;
    ::close(listen_fd_);
    throw HarnessError(std::string("proxy: pipe: ") + std::strerror(e));
  }
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  wake();
  if (thread_.joinable()) thread_.join();
  for (Link& l : links_) close_link(l);
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void TcpProxy::wake() {
  const char c = 1;
  (void)!::write(wake_pipe_[1], &c, 1);
}

void TcpProxy::cut_after(Direction d, std::uint64_t n) {
  {
    std::lock_guard lock(mutex_);
    cut_armed_[side_of(d)] = true;
    cut_budget_[side_of(d)] = n;
  }
  wake();
}

void TcpProxy::stall() {
  {
    std::lock_guard lock(mutex_);
    stall_request_ = true;
  }
  wake();
  // Done once the proxy thread has seen it: bounded wait.
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mutex_);
      if (!stall_request_) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void TcpProxy::close_links() {
  {
    std::lock_guard lock(mutex_);
    close_request_ = true;
  }
  wake();
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mutex_);
      if (!close_request_) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::uint64_t TcpProxy::forwarded(Direction d) const {
  std::lock_guard lock(mutex_);
  return forwarded_[side_of(d)];
}

int TcpProxy::open_links() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(
      std::count_if(links_.begin(), links_.end(), [](const Link& l) { return l.fd[0] >= 0; }));
}

void TcpProxy::close_link(Link& l) {
  for (int& fd : l.fd) {
    if (fd < 0) continue;
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    fd = -1;
  }
}

void TcpProxy::accept_one() {
  const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (client < 0) return;
  accepted_.fetch_add(1);
  const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in a = loopback(target_port_);
  if (server < 0 || ::connect(server, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    if (server >= 0) ::close(server);
    ::close(client);
    return;
  }
  set_nonblocking(server);
  const int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Link l;
  l.fd[0] = client;
  l.fd[1] = server;
  links_.push_back(std::move(l));
}

void TcpProxy::flush(Link& l, int from) {
  std::vector<char>& p = l.pending[from];
  while (!p.empty() && l.fd[0] >= 0) {
    const ssize_t n = ::send(l.fd[1 - from], p.data(), p.size(), MSG_NOSIGNAL);
    if (n > 0) {
      p.erase(p.begin(), p.begin() + n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close_link(l);
  }
}

void TcpProxy::pump(Link& l, int from) {
  if (l.fd[0] < 0 || l.stalled) return;
  flush(l, from);
  if (l.fd[0] >= 0 && l.closing == from && l.pending[from].empty()) {
    cuts_.fetch_add(1);
    close_link(l);
  }
  if (l.fd[0] < 0 || !l.pending[from].empty() || l.closing >= 0) return;
  char buf[65536];
  std::size_t max = sizeof buf;
  if (cut_armed_[from]) {
    if (cut_budget_[from] == 0) {
      // Nothing more may pass this way: cut as soon as a byte wants to.
      char c;
      const ssize_t n = ::recv(l.fd[from], &c, 1, MSG_PEEK);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      if (n > 0) {
        cut_armed_[from] = false;
        cuts_.fetch_add(1);
      }
      close_link(l);  // cut, or the peer has gone anyway
      return;
    }
    max = static_cast<std::size_t>(std::min<std::uint64_t>(max, cut_budget_[from]));
  }
  const ssize_t n = ::recv(l.fd[from], buf, max, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) {
    close_link(l);
    return;
  }
  const auto got = static_cast<std::size_t>(n);
  forwarded_[from] += got;
  l.pending[from].insert(l.pending[from].end(), buf, buf + got);
  if (cut_armed_[from]) {
    cut_budget_[from] -= got;
    if (cut_budget_[from] == 0) {
      cut_armed_[from] = false;
      l.closing = from;
    }
  }
  flush(l, from);
  if (l.closing == from && l.fd[0] >= 0 && l.pending[from].empty()) {
    cuts_.fetch_add(1);
    close_link(l);
  }
}

void TcpProxy::run() {
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back({wake_pipe_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    {
      std::lock_guard lock(mutex_);
      for (const Link& l : links_) {
        if (l.fd[0] < 0 || l.stalled) continue;
        for (int from = 0; from < 2; ++from) {
          if (!l.pending[from].empty()) {
            fds.push_back({l.fd[1 - from], POLLOUT, 0});
          } else if (l.closing < 0) {
            fds.push_back({l.fd[from], POLLIN, 0});
          }
        }
      }
    }
    const int r = ::poll(fds.data(), fds.size(), 100);
    if (r < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      char drain[64];
      while (::read(wake_pipe_[0], drain, sizeof drain) > 0) {
      }
    }
    std::lock_guard lock(mutex_);
    if (stop_) break;
    if (close_request_) {
      for (Link& l : links_) close_link(l);
      close_request_ = false;
    }
    if (stall_request_) {
      for (Link& l : links_) l.stalled = true;
      stall_request_ = false;
    }
    if (fds[1].revents) accept_one();
    for (Link& l : links_) {
      pump(l, 0);
      pump(l, 1);
    }
    links_.erase(
        std::remove_if(links_.begin(), links_.end(), [](const Link& l) { return l.fd[0] < 0; }),
        links_.end());
  }
}

}  // namespace redis_repl::test
