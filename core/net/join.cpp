#include "core/net/join.hpp"

#include <thread>

#include "core/bytes.hpp"
#include "core/lag.hpp"
#include "core/net/client.hpp"

namespace redis_repl::core::net {
namespace {

// INFO replication's backlog state; empty on success. *answered: a reply came, if only an error.
std::string backlog_active(Client& c, Deadline deadline, bool& active, bool* answered = nullptr) {
  Reply r;
  if (std::string err = c.command({"INFO", "replication"}, r, deadline); !err.empty()) return err;
  if (answered) *answered = true;
  if (r.type != Reply::Type::bulk) return "INFO replication: " + (r.is_error() ? r.str : "no text");
  const auto info = parse_info(r.str);
  const auto it = info.find("repl_backlog_active");
  active = it != info.end() && it->second == "1";
  return {};
}

}  // namespace

std::string find_join_point(const Server& server, JoinPoint& out,
                            const std::function<void(const std::string&)>& note) {
  const Deadline deadline = Clock::now() + server.timeout;
  asio::io_context io;
  Client c(io);
  out.link_failed = true;
  if (std::string err = connect_and_auth(c, server, deadline); !err.empty()) return err;
  // A first reply shows the master can be reached (a TLS server may refuse us only now).
  bool active = false, answered = false;
  const std::string first = backlog_active(c, deadline, active, &answered);
  out.link_failed = !answered;
  if (!first.empty()) return first;

  Client primer(io);
  if (!active) {
    note(
        "the master keeps no replication backlog: asking it to start one (no snapshot is taken "
        "unless it syncs from disk, repl-diskless-sync no)");
    if (std::string err = connect_and_auth(primer, server, deadline); !err.empty()) return err;
    Reply r;
    if (std::string err =
            primer.command({"REPLCONF", "capa", "eof", "capa", "psync2"}, r, deadline);
        !err.empty() || r.is_error())
      return err.empty() ? "REPLCONF capa: " + r.str : err;
    // The reply (+FULLRESYNC) comes only when the master is ready to fork; the backlog is there
    // at once. The connection is closed as soon as it is, before any fork can begin.
    if (std::string err = primer.send({"PSYNC", "?", "-1"}, deadline); !err.empty()) return err;
    for (;;) {
      if (std::string err = backlog_active(c, deadline, active); !err.empty()) return err;
      if (active) break;
      if (Clock::now() + std::chrono::milliseconds(5) >= deadline)
        return "the master started no replication backlog";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    primer.close();
    out.created_backlog = true;
  }

  out.pin_channel = private_channel("pin");
  // One round trip: nothing of another client can come between INFO and the PUBLISH.
  Reply r;
  for (const auto& cmd : {std::initializer_list<std::string_view>{"MULTI"},
                          std::initializer_list<std::string_view>{"INFO", "replication"},
                          std::initializer_list<std::string_view>{"PUBLISH", out.pin_channel, "1"},
                          std::initializer_list<std::string_view>{"EXEC"}})
    if (std::string err = c.send(cmd, deadline); !err.empty()) return err;
  for (const char* step : {"MULTI", "INFO", "PUBLISH"}) {
    if (std::string err = c.read_reply(r, deadline); !err.empty()) return err;
    if (r.is_error()) return std::string(step) + ": " + r.str;
  }
  if (std::string err = c.read_reply(r, deadline); !err.empty()) return err;
  if (r.type != Reply::Type::array || r.elements.size() != 2 ||
      r.elements[0].type != Reply::Type::bulk)
    return "EXEC: " + (r.is_error() ? r.str : std::string("unexpected reply"));
  const auto info = parse_info(r.elements[0].str);
  const auto id = info.find("master_replid");
  const auto off = info.find("master_repl_offset");
  std::int64_t offset = -1;
  if (id == info.end() || off == info.end() || !parse_decimal(off->second, offset) || offset < 0)
    return "INFO replication has no master_replid or master_repl_offset";
  out.replid = id->second;
  out.offset = offset;
  c.close();
  return {};
}

std::string promotion_point(const Server& server, std::string& replid2,
                            std::int64_t& second_repl_offset) {
  asio::io_context io;
  const Deadline deadline = Clock::now() + server.timeout;
  Client c(io);
  if (std::string err = connect_and_auth(c, server, deadline); !err.empty()) return err;
  Reply r;
  if (std::string err = c.command({"INFO", "replication"}, r, deadline); !err.empty()) return err;
  if (r.type != Reply::Type::bulk) return "INFO replication: " + (r.is_error() ? r.str : "no text");
  const auto info = parse_info(r.str);
  replid2.clear();
  second_repl_offset = -1;
  if (const auto it = info.find("master_replid2"); it != info.end()) replid2 = it->second;
  if (const auto it = info.find("second_repl_offset"); it != info.end()) {
    std::int64_t v = 0;
    if (parse_decimal(it->second, v)) second_repl_offset = v;
  }
  return {};
}

}  // namespace redis_repl::core::net
