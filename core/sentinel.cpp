#include "core/sentinel.hpp"

#include <algorithm>

#include "core/bytes.hpp"

namespace redis_repl::core {

std::string HostPort::name() const {
  const std::string p = std::to_string(port);
  return host.find(':') == std::string::npos ? host + ":" + p : "[" + host + "]:" + p;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address goes in brackets
  }
  if (host.find_first_of("[]/@ ") != std::string_view::npos) return std::nullopt;
  unsigned port = 0;
  if (!parse_decimal(text.substr(colon + 1), port) || port == 0 || port > 65535)
    return std::nullopt;
  return HostPort{std::string(host), static_cast<std::uint16_t>(port)};
}

MasterAddress read_master_address(const Reply& reply) {
  MasterAddress a;
  if (reply.type == Reply::Type::nil) {
    a.kind = MasterAddress::Kind::unknown_name;
    return a;
  }
  if (reply.is_error()) {
    const std::string& e = reply.str;
    const bool auth = e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") ||
                      e.starts_with("NOPERM") || e.starts_with("ERR AUTH");
    a.kind = auth ? MasterAddress::Kind::auth : MasterAddress::Kind::error;
    a.message = e;
    return a;
  }
  unsigned port = 0;
  if (reply.type != Reply::Type::array || reply.elements.size() != 2 ||
      reply.elements[0].type != Reply::Type::bulk || reply.elements[0].str.empty() ||
      reply.elements[1].type != Reply::Type::bulk || !parse_decimal(reply.elements[1].str, port) ||
      port == 0 || port > 65535) {
    a.message = "an answer that is no address";
    return a;
  }
  a.kind = MasterAddress::Kind::address;
  a.master = HostPort{reply.elements[0].str, static_cast<std::uint16_t>(port)};
  return a;
}

bool role_is_master(const Reply& reply) {
  return reply.type == Reply::Type::array && !reply.elements.empty() &&
         reply.elements[0].str == "master";
}

std::optional<HostPort> read_switch_master(std::string_view payload, std::string_view master_name) {
  std::vector<std::string_view> words;
  while (!payload.empty()) {
    const std::size_t space = payload.find(' ');
    const std::string_view w = payload.substr(0, space);
    if (!w.empty()) words.push_back(w);
    if (space == std::string_view::npos) break;
    payload.remove_prefix(space + 1);
  }
  unsigned port = 0;
  if (words.size() != 5 || words[0] != master_name || words[3].empty() ||
      !parse_decimal(words[4], port) || port == 0 || port > 65535)
    return std::nullopt;
  return HostPort{std::string(words[3]), static_cast<std::uint16_t>(port)};
}

namespace {

std::string_view what(SentinelAttempt::Outcome o) {
  switch (o) {
    case SentinelAttempt::Outcome::found:
      return "found it";
    case SentinelAttempt::Outcome::unreachable:
      return "unreachable";
    case SentinelAttempt::Outcome::tls:
      return "TLS failed";
    case SentinelAttempt::Outcome::auth:
      return "refused our credentials";
    case SentinelAttempt::Outcome::unknown_name:
      return "monitors no master of that name";
    case SentinelAttempt::Outcome::not_master:
      return "named no master";
    case SentinelAttempt::Outcome::master_auth:
      return "the master refused our credentials";
    case SentinelAttempt::Outcome::error:
      break;
  }
  return "failed";
}

}  // namespace

DiscoveryFailure summarize(const std::vector<SentinelAttempt>& attempts,
                           std::string_view master_name) {
  using O = SentinelAttempt::Outcome;
  DiscoveryFailure f;
  auto any = [&](O o) {
    return std::any_of(attempts.begin(), attempts.end(),
                       [o](const SentinelAttempt& a) { return a.outcome == o; });
  };
  auto all = [&](O o) {
    return !attempts.empty() &&
           std::all_of(attempts.begin(), attempts.end(),
                       [o](const SentinelAttempt& a) { return a.outcome == o; });
  };
  if (any(O::auth) || any(O::master_auth)) {
    f.failure = Failure::auth;
  } else if (any(O::tls)) {
    f.failure = Failure::tls;
  }
  const std::string name = "'" + std::string(master_name) + "'";
  if (all(O::unreachable)) {
    f.message = "no sentinel reachable to find master " + name + ":";
  } else if (all(O::unknown_name)) {
    f.message = "no sentinel knows a master named " + name + ":";
  } else {
    f.message = "the sentinels led to no master " + name + ":";
  }
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    const SentinelAttempt& a = attempts[i];
    f.message += (i ? "; " : " ") + a.sentinel + " ";
    f.message += what(a.outcome);
    if (!a.detail.empty()) f.message += " (" + a.detail + ")";
  }
  return f;
}

LinkOutcome link_outcome_of(const DiscoveryFailure& failure) {
  LinkOutcome o;
  switch (failure.failure) {
    case Failure::tls:
      o.end = SessionEnd::tls_failed;
      break;
    case Failure::auth:
      o.end = SessionEnd::finished;
      o.fail_kind = FailKind::auth;
      break;
    default:
      o.end = SessionEnd::connect_failed;
      break;
  }
  return o;
}

SentinelOrder::SentinelOrder(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) order_.push_back(i);
}

void SentinelOrder::answered(std::size_t sentinel) {
  const auto it = std::find(order_.begin(), order_.end(), sentinel);
  if (it != order_.end()) std::rotate(order_.begin(), it, it + 1);
}

std::optional<MasterTracker::Change> MasterTracker::observe(const HostPort& master) {
  std::optional<Change> change;
  if (current_ && !(*current_ == master)) change = Change{*current_, master};
  current_ = master;
  return change;
}

std::optional<std::int64_t> resume_on_promoted(const std::string& replid, std::int64_t offset,
                                               std::int64_t data_end, const std::string& replid2,
                                               std::int64_t second_repl_offset) {
  if (replid.empty() || replid != replid2 || second_repl_offset <= 0) return std::nullopt;
  const std::int64_t promoted_at = second_repl_offset - 1;
  if (offset <= promoted_at) return std::nullopt;   // PSYNC continues as it is
  if (data_end > promoted_at) return std::nullopt;  // the histories differ in data
  return promoted_at;
}

}  // namespace redis_repl::core
