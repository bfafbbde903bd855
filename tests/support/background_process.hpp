// BackgroundProcess: runs a program (the redis-repl binary) in the background with standard input
// from /dev/null, collects its standard output and error as they come (a reader thread drains
// both pipes, so the child never blocks on a full pipe), lets a test wait for a line with a
// deadline, send signals, and collect the exit code with a bounded wait. The environment is the
// test's own, less REDISCLI_AUTH, plus what the caller sets. The child dies with the test
// process (Linux); the destructor kills it (SIGKILL) if it still runs and reaps it. Nothing here
// waits without a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace redis_repl::test {

class BackgroundProcess {
 public:
  // name -> value sets a variable; name -> nullopt removes it.
  using Env = std::vector<std::pair<std::string, std::optional<std::string>>>;

  explicit BackgroundProcess(const std::vector<std::string>& argv, const Env& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends sig if the process has not been reaped yet.
  void signal(int sig);

  // Waits until a complete standard-output line satisfies pred, and returns it. Lines already
  // seen count too, from index `from` on (the index of the match is stored in *index when
  // given). Throws HarnessError (with the output so far) when the deadline passes or the process
  // has ended without such a line.
  std::string wait_for_line(const std::function<bool(std::string_view)>& pred,
                            std::chrono::milliseconds timeout, std::string_view what,
                            std::size_t from = 0, std::size_t* index = nullptr);
  // Waits for the process to end and returns its exit code (128 + signal when killed). On
  // timeout it is killed and HarnessError is thrown.
  int wait(std::chrono::milliseconds timeout);
  // The exit code once wait() returned, else nullopt.
  std::optional<int> exit_code() const { return exit_code_; }

  // Complete lines of standard output so far (without the newline).
  std::vector<std::string> lines() const;
  std::string out() const;
  std::string err() const;
  // For failure messages: the last bytes of standard error and standard output.
  std::string describe() const;

 private:
  void reader(int out_fd, int err_fd);
  void reap(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  std::string name_;
  std::optional<int> exit_code_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_;
  std::string err_;
  bool eof_ = false;  // both pipes closed: the process has ended (or closed them)
  std::thread thread_;
};

}  // namespace redis_repl::test
