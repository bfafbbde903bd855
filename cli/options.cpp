#include "cli/options.hpp"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"

namespace redis_repl::cli {
namespace {

[[noreturn]] void bad_uri(const std::string& why) {
  // The URI itself is never repeated: it may hold a password.
  throw Fatal(ExitCode::usage,
              "-u/--uri: " + why + " (redis://[[user]:password@]host[:port][/db])");
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes in the user and password parts of a URI; a '%' not followed by two hex digits is
// an error, not a literal.
std::string percent_decode(std::string_view s, const char* part) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    const bool two_more = i + 2 < s.size();
    const int hi = two_more ? hex_digit(s[i + 1]) : -1;
    const int lo = two_more ? hex_digit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      bad_uri(std::string("a '%' in the ") + part + " is not followed by two hex digits");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// redis://[[user]:password@]host[:port][/db]; an IPv6 host in brackets.
void apply_uri(ConnectionOptions& o) {
  std::string_view u = o.uri;
  if (u.empty()) bad_uri("the URI is empty");
  if (u.starts_with("rediss://"))
    throw Fatal(ExitCode::usage, "rediss:// needs TLS, which this build does not support yet");
  if (!u.starts_with("redis://")) bad_uri("not a redis:// URI");
  u.remove_prefix(8);
  if (const std::size_t at = u.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = u.substr(0, at);
    const std::size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      o.password = percent_decode(cred, "password");
    } else {
      o.user = percent_decode(cred.substr(0, colon), "user");
      o.password = percent_decode(cred.substr(colon + 1), "password");
    }
    u.remove_prefix(at + 1);
  }
  const std::size_t slash = u.find('/');
  if (slash != std::string_view::npos) {
    // A db number does not apply to replication, but it must be one.
    const std::string_view db = u.substr(slash + 1);
    if (!all_digits(db) || db.size() > 10) bad_uri("the database after '/' is not a number");
    u = u.substr(0, slash);
  }
  std::string_view host = u, port;
  if (!u.empty() && u.front() == '[') {  // [::1]:6379
    const std::size_t close = u.find(']');
    if (close == std::string_view::npos) bad_uri("'[' without ']' around the host");
    host = u.substr(1, close - 1);
    const std::string_view rest = u.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') bad_uri("unexpected text after ']'");
    port = rest;
    if (host.empty()) bad_uri("the host in brackets is empty");
  } else if (const std::size_t colon = u.find(':'); colon != std::string_view::npos) {
    if (u.find(':', colon + 1) != std::string_view::npos)
      bad_uri("an IPv6 host goes in brackets, as redis://[::1]:6379");
    host = u.substr(0, colon);
    port = u.substr(colon);
  }
  if (host.find_first_of("[]@/") != std::string_view::npos) bad_uri("the host is not a host name");
  if (!host.empty()) o.host = std::string(host);
  if (!port.empty()) {
    port.remove_prefix(1);  // the ':'
    unsigned n = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || r.ec != std::errc{} || r.ptr != port.data() + port.size() || n == 0 ||
        n > 65535)
      bad_uri("the port is not a number from 1 to 65535");
    o.port = static_cast<std::uint16_t>(n);
  }
}

std::string read_password_from_terminal() {
  std::fputs("Please input password: ", stderr);
  std::fflush(stderr);
  termios old{};
  const bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  char buf[1024];
  std::string line = std::fgets(buf, sizeof buf, stdin) ? buf : "";
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (tty) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fputs("\n", stderr);
  return line;
}

std::string number_text(std::int64_t v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string number_text(double v) {  // 0.001, 86400, 1000000000: never an exponent
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

// The whole of text as a T; false for anything else (spaces, a sign from_chars refuses, "0x").
template <class T>
bool parse_whole(const std::string& text, T& v) {
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  return !text.empty() && r.ec == std::errc{} && r.ptr == text.data() + text.size();
}

}  // namespace

CLI::Validator number_in(double min, double max, const std::string& what) {
  const std::string range = what + " from " + number_text(min) + " to " + number_text(max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        double v = 0;
        if (parse_whole(text, v) && std::isfinite(v) && v >= min && v <= max) return {};
        return "wants " + range + ", not '" + text + "'";
      },
      range);
}

CLI::Validator integer_in(std::int64_t min, std::int64_t max, const std::string& what) {
  const std::string range = what + " from " + number_text(min) + " to " + number_text(max);
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        std::int64_t v = 0;
        if (parse_whole(text, v) && v >= min && v <= max) return {};
        return "wants " + range + ", not '" + text + "'";
      },
      range);
}

void add_connection_options(CLI::App& cmd, ConnectionOptions& o) {
  cmd.add_option("-h,--host", o.host, "Server hostname (default 127.0.0.1)")->option_text("HOST");
  cmd.add_option("-p,--port", o.port, "Server port (default 6379)")
      ->option_text("PORT")
      ->check(integer_in(1, 65535, "a port"));
  cmd.add_option("-a,--pass", o.password,
                 "Password to AUTH with (visible in ps; prefer REDISCLI_AUTH or --askpass)")
      ->option_text("PASSWORD");
  cmd.add_option("--user", o.user, "ACL user to AUTH as (with a password)")->option_text("USER");
  cmd.add_flag("--askpass", o.askpass, "Read the password from the terminal, without echo");
  cmd.add_flag("--no-auth-warning", o.no_auth_warning,
               "No warning when a password is given on the command line");
  cmd.add_option("-u,--uri", o.uri, "Server URI: redis://[[user]:password@]host[:port]")
      ->option_text("URI");
  cmd.add_option("--timeout", o.timeout_s,
                 "Seconds without progress before giving up: connect, handshake, transfer, and a "
                 "link with no data nor PING (default 60, as repl-timeout)")
      ->option_text("SECONDS")
      ->check(number_in(0.001, 86400, "seconds"));
}

void resolve_connection_options(CLI::App& cmd, ConnectionOptions& o) {
  const bool uri_given = cmd.count("--uri") > 0;
  const bool on_command_line = cmd.count("-a") > 0 || uri_given;
  if (uri_given) apply_uri(o);
  if (o.host.empty()) throw Fatal(ExitCode::usage, "-h/--host: the host name is empty");
  if (o.password.empty()) {
    if (const char* env = std::getenv("REDISCLI_AUTH")) o.password = env;
  }
  if (o.askpass) o.password = read_password_from_terminal();
  if (on_command_line && !o.password.empty() && !o.no_auth_warning && !o.askpass)
    print_warning(
        "a password on the command line may be seen by others (use REDISCLI_AUTH "
        "or --askpass)");
  if (!o.user.empty() && o.password.empty())
    throw Fatal(ExitCode::usage, "--user needs a password (-a, REDISCLI_AUTH or --askpass)");
}

ExitCode exit_code_for(core::FailKind kind) {
  switch (kind) {
    case core::FailKind::auth:
      return ExitCode::auth;
    case core::FailKind::permission:
      return ExitCode::permission;
    case core::FailKind::rdb:
      return ExitCode::rdb_corrupt;
    case core::FailKind::protocol:
      return ExitCode::protocol;
    case core::FailKind::transient:
    case core::FailKind::closed:
    case core::FailKind::timeout:
      break;
  }
  return ExitCode::connect;
}

ExitCode exit_code_for(Errc code) {
  return code == Errc::rdb_unsupported ? ExitCode::rdb_unsupported : ExitCode::rdb_corrupt;
}

}  // namespace redis_repl::cli
