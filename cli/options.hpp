// cli/options.hpp — flags every subcommand that talks to a server shares, as redis-cli has them.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/link_policy.hpp"
#include "core/net/endpoint.hpp"
#include "core/net/sentinel.hpp"

namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace redis_repl::formats {
struct ServerVersion;
}

namespace redis_repl::cli {

// --target-version (dump-rdb, tail): "[redis:|valkey:]MAJOR.MINOR[.PATCH]", with --format resp
// only; a bad value, or one given with another format, is a usage error.
void add_target_version_option(CLI::App& cmd, std::string& value);
std::optional<formats::ServerVersion> resolve_target_version(const CLI::App& cmd,
                                                             const std::string& value, bool resp);

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;  // -a, REDISCLI_AUTH, --askpass, or the URI
  std::string user;
  bool askpass = false;
  bool no_auth_warning = false;
  std::string uri;
  std::string socket;               // -s: a Unix socket instead of host and port
  std::optional<std::uint64_t> db;  // -n, or the URI's /db
  core::net::TlsOptions tls;
  double timeout_s = 60;  // connect, handshake, transfer and silent-link timeout
  // --sentinel HOST:PORT (repeatable) and --master-name: ask Sentinel where the master is.
  std::vector<std::string> sentinels;
  std::string master_name;
  std::string sentinel_user;  // the sentinels' own credentials
  std::string sentinel_password;
  // --cluster: the node the flags name (-h/-p or -u) and every --cluster-node are seeds of a Redis
  // Cluster. --cluster-node HOST:PORT (repeatable) implies --cluster.
  bool cluster = false;
  std::vector<std::string> cluster_nodes;
  bool node_given = false;  // -h, -p or -u given (set by resolve_connection_options)
};

// -h/--host, -p/--port, -s/--socket, -a/--pass, --user, --askpass, --no-auth-warning, -u/--uri,
// --timeout, and the TLS flags (--tls, --cacert, --cacertdir, --cert, --key, --sni, --insecure,
// --tls-ciphers, --tls-ciphersuites, --tls-no-verify-name), in the help's "Connection" group;
// --sentinel, --master-name, --sentinel-user and --sentinel-pass in the "Sentinel" group;
// --cluster and --cluster-node in the "Cluster" group.
// with_db adds -n/--dbnum too (a default for the --db filter).
void add_connection_options(CLI::App& cmd, ConnectionOptions& o, bool with_db = false);
// After parsing: applies -u, REDISCLI_AUTH and --askpass, checks the TLS flags go together;
// throws Fatal(usage) on a bad URI or combination.
void resolve_connection_options(CLI::App& cmd, ConnectionOptions& o);
// The server the options name, with the timeout (for every connection and link). With
// --sentinel, its host and port are unset: see find_server().
core::net::Server server_of(const ConnectionOptions& o);
// With --sentinel: how to ask the sentinels (nullopt without).
std::optional<core::net::SentinelConfig> sentinel_config_of(const ConnectionOptions& o);
// With --cluster: the seed nodes, -h/-p (or -u's) first unless only --cluster-node was given,
// each once (empty without --cluster).
std::vector<core::HostPort> cluster_seeds_of(const ConnectionOptions& o);
// For a subcommand that does not take --cluster (yet): Fatal(usage) saying so when it is given.
void refuse_cluster(const ConnectionOptions& o, const char* subcommand);
// The server to connect to now: the one the flags name, or the master the sentinels name (a
// Fatal with the failure's exit code and one line naming every sentinel when none does).
core::net::Server find_server(const ConnectionOptions& o);

// Checks for numeric flags, run on the text before CLI11 converts it: the whole of it must be a
// finite number (an integer) from min to max; else "--flag: wants WHAT from MIN to MAX, not 'X'",
// a usage error before anything connects. NaN, infinities, overflowing and negative values fail.
CLI::Validator number_in(double min, double max, const std::string& what);
CLI::Validator integer_in(std::int64_t min, std::int64_t max, const std::string& what);
// The highest database number a Redis server can have (databases is at most INT_MAX).
constexpr std::int64_t max_db = 2147483646;

// HOST:PORT (an IPv6 address in brackets) given to `flag`, reached as `like` is (TLS or not, the
// same options). Fatal(usage) for anything else.
core::net::Endpoint endpoint_of(const std::string& flag, const std::string& host_port,
                                const core::net::Endpoint& like);

// Puts these options (by a long name each) in a group of the help, as redis-cli groups its own.
void set_group(CLI::App& cmd, const std::string& group, std::initializer_list<const char*> names);

// The exit status for each class of failure (core/link_policy.hpp): the one mapping.
ExitCode exit_code_for(core::Failure failure);

}  // namespace redis_repl::cli
