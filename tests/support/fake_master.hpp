// FakeMaster: a scripted peer on a free 127.0.0.1 port, for what no real server does on purpose:
// hostile replies, floods, bytes a terminal would obey. Each connection it accepts is handed to
// the test's script, on the helper's own thread, one connection at a time; the script reads the
// commands a replica sends and writes whatever bytes it likes. Every read and write has a
// deadline, a flood stops when the peer goes away or the helper is destroyed, and the destructor
// stops and joins the thread. What a script threw is kept for the test's failure message.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace redis_repl::test {

class FakeMaster {
 public:
  // One accepted connection, as the script sees it.
  class Link {
   public:
    Link(int fd, const std::atomic<bool>& stop, bool owns_fd = false)
        : fd_(fd), stop_(stop), owns_fd_(owns_fd) {}
    ~Link();
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;
    // The next command sent (an array of bulk strings); throws HarnessError on a timeout, a
    // closed link or anything that is not a command.
    std::vector<std::string> read_command(
        std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
    // Writes every byte; false when the peer has gone (or the helper is stopping).
    bool send(std::string_view bytes,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
    // Answers a replica's handshake as a master would: +PONG to PING, +OK to AUTH and every
    // REPLCONF, up to PSYNC, whose arguments are returned (unanswered).
    std::vector<std::string> answer_handshake();
    // Reads and drops what the replica sends until it goes away (or 60 s pass): keeps the link
    // open while the replica finishes.
    void drain();
    // Sends `chunk` every `pause` until the peer goes away or `limit` bytes are out; returns the
    // bytes sent.
    std::uint64_t flood(std::string_view chunk, std::chrono::milliseconds pause,
                        std::uint64_t limit);

   private:
    bool fill(std::chrono::steady_clock::time_point deadline);
    std::string line(std::chrono::steady_clock::time_point deadline);

    int fd_;
    const std::atomic<bool>& stop_;
    bool owns_fd_;
    std::string in_;
  };
  using Script = std::function<void(Link&)>;

  explicit FakeMaster(Script script);
  ~FakeMaster();
  FakeMaster(const FakeMaster&) = delete;
  FakeMaster& operator=(const FakeMaster&) = delete;

  int port() const { return port_; }
  // Inside a script: the next connection the replica makes while the script still holds the
  // current one (a second connection of the same sync); closed when the Link goes. Throws
  // HarnessError when none comes within the timeout.
  std::unique_ptr<Link> accept_next(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  int connections() const { return accepted_.load(); }
  // What the script threw, "" if nothing.
  std::string error() const;

 private:
  void run();

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::string error_;
  std::thread thread_;
};

}  // namespace redis_repl::test
