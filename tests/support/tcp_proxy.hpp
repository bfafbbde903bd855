// TcpProxy: a loopback TCP proxy in front of a server (127.0.0.1:target_port), for breaking the
// link between redis-repl and a master on purpose. It listens on a free 127.0.0.1 port and
// forwards every accepted connection to the target, byte for byte, on its own thread. A test
// can tell it to:
//   * cut the link after N more bytes in one direction (the N bytes are delivered, then both
//     sockets of that link are closed), once, on whichever link carries those bytes;
//   * stall the links open now (nothing more is forwarded on them, they stay open; links
//     accepted later are not stalled);
//   * close every open link at once.
// It counts the bytes forwarded each way and the connections accepted. Stopped and joined by the
// destructor; every wait is bounded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace redis_repl::test {

class TcpProxy {
 public:
  enum class Direction { to_server, to_client };

  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }

  // From now on, forward at most n more bytes in direction d, then close that link. One-shot;
  // arming again replaces the previous budget for that direction.
  void cut_after(Direction d, std::uint64_t n);
  // Stall every link open now.
  void stall();
  // Close every link open now.
  void close_links();

  std::uint64_t forwarded(Direction d) const;
  int connections() const { return accepted_.load(); }
  int cuts() const { return cuts_.load(); }
  int open_links() const;

 private:
  struct Link {
    int fd[2];                     // [0]: client side, [1]: server side
    std::vector<char> pending[2];  // bytes read from fd[i], waiting to be written to fd[1 - i]
    bool stalled = false;
    int closing = -1;  // a cut of the bytes from this side: close once they are all out
  };

  void run();
  void wake();
  void accept_one();
  void close_link(Link& l);
  // Reads from side i of l and writes what it can to the other side.
  void pump(Link& l, int from);
  void flush(Link& l, int from);

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mutex_;  // guards what follows
  std::vector<Link> links_;
  bool cut_armed_[2] = {false, false};  // indexed by the side the bytes come from
  std::uint64_t cut_budget_[2] = {0, 0};
  std::uint64_t forwarded_[2] = {0, 0};
  bool stall_request_ = false;
  bool close_request_ = false;

  std::atomic<int> accepted_{0};
  std::atomic<int> cuts_{0};
};

}  // namespace redis_repl::test
