// Real-server test support: RedisServer runs a private server (`redis-server` or `valkey-server`,
// found in PATH; see ServerKind) on a free 127.0.0.1 port in a fresh temporary directory, and
// RespClient talks RESP2 to it over loopback. A missing server program is an error: construction
// throws a clear message (SERVER_TEST_CASE decides whether a kind that is not installed is
// skipped). The server waits (bounded) until it answers PING and has finished loading; on
// destruction it is stopped by pid (SIGTERM, bounded wait, SIGKILL) and its directory is removed.
// Every socket operation and child process has a timeout, so a test cannot hang.
// On request it also listens on a Unix socket in its directory, and on a second loopback port
// for TLS (ServerOptions::tls; the plain port stays, for the harness's own client).
// Not provided: other bind addresses, AUTH, RESP3 types, cluster or sentinel modes.
// run_program() runs a helper program (e.g. the redis-repl binary) and captures its output.
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace redis_repl::test {

// 127.0.0.1:port, for the tests' own sockets.
sockaddr_in loopback(int port);

using std::chrono::milliseconds;

// Thrown for I/O errors, timeouts, protocol errors and servers that do not start.
class HarnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One RESP2 reply. A nil bulk string and a nil array are both Type::nil.
struct Reply {
  enum class Type { simple, error, integer, bulk, nil, array };
  Type type = Type::nil;
  std::string str;              // simple, error and bulk
  std::int64_t integer = 0;     // integer
  std::vector<Reply> elements;  // array

  bool is_error() const { return type == Type::error; }
  // One line for messages: strings quoted with non-printable bytes escaped, arrays in brackets;
  // long strings are cut at max_string bytes.
  std::string describe(std::size_t max_string = 200) const;
  friend bool operator==(const Reply&, const Reply&) = default;
};

// A command as a RESP array of bulk strings (binary-safe).
std::string encode_command(const std::vector<std::string>& args);

// Bytes quoted for a message: printable ASCII as is, the rest as \xNN; cut at max_bytes.
std::string quote_bytes(std::string_view bytes, std::size_t max_bytes = 200);

// A synchronous RESP2 client on a TCP connection to 127.0.0.1:port. Each public call has to
// finish within the timeout or throws HarnessError; error replies are returned, not thrown.
class RespClient {
 public:
  explicit RespClient(int port, milliseconds timeout = milliseconds(10000));
  ~RespClient();
  RespClient(RespClient&& other) noexcept;
  RespClient& operator=(RespClient&& other) noexcept;
  RespClient(const RespClient&) = delete;
  RespClient& operator=(const RespClient&) = delete;

  // Sends one command and reads its reply.
  Reply command(const std::vector<std::string>& args);
  // Sends all commands, then reads one reply per command (in order).
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);
  // Lower level: write bytes as they are (e.g. a batch of encoded commands), read one reply.
  void send_raw(std::string_view bytes);
  Reply read_reply();

  void set_timeout(milliseconds timeout) { timeout_ = timeout; }

 private:
  void fill(std::chrono::steady_clock::time_point deadline);
  std::string read_line(std::chrono::steady_clock::time_point deadline);
  Reply parse(std::chrono::steady_clock::time_point deadline, int depth);

  int fd_ = -1;
  milliseconds timeout_;
  std::string in_;
  std::size_t pos_ = 0;
};

// A server flavour the real-server tests run against: its programs (found in PATH) and the
// version the suites were written for (as MANIFEST.tsv names loaders: "redis-7.0.15").
struct ServerKind {
  std::string_view name;        // "redis", "valkey": in test names and messages
  std::string_view server;      // the server program
  std::string_view cli;         // its command-line client (redis-cli)
  std::string_view check_rdb;   // its RDB checker (redis-check-rdb)
  std::string_view sentinel;    // its Sentinel (redis-sentinel)
  std::string_view version;     // the version tested
  std::string_view rdb_header;  // the first 9 bytes of the RDB files that version writes
  // The command a key deleted on expiry reaches replicas as: "del", or "unlink" when the default
  // of lazyfree-lazy-expire is yes.
  std::string_view expiry_delete;
  std::string_view packages;  // what installs it, for messages
  std::string label() const { return std::string(name) + "-" + std::string(version); }
};

