// cli/diagnostics.hpp — stderr messages with the "redis-repl:" prefix, progress, signals.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace redis_repl::cli {

// One line each, prefixed; control bytes and invalid UTF-8 of the message are escaped (\x1b).
void print_error(std::string_view message);
void print_warning(std::string_view message);
void print_info(std::string_view message);
// One warning per kind of what an output could not carry: "N <kind>".
void print_dropped(const std::map<std::string, std::uint64_t>& dropped);

// SIGPIPE ignored (a closed stdout shows up as EPIPE, a clean stop); SIGINT and SIGTERM set a
// flag that long-running loops poll. Returns the signal number caught, 0 if none.
void install_signal_handlers();
int caught_signal() noexcept;
// How many SIGINT/SIGTERM arrived (a second Ctrl-C means "now").
int signal_count() noexcept;
// Sleeps, waking early when a signal arrives.
void sleep_unless_signalled(std::chrono::milliseconds d);

// A progress line on stderr, only when stderr is a terminal and the user did not ask for quiet.
class Progress {
 public:
  Progress(bool enabled, std::uint64_t total);
  void set_total(std::uint64_t total) { total_ = total; }
  void update(std::uint64_t done);
  void finish();

 private:
  bool enabled_;
  std::uint64_t total_;
  std::int64_t start_ns_;
  std::int64_t last_ns_ = 0;
  bool shown_ = false;
};

}  // namespace redis_repl::cli
