#include "core/net/cluster.hpp"

#include <algorithm>
#include <memory>

#include "core/net/client.hpp"

namespace redis_repl::core::net {

namespace {

Server at(const Server& node, const HostPort& where) {
  Server s = node;  // credentials, TLS options, timeout
  s.endpoint.unix_path.clear();
  s.endpoint.host = where.host;
  s.endpoint.port = where.port;
  return s;
}

bool unknown_command(const Reply& r) {
  if (!r.is_error()) return false;
  std::string e = r.str;
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e.find("unknown subcommand") != std::string::npos ||
         e.find("unknown command") != std::string::npos;
}

bool auth_error(const std::string& e) {
  return e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") || e.starts_with("NOPERM");
}

}  // namespace

Server server_for(const Server& node, const ClusterNode& target) {
  return at(node, target.address);
}

ClusterDiscovery discover_cluster(const std::vector<HostPort>& seeds, const Server& node,
                                  std::chrono::milliseconds step_timeout) {
  ClusterDiscovery d;
  const auto step = std::min(step_timeout, node.timeout);
  const bool tls = node.endpoint.tls.enabled;
  bool any_auth = false, any_tls = false, any_protocol = false, any_connect = false;
  std::string tried;
  asio::io_context io(1);
  for (const HostPort& seed : seeds) {
    const Server s = at(node, seed);
    const Deadline deadline = Clock::now() + step;
    Client c(io);
    Reply r;
    std::string why;  // empty: it answered with a topology
    if (const ConnectError ce = c.connect(s.endpoint, deadline)) {
      (ce.kind == ConnectError::Kind::tls ? any_tls : any_connect) = true;
      why = ce.message;
    } else if (std::string err = authenticate(c, s, deadline); !err.empty()) {
      (err.starts_with("AUTH failed") ? any_auth : any_connect) = true;
      why = err;
    } else if (!(err = c.command({"CLUSTER", "SHARDS"}, r, deadline)).empty()) {
      any_connect = true;
      why = err;
    } else {
      std::optional<Topology> t;
      if (unknown_command(r)) {  // before 7.0
        if (!(err = c.command({"CLUSTER", "NODES"}, r, deadline)).empty()) {
          any_connect = true;
          why = err;
        } else if (r.type == Reply::Type::bulk) {
          t = read_cluster_nodes(r.str, tls, why);
          if (!t) any_protocol = true;
        }
      } else if (!r.is_error()) {
        t = read_cluster_shards(r, tls, why);
        if (!t) any_protocol = true;
      }
      if (why.empty() && r.is_error()) {
        if (auth_error(r.str)) {
          any_auth = true;
          why = r.str;
        } else {
          any_protocol = true;
          why = r.str.find("cluster support disabled") != std::string::npos
                    ? "not in cluster mode (cluster-enabled no)"
                    : r.str;
        }
      } else if (why.empty() && !t) {
        any_protocol = true;
        why = "an answer that is no cluster topology";
      } else if (t && t->shards.empty()) {
        any_protocol = true;
        why = "no master owns a slot (the cluster is not set up yet)";
      } else if (t) {
        d.found = true;
        d.topology = std::move(*t);
        d.seed = seed.name();
        return d;
      }
    }
    if (!tried.empty()) tried += "; ";
    tried += seed.name() + ": " + why;
  }
  d.failure = any_auth       ? Failure::auth
              : any_tls      ? Failure::tls
              : any_protocol ? Failure::protocol
                             : Failure::connect;
  d.error = seeds.empty() ? "no cluster seed node given"
                          : "no seed node gave the cluster's topology: " + tried;
  return d;
}

void run_links(std::size_t n, std::size_t parallel,
               const std::function<LinkParts(std::size_t)>& make,
               const std::function<void(std::size_t, const SessionResult&)>& done) {
  asio::io_context io(1);
  std::vector<std::unique_ptr<Link>> links(n);
  std::size_t next = 0, running = 0;
  parallel = std::max<std::size_t>(parallel, 1);
  auto start_more = [&] {
    while (running < parallel && next < n) {
      const LinkParts p = make(next);
      links[next] = std::make_unique<Link>(io, p.server, *p.replica, *p.handler);
      links[next]->start();
      ++running;
      ++next;
    }
  };
  auto reap = [&] {
    bool any = false;
    for (std::size_t i = 0; i < next; ++i)
      if (links[i] && links[i]->finished()) {
        const SessionResult r = links[i]->result();
        links[i].reset();
        --running;
        any = true;
        done(i, r);
      }
    return any;
  };
  start_more();
  while (running > 0) {
    if (io.run_one() == 0) {
      io.restart();
      // Nothing left to run: every link must have ended; one that has not is stopped.
      if (!reap())
        for (auto& l : links)
          if (l) l->stop();
    }
    reap();
    start_more();
  }
  io.restart();
  io.run();  // what the links still had pending ends here
}

}  // namespace redis_repl::core::net