inline constexpr ServerKind redis_kind{
    .name = "redis",
    .server = "redis-server",
    .cli = "redis-cli",
    .check_rdb = "redis-check-rdb",
    .sentinel = "redis-sentinel",
    .version = "7.0.15",
    .rdb_header = "REDIS0010",
    .expiry_delete = "del",
    .packages = "Debian 12: redis-server redis-tools redis-sentinel"};
// Valkey 8.0 writes RDB 11 (as Redis 7.2 does), with an AUX `valkey-ver` instead of `redis-ver`,
// and has every lazyfree-lazy-* option on by default.
inline constexpr ServerKind valkey_kind{
    .name = "valkey",
    .server = "valkey-server",
    .cli = "valkey-cli",
    .check_rdb = "valkey-check-rdb",
    .sentinel = "valkey-sentinel",
    .version = "8.0.1",
    .rdb_header = "REDIS0011",
    .expiry_delete = "unlink",
    .packages = "Debian 12 bookworm-backports: valkey-server valkey-tools valkey-sentinel"};

// The kind a RedisServer runs when its options name no executable: set for the duration of a
// per-server test case (SERVER_TEST_CASE in support/server_test.hpp) by a ServerKindScope.
// current_server_kind() throws HarnessError outside one.
const ServerKind& current_server_kind();
class ServerKindScope {
 public:
  explicit ServerKindScope(const ServerKind& kind);
  ~ServerKindScope();
  ServerKindScope(const ServerKindScope&) = delete;
  ServerKindScope& operator=(const ServerKindScope&) = delete;

 private:
  const ServerKind* previous_;
};

// The program's path when it is executable in PATH (or is a path), else "".
std::string find_program(const std::string& name);

// A TLS port's files (PEM), as redis-server's tls-* settings take them.
struct TlsFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path ca;   // tls-ca-cert-file: the CA its clients' (and master's) certs are from
  bool auth_clients = false;  // tls-auth-clients: a client certificate is required
  bool replication = false;   // tls-replication: a replica's own link to its master is TLS
};

struct ServerOptions {
  // An RDB file to load at start-up: copied into the server's directory and named by
  // --dbfilename. Empty: the server starts with no data.
  std::filesystem::path rdb_file;
  // More `--name value` arguments, after the fixed ones (--bind, --port and --dir come last
  // and cannot be overridden).
  std::vector<std::string> extra_args;
  milliseconds start_timeout{10000};
  // The server program; empty: current_server_kind()'s.
  std::string executable;
  bool unix_socket = false;     // also listen on <dir>/redis.sock
  std::optional<TlsFiles> tls;  // also listen for TLS on a second free port
};

class RedisServer {
 public:
  explicit RedisServer(ServerOptions options = {});
  ~RedisServer();  // stop()
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }  // 0 without ServerOptions::tls
  // Empty without ServerOptions::unix_socket.
  std::filesystem::path unix_socket() const { return unix_socket_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }
  RespClient client(milliseconds timeout = milliseconds(10000)) const {
    return RespClient(port_, timeout);
  }
  // The end of the server's log (its standard output and error), for failure messages.
  std::string log_tail(std::size_t max_bytes = 4000) const;

  // Sends SIGTERM without waiting: lets several servers shut down in parallel.
  void request_stop();
  // Stops the server (SIGTERM, up to 5 s, then SIGKILL) and removes its directory. Idempotent.
  void stop() noexcept;

 private:
  bool start_once(const ServerOptions& options, std::string& failure);

  std::filesystem::path dir_;
  int port_ = 0;
  int tls_port_ = 0;
  std::filesystem::path unix_socket_;
  pid_t pid_ = -1;
};

struct ProgramResult {
  int exit_code = -1;   // exit status, or 128 + signal number when killed by a signal
  std::string out;      // standard output
  std::string err;      // standard error
  long max_rss_kb = 0;  // its peak resident memory, in KiB (wait4's ru_maxrss)
};

// One pass over two pipes that poll() found ready: what is read goes to sink(0 or 1, bytes); a
// pipe at its end (or failing) is closed and its fd set to -1. Returns how many closed.
int read_ready_pipes(pollfd (&fds)[2], const std::function<void(int, std::string_view)>& sink);

// Runs argv[0] (a path, or a name searched in PATH) with standard input from /dev/null and
// captures its output. Throws HarnessError when it cannot start or runs longer than timeout
// (it is killed then).
ProgramResult run_program(const std::vector<std::string>& argv,
                          milliseconds timeout = milliseconds(120000));

}  // namespace redis_repl::test
