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
#include "core/bytes.hpp"
#include "formats/sink.hpp"

namespace redis_repl::cli {
namespace {

[[noreturn]] void bad_uri(const std::string& why) {
  // The URI itself is never repeated: it may hold a password.
  throw Fatal(ExitCode::usage, "-u/--uri: " + why +
                                   " (redis[s]://[[user]:password@]host[:port][/db], "
                                   "unix://[[user]:password@]/path/to/socket)");
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

// redis://[[user]:password@]host[:port][/db], rediss:// the same over TLS (an IPv6 host in
// brackets); unix://[[user]:password@]/path.
void apply_uri(ConnectionOptions& o) {
  std::string_view u = o.uri;
  if (u.empty()) bad_uri("the URI is empty");
  bool unix_socket = false;
  if (u.starts_with("rediss://")) {
    o.tls.enabled = true;
    u.remove_prefix(9);
  } else if (u.starts_with("redis://")) {
    u.remove_prefix(8);
  } else if (u.starts_with("unix://")) {
    unix_socket = true;
    u.remove_prefix(7);
  } else {
    bad_uri("not a redis://, rediss:// or unix:// URI");
  }
  // The credentials end at the last '@' before the path of a socket (which may hold one).
  const std::size_t cred_end = unix_socket ? u.substr(0, u.find('/')).rfind('@') : u.rfind('@');
  if (const std::size_t at = cred_end; at != std::string_view::npos) {
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
  if (unix_socket) {
    if (u.empty() || u.front() != '/') bad_uri("the socket's path is not absolute");
    o.socket = std::string(u);
    return;
  }
  const std::size_t slash = u.find('/');
  if (slash != std::string_view::npos) {
    // The db: a default for the --db filter where one applies.
    const std::string_view db = u.substr(slash + 1);
    if (!db.empty()) {
      std::uint64_t n = 0;
      if (!all_digits(db) || db.size() > 10 || !core::parse_decimal(db, n) ||
          n > static_cast<std::uint64_t>(max_db))
        bad_uri("the database after '/' is not a number");
      o.db = n;
    }
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
    if (!core::parse_decimal(port, n) || n == 0 || n > 65535)
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
  return core::parse_decimal(text, v);
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

void add_connection_options(CLI::App& cmd, ConnectionOptions& o, bool with_db) {
  const std::string group = "Connection";
  cmd.add_option("-h,--host", o.host, "Server hostname (default 127.0.0.1)")
      ->option_text("HOST")
      ->group(group);
  cmd.add_option("-p,--port", o.port, "Server port (default 6379)")
      ->option_text("PORT")
      ->check(integer_in(1, 65535, "a port"))
      ->group(group);
  cmd.add_option("-s,--socket", o.socket, "Server socket (instead of host and port)")
      ->option_text("SOCKET")
      ->group(group);
  cmd.add_option("-a,--pass", o.password,
                 "Password to AUTH with (visible in ps; prefer REDISCLI_AUTH or --askpass)")
      ->option_text("PASSWORD")
      ->group(group);
  cmd.add_option("--user", o.user, "ACL user to AUTH as (with a password)")
      ->option_text("USER")
      ->group(group);
  cmd.add_flag("--askpass", o.askpass,
               "Read the password from standard input, without echo on a terminal")
      ->group(group);
  cmd.add_flag("--no-auth-warning", o.no_auth_warning,
               "No warning when a password is given on the command line")
      ->group(group);
  cmd.add_option("-u,--uri", o.uri,
                 "Server URI: redis://[[user]:password@]host[:port][/db], rediss:// (TLS), "
                 "unix://[[user]:password@]/path")
      ->option_text("URI")
      ->group(group);
  if (with_db)
    cmd.add_option("-n,--dbnum", o.db, "Database number: the default for --db")
        ->option_text("DB")
        ->check(integer_in(0, max_db, "a database number"))
        ->group(group);
  cmd.add_option("--timeout", o.timeout_s,
                 "Seconds without progress before giving up: connect, handshake, transfer, and a "
                 "link with no data nor PING (default 60, as repl-timeout)")
      ->option_text("SECONDS")
      ->check(number_in(0.001, 86400, "seconds"))
      ->group(group);
  cmd.add_flag("--tls", o.tls.enabled, "Establish a secure TLS connection")->group(group);
  cmd.add_option("--sni", o.tls.sni, "Server name to send (SNI) and to verify (default: -h)")
      ->option_text("HOST")
      ->group(group);
  cmd.add_option("--cacert", o.tls.cacert, "CA certificate file to verify the server with")
      ->option_text("FILE")
      ->check(CLI::ExistingFile)
      ->group(group);
  cmd.add_option("--cacertdir", o.tls.cacertdir, "Directory of trusted CA certificates")
      ->option_text("DIR")
      ->check(CLI::ExistingDirectory)
      ->group(group);
  cmd.add_flag("--insecure", o.tls.insecure, "Allow insecure TLS: verify no certificate")
      ->group(group);
  cmd.add_flag_function(
         "--tls-no-verify-name", [&o](std::int64_t) { o.tls.verify_name = false; },
         "Verify the certificate chain but not the name in it, as redis-cli does (weaker)")
      ->group(group);
  cmd.add_option("--cert", o.tls.cert, "Client certificate to authenticate with")
      ->option_text("FILE")
      ->check(CLI::ExistingFile)
      ->group(group);
  cmd.add_option("--key", o.tls.key, "Private key of the client certificate")
      ->option_text("FILE")
      ->check(CLI::ExistingFile)
      ->group(group);
  cmd.add_option("--tls-ciphers", o.tls.ciphers,
                 "Ciphers for TLS 1.2 and below, in OpenSSL's cipher list format")
      ->option_text("LIST")
      ->group(group);
  cmd.add_option("--tls-ciphersuites", o.tls.ciphersuites,
                 "Cipher suites for TLS 1.3, in OpenSSL's format")
      ->option_text("LIST")
      ->group(group);
  const std::string sentinel = "Sentinel";
  cmd.add_option("--sentinel", o.sentinels,
                 "Ask this Sentinel where the master is (HOST:PORT, repeatable; asked in turn); "
                 "with --master-name, instead of -h/-p")
      ->option_text("HOST:PORT")
      ->allow_extra_args(false)
      ->group(sentinel);
  cmd.add_option("--master-name", o.master_name, "The master's name in Sentinel's configuration")
      ->option_text("NAME")
      ->group(sentinel);
  cmd.add_option("--sentinel-user", o.sentinel_user, "ACL user to AUTH to the sentinels as")
      ->option_text("USER")
      ->group(sentinel);
  cmd.add_option("--sentinel-pass", o.sentinel_password,
                 "Password to AUTH to the sentinels with (their own, not the master's)")
      ->option_text("PASSWORD")
      ->group(sentinel);
  const std::string cluster = "Cluster";
  cmd.add_flag("--cluster", o.cluster,
               "Redis Cluster: the -h/-p (or -u) node and every --cluster-node are seeds; every "
               "master shard is found from them")
      ->group(cluster);
  cmd.add_option("--cluster-node", o.cluster_nodes,
                 "A seed node of the cluster (HOST:PORT, repeatable; asked in turn); implies "
                 "--cluster")
      ->option_text("HOST:PORT")
      ->allow_extra_args(false)
      ->group(cluster);
}

namespace {

void resolve_sentinel_options(CLI::App& cmd, ConnectionOptions& o) {
  const bool sentinel = cmd.count("--sentinel") > 0;
  if (!sentinel) {
    for (const char* flag : {"--master-name", "--sentinel-user", "--sentinel-pass"})
      if (cmd.count(flag)) throw Fatal(ExitCode::usage, std::string(flag) + " needs --sentinel");
    return;
  }
  if (o.master_name.empty())
    throw Fatal(ExitCode::usage, "--sentinel needs --master-name (the name Sentinel monitors)");
  // The sentinels say where the master is: a second answer would be ignored, so it is refused.
  for (const char* flag : {"--host", "--port", "--socket", "--uri"})
    if (cmd.count(flag))
      throw Fatal(ExitCode::usage,
                  std::string(flag) + " and --sentinel both say where the master is: give one");
  for (const std::string& s : o.sentinels)
    if (!core::parse_host_port(s))
      throw Fatal(ExitCode::usage,
                  "--sentinel wants HOST:PORT (an IPv6 host in brackets), not '" + s + "'");
  if (!o.sentinel_user.empty() && o.sentinel_password.empty())
    throw Fatal(ExitCode::usage, "--sentinel-user needs --sentinel-pass");
  if (!o.sentinel_password.empty() && !o.no_auth_warning)
    print_warning("a password on the command line (--sentinel-pass) may be seen by others");
}

void resolve_cluster_options(CLI::App& cmd, ConnectionOptions& o) {
  if (!o.cluster_nodes.empty()) o.cluster = true;
  o.node_given = cmd.count("--host") > 0 || cmd.count("--port") > 0 || cmd.count("--uri") > 0;
  if (!o.cluster) return;
  if (cmd.count("--sentinel"))
    throw Fatal(ExitCode::usage,
                "--cluster and --sentinel both say how to find the master: give one");
  if (!o.socket.empty())
    throw Fatal(ExitCode::usage,
                "--cluster wants TCP seed nodes (-h/-p, -u or --cluster-node), not a Unix socket");
  for (const std::string& s : o.cluster_nodes)
    if (!core::parse_host_port(s))
      throw Fatal(ExitCode::usage,
                  "--cluster-node wants HOST:PORT (an IPv6 host in brackets), not '" + s + "'");
}

}  // namespace

void resolve_connection_options(CLI::App& cmd, ConnectionOptions& o) {
  const bool uri_given = cmd.count("--uri") > 0;
  const bool on_command_line = cmd.count("-a") > 0 || uri_given;
  if (uri_given) apply_uri(o);
  if (o.host.empty()) throw Fatal(ExitCode::usage, "-h/--host: the host name is empty");
  if (cmd.count("--socket") && o.socket.empty())
    throw Fatal(ExitCode::usage, "-s/--socket: the path is empty");
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
  // TLS flags without TLS would be silently ignored: say so instead.
  for (const char* flag : {"--sni", "--cacert", "--cacertdir", "--insecure", "--tls-no-verify-name",
                           "--cert", "--key", "--tls-ciphers", "--tls-ciphersuites"})
    if (cmd.count(flag) && !o.tls.enabled)
      throw Fatal(ExitCode::usage, std::string(flag) + " needs --tls (or a rediss:// URI)");
  if (o.tls.cert.empty() != o.tls.key.empty())
    throw Fatal(ExitCode::usage, "--cert and --key go together");
  if (o.tls.enabled && !o.socket.empty())
    throw Fatal(ExitCode::usage, "--tls is for TCP connections, not a Unix socket (-s)");
  resolve_sentinel_options(cmd, o);
  resolve_cluster_options(cmd, o);
}

core::net::Server server_of(const ConnectionOptions& o) {
  core::net::Server s;
  s.endpoint.host = o.host;
  s.endpoint.port = o.port;
  s.endpoint.unix_path = o.socket;
  s.endpoint.tls = o.tls;
  s.user = o.user;
  s.password = o.password;
  s.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout_s * 1000));
  return s;
}

core::net::Endpoint endpoint_of(const std::string& flag, const std::string& s,
                                const core::net::Endpoint& like) {
  const std::optional<core::HostPort> hp = core::parse_host_port(s);
  if (!hp)
    throw Fatal(ExitCode::usage,
                flag + " wants HOST:PORT with a port from 1 to 65535, not '" + s + "'");
  core::net::Endpoint e = like;
  e.unix_path.clear();
  e.host = hp->host;
  e.port = hp->port;
  return e;
}

void set_group(CLI::App& cmd, const std::string& group, std::initializer_list<const char*> names) {
  for (const char* name : names) cmd.get_option(name)->group(group);
}

std::optional<core::net::SentinelConfig> sentinel_config_of(const ConnectionOptions& o) {
  if (o.sentinels.empty()) return std::nullopt;
  core::net::SentinelConfig c;
  for (const std::string& s : o.sentinels) {
    const std::optional<core::HostPort> hp = core::parse_host_port(s);
    // The same sentinel twice would only be asked twice.
    if (hp && std::find(c.sentinels.begin(), c.sentinels.end(), *hp) == c.sentinels.end())
      c.sentinels.push_back(*hp);
  }
  c.master_name = o.master_name;
  c.user = o.sentinel_user;
  c.password = o.sentinel_password;
  return c;
}

std::vector<core::HostPort> cluster_seeds_of(const ConnectionOptions& o) {
  std::vector<core::HostPort> seeds;
  if (!o.cluster) return seeds;
  auto add = [&seeds](const core::HostPort& hp) {
    if (std::find(seeds.begin(), seeds.end(), hp) == seeds.end()) seeds.push_back(hp);
  };
  // -h/-p are seeds when given, or when no --cluster-node is (their defaults then).
  if (o.node_given || o.cluster_nodes.empty()) add(core::HostPort{o.host, o.port});
  for (const std::string& s : o.cluster_nodes)
    if (const std::optional<core::HostPort> hp = core::parse_host_port(s)) add(*hp);
  return seeds;
}

void refuse_cluster(const ConnectionOptions& o, const char* subcommand) {
  if (o.cluster)
    throw Fatal(ExitCode::usage,
                std::string("--cluster/--cluster-node: ") + subcommand +
                    " does not follow a cluster yet; give one node (-h/-p) of a shard instead");
}

core::net::Server find_server(const ConnectionOptions& o) {
  const std::optional<core::net::SentinelConfig> sentinels = sentinel_config_of(o);
  if (!sentinels) return server_of(o);
  core::net::MasterFinder finder(*sentinels, server_of(o));
  const core::net::Discovery d = finder.find();
  if (!d.found) throw Fatal(exit_code_for(d.failure.failure), d.failure.message);
  return d.master;
}

ExitCode exit_code_for(core::Failure failure) {
  switch (failure) {
    case core::Failure::none:
      return ExitCode::ok;
    case core::Failure::connect:
      return ExitCode::connect;
    case core::Failure::tls:
      return ExitCode::tls;
    case core::Failure::auth:
      return ExitCode::auth;
    case core::Failure::permission:
      return ExitCode::permission;
    case core::Failure::protocol:
      return ExitCode::protocol;
    case core::Failure::rdb_corrupt:
      return ExitCode::rdb_corrupt;
    case core::Failure::rdb_unsupported:
      return ExitCode::rdb_unsupported;
  }
  return ExitCode::internal;
}

void add_target_version_option(CLI::App& cmd, std::string& value) {
  cmd.add_option("--target-version", value,
                 "With --format resp: write only commands this server has, e.g. redis:7.2, "
                 "valkey:9.0 or 8.6 (Redis); warn about what it cannot take (default: the "
                 "server that wrote the snapshot: everything)")
      ->option_text("VERSION");
}

std::optional<formats::ServerVersion> resolve_target_version(const CLI::App& cmd,
                                                             const std::string& value, bool resp) {
  if (cmd.count("--target-version") == 0) return std::nullopt;
  if (!resp) throw Fatal(ExitCode::usage, "--target-version goes with --format resp");
  formats::ServerVersion v;
  if (!formats::parse_server_version(value, v))
    throw Fatal(ExitCode::usage, "--target-version '" + value +
                                     "' is not [redis:|valkey:]MAJOR.MINOR, e.g. redis:7.2 or "
                                     "valkey:9.0");
  return v;
}

}  // namespace redis_repl::cli
