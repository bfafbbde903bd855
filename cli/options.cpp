#include "cli/options.hpp"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/diagnostics.hpp"

namespace redis_repl::cli {
namespace {

// %XX escapes in the user and password parts of a URI.
std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned v = 0;
    if (s[i] == '%' && i + 2 < s.size() &&
        std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr == s.data() + i + 3) {
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// redis://[[user]:password@]host[:port][/db]
void apply_uri(ConnectionOptions& o) {
  std::string_view u = o.uri;
  if (u.starts_with("rediss://"))
    throw Fatal(ExitCode::usage, "rediss:// needs TLS, which this build does not support yet");
  if (!u.starts_with("redis://"))
    throw Fatal(ExitCode::usage, "not a redis:// URI: '" + o.uri + "'");
  u.remove_prefix(8);
  if (const std::size_t at = u.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = u.substr(0, at);
    const std::size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      o.password = percent_decode(cred);
    } else {
      o.user = percent_decode(cred.substr(0, colon));
      o.password = percent_decode(cred.substr(colon + 1));
    }
    u.remove_prefix(at + 1);
  }
  u = u.substr(0, u.find('/'));  // a db number does not apply to replication
  std::string_view host = u;
  if (!u.empty() && u.front() == '[') {  // [::1]:6379
    const std::size_t close = u.find(']');
    host = u.substr(1, close - 1);
    u.remove_prefix(close + 1);
  } else if (const std::size_t colon = u.rfind(':'); colon != std::string_view::npos) {
    host = u.substr(0, colon);
    u.remove_prefix(colon);
  } else {
    u = {};
  }
  if (!host.empty()) o.host = std::string(host);
  if (u.starts_with(":")) {
    unsigned port = 0;
    const auto r = std::from_chars(u.data() + 1, u.data() + u.size(), port);
    if (r.ptr != u.data() + u.size() || port == 0 || port > 65535)
      throw Fatal(ExitCode::usage, "bad port in URI '" + o.uri + "'");
    o.port = static_cast<std::uint16_t>(port);
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

}  // namespace

void add_connection_options(CLI::App& cmd, ConnectionOptions& o) {
  cmd.add_option("-h,--host", o.host, "Server hostname (default 127.0.0.1)")->option_text("HOST");
  cmd.add_option("-p,--port", o.port, "Server port (default 6379)")->option_text("PORT");
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
      ->check(CLI::PositiveNumber);
}

void resolve_connection_options(CLI::App& cmd, ConnectionOptions& o) {
  const bool on_command_line = cmd.count("-a") > 0 || !o.uri.empty();
  if (!o.uri.empty()) apply_uri(o);
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
