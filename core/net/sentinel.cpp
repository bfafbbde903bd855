#include "core/net/sentinel.hpp"

#include <algorithm>

#include "core/net/client.hpp"

namespace redis_repl::core::net {

namespace {

Server sentinel_server(const SentinelConfig& config, const HostPort& s, const Endpoint& like) {
  Server sentinel;
  sentinel.endpoint = like;  // the TLS options too
  sentinel.endpoint.unix_path.clear();
  sentinel.endpoint.host = s.host;
  sentinel.endpoint.port = s.port;
  sentinel.user = config.user;
  sentinel.password = config.password;
  return sentinel;
}

// Ends the session when the sentinel said the master moved.
class Following final : public SessionHandler {
 public:
  Following(SessionHandler& inner, const std::optional<HostPort>& switched)
      : inner_(inner), switched_(switched) {}
  bool on_event(const Event& event) override { return inner_.on_event(event); }
  std::int64_t on_batch_end() override { return inner_.on_batch_end(); }
  bool wants_stop() override {
    if (inner_.wants_stop()) return true;
    by_switch = switched_.has_value();
    return by_switch;
  }
  bool by_switch = false;  // the session ended because the master moved, for no other reason

 private:
  SessionHandler& inner_;
  const std::optional<HostPort>& switched_;
};

}  // namespace

MasterFinder::MasterFinder(SentinelConfig config, Server master)
    : config_(std::move(config)), master_(std::move(master)), order_(config_.sentinels.size()) {}

Discovery MasterFinder::find(const std::optional<HostPort>& moved_from) {
  using O = SentinelAttempt::Outcome;
  Discovery d;
  std::vector<SentinelAttempt> attempts;
  const auto step = std::min(config_.step_timeout, master_.timeout);
  asio::io_context io(1);
  for (const std::size_t i : order_.order()) {
    const HostPort& s = config_.sentinels[i];
    SentinelAttempt a;
    a.sentinel = s.name();
    const Server sentinel = sentinel_server(config_, s, master_.endpoint);
    const Deadline deadline = Clock::now() + step;
    Client c(io);
    Reply r;
    std::string err;
    if (const ConnectError ce = c.connect(sentinel.endpoint, deadline)) {
      a.outcome = ce.kind == ConnectError::Kind::tls ? O::tls : O::unreachable;
      a.detail = ce.message;
    } else if (!(err = authenticate(c, sentinel, deadline)).empty()) {
      a.outcome = err.starts_with("AUTH failed") ? O::auth : O::unreachable;
      a.detail = err;
    } else if (!(err = c.command({"SENTINEL", "get-master-addr-by-name", config_.master_name}, r,
                                 deadline))
                    .empty()) {
      a.outcome = O::unreachable;
      a.detail = err;
    } else {
      const MasterAddress m = read_master_address(r);
      if (m.kind == MasterAddress::Kind::unknown_name) a.outcome = O::unknown_name;
      if (m.kind == MasterAddress::Kind::auth) a.outcome = O::auth;
      a.detail = m.message;
      if (m.kind == MasterAddress::Kind::address && moved_from && m.master == *moved_from) {
        a.outcome = O::not_master;
        a.detail = "still names " + m.master.name() + ", the master before the failover";
      } else if (m.kind == MasterAddress::Kind::address) {
        c.close();
        // The address must be a master: a sentinel that missed a failover names the old one.
        Server master = master_;
        master.endpoint.unix_path.clear();
        master.endpoint.host = m.master.host;
        master.endpoint.port = m.master.port;
        Client mc(io);
        const Deadline md = Clock::now() + step;
        if (const ConnectError me = mc.connect(master.endpoint, md)) {
          a.outcome = me.kind == ConnectError::Kind::tls ? O::tls : O::not_master;
          a.detail = me.describe(master.endpoint);
        } else if (!(err = authenticate(mc, master, md)).empty()) {
          a.outcome = err.starts_with("AUTH failed") ? O::master_auth : O::not_master;
          a.detail = master.endpoint.name() + ": " + err;
        } else if (!(err = mc.command({"ROLE"}, r, md)).empty() ||
                   (!r.is_error() && !role_is_master(r))) {
          // (ROLE refused, as a replication-only ACL user may be: the address stands unchecked.)
          a.outcome = O::not_master;
          a.detail = m.master.name() + (err.empty() ? " is not a master" : ": " + err);
        } else {
          order_.answered(i);
          d.found = true;
          d.master = master;
          d.sentinel = a.sentinel;
          return d;
        }
      }
    }
    attempts.push_back(std::move(a));
  }
  d.failure = summarize(attempts, config_.master_name);
  return d;
}

SentinelConfig MasterFinder::config_in_order() const {
  SentinelConfig c = config_;
  c.sentinels.clear();
  for (const std::size_t i : order_.order()) c.sentinels.push_back(config_.sentinels[i]);
  return c;
}

SessionResult run_session_following(const Server& server, Replica& replica, SessionHandler& handler,
                                    const SentinelConfig& sentinels,
                                    std::optional<HostPort>& switched_to) {
  asio::io_context io(1);
  const HostPort current{server.endpoint.host, server.endpoint.port};
  std::optional<HostPort> to;
  Client watch(io);
  bool watching = false;
  const auto step = std::min(sentinels.step_timeout, server.timeout);
  for (const HostPort& s : sentinels.sentinels) {
    const Server sentinel = sentinel_server(sentinels, s, server.endpoint);
    const Deadline deadline = Clock::now() + step;
    Reply r;
    if (connect_and_auth(watch, sentinel, deadline).empty() &&
        watch.command({"SUBSCRIBE", "+switch-master"}, r, deadline).empty() &&
        r.type == Reply::Type::array) {
      watching = true;
      break;
    }
    watch.close();
  }
  if (watching)
    watch.listen([&](const Reply& m, Clock::time_point) {
      if (m.type != Reply::Type::array || m.elements.size() != 3 || m.elements[0].str != "message")
        return;
      const std::optional<HostPort> moved =
          read_switch_master(m.elements[2].str, sentinels.master_name);
      if (moved && !(*moved == current)) to = moved;
    });
  Following following(handler, to);
  Link link(io, server, replica, following);
  link.start();
  while (!link.finished())
    if (io.run_one() == 0) break;
  watch.close();
  io.restart();
  io.run();  // what the link and the watch still had pending ends here
  if (following.by_switch) switched_to = to;
  return link.result();
}

}  // namespace redis_repl::core::net
