#include "cli/diagnostics.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "formats/terminal_text.hpp"

namespace redis_repl::cli {
namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_signals = 0;

extern "C" void on_signal(int sig) {
  g_signal = sig;
  if (g_signals < 1000) g_signals = g_signals + 1;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void append_size(std::string& out, double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  out.append(buf);
}

void write_stderr(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

// Messages carry what peers and files said (error replies, keys, paths): escaped, so that no
// byte of theirs reaches the terminal as a control sequence, and a message stays one line.
void print_error(std::string_view message) {
  write_stderr("redis-repl: error: " + formats::terminal_safe(message) + "\n");
}

void print_warning(std::string_view message) {
  write_stderr("redis-repl: warning: " + formats::terminal_safe(message) + "\n");
}

void print_dropped(const std::map<std::string, std::uint64_t>& dropped) {
  for (const auto& [kind, n] : dropped) print_warning(std::to_string(n) + " " + kind);
}

void print_info(std::string_view message) {
  write_stderr("redis-repl: " + formats::terminal_safe(message) + "\n");
}

void install_signal_handlers() {
  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR and the loop sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int caught_signal() noexcept { return g_signal; }
int signal_count() noexcept { return g_signals; }

void sleep_unless_signalled(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end && !caught_signal())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

Progress::Progress(bool enabled, std::uint64_t total)
    : enabled_(enabled && ::isatty(STDERR_FILENO)), total_(total), start_ns_(now_ns()) {}

void Progress::update(std::uint64_t done) {
  if (!enabled_) return;
  const std::int64_t now = now_ns();
  if (now - last_ns_ < 250'000'000) return;
  last_ns_ = now;
  const double secs = static_cast<double>(now - start_ns_) / 1e9;
  if (secs < 0.5) return;  // quick jobs show nothing
  const double rate = static_cast<double>(done) / secs;
  std::string line = "\rredis-repl: ";
  append_size(line, static_cast<double>(done));
  if (total_) {
    line += " / ";
    append_size(line, static_cast<double>(total_));
    char buf[64];
    std::snprintf(buf, sizeof buf, " (%.0f%%)",
                  100.0 * static_cast<double>(done) / static_cast<double>(total_));
    line += buf;
  }
  line += ", ";
  append_size(line, rate);
  line += "/s";
  if (total_ && rate > 0 && done <= total_) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ", ETA %.0fs", static_cast<double>(total_ - done) / rate);
    line += buf;
  }
  line += "\x1b[K";
  write_stderr(line);
  shown_ = true;
}

void Progress::finish() {
  if (shown_) write_stderr("\r\x1b[K");
  shown_ = false;
}

}  // namespace redis_repl::cli
