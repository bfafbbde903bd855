// ClusterSet: see cluster_set.hpp.
#include "support/cluster_set.hpp"

#include <algorithm>
#include <sstream>
#include <thread>

#include "core/cluster.hpp"
#include "support/replica_set.hpp"

namespace redis_repl::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string cli_program() { return std::string(current_server_kind().cli); }

}  // namespace

ClusterSet::ClusterSet(std::size_t masters, std::size_t replicas_per_master,
                       const std::vector<std::string>& extra_args, milliseconds ready_timeout)
    : replicas_per_master_(replicas_per_master) {
  const std::size_t n = masters * (1 + replicas_per_master);
  for (std::size_t i = 0; i < n; ++i) {
    ServerOptions o;
    // The bus on a free port of its own: port+10000 may be taken, or past 65535.
    o.extra_args = {"--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-port",
                    std::to_string(unused_loopback_port()),
                    "--cluster-node-timeout",
                    "5000",
                    "--appendonly",
                    "no",
                    "--save",
                    "",
                    "--hz",
                    "100",
                    "--shutdown-timeout",
                    "0"};
    o.extra_args.insert(o.extra_args.end(), extra_args.begin(), extra_args.end());
    nodes_.push_back(std::make_unique<RedisServer>(o));
  }
  for (auto& node : nodes_) {
    RespClient c = node->client();
    const Reply r = c.command({"CLUSTER", "MYID"});
    if (r.type != Reply::Type::bulk) throw HarnessError("CLUSTER MYID: " + r.describe());
    ids_.push_back(r.str);
  }
  std::vector<std::string> argv{cli_program(), "--cluster", "create"};
  for (const int p : ports()) argv.push_back("127.0.0.1:" + std::to_string(p));
  for (const char* a : {"--cluster-replicas", "--cluster-yes"}) {
    argv.emplace_back(a);
    if (std::string_view(a) == "--cluster-replicas")
      argv.push_back(std::to_string(replicas_per_master));
  }
  const ProgramResult created = run_program(argv, milliseconds(60000));
  if (created.exit_code != 0)
    throw HarnessError("cluster create failed (" + std::to_string(created.exit_code) +
                       "): " + created.out + created.err);
  wait_ready(ready_timeout);
}

ClusterSet::~ClusterSet() {
  for (auto& n : nodes_) n->request_stop();
  for (auto& n : nodes_) n->stop();
}

std::vector<int> ClusterSet::ports() const {
  std::vector<int> out;
  for (const auto& n : nodes_) out.push_back(n->port());
  return out;
}

std::size_t ClusterSet::index_of(const std::string& node_id) const {
  const auto it = std::find(ids_.begin(), ids_.end(), node_id);
  if (it == ids_.end()) throw HarnessError("no node has id " + node_id);
  return static_cast<std::size_t>(it - ids_.begin());
}

std::size_t ClusterSet::index_of_port(int port) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i]->port() == port) return i;
  throw HarnessError("no node has port " + std::to_string(port));
}

std::vector<SlotsEntry> ClusterSet::slots(std::size_t i) {
  RespClient c = node(i).client(milliseconds(5000));
  const Reply r = c.command({"CLUSTER", "SLOTS"});
  if (r.type != Reply::Type::array) throw HarnessError("CLUSTER SLOTS: " + r.describe());
  std::vector<SlotsEntry> out;
  for (const Reply& e : r.elements) {
    if (e.type != Reply::Type::array || e.elements.size() < 3 ||
        e.elements[2].type != Reply::Type::array || e.elements[2].elements.size() < 3)
      throw HarnessError("CLUSTER SLOTS entry: " + e.describe());
    SlotsEntry s;
    s.first = static_cast<std::uint16_t>(e.elements[0].integer);
    s.last = static_cast<std::uint16_t>(e.elements[1].integer);
    s.master_port = static_cast<int>(e.elements[2].elements[1].integer);
    s.master_id = e.elements[2].elements[2].str;
    for (std::size_t k = 3; k < e.elements.size(); ++k)
      if (e.elements[k].type == Reply::Type::array && e.elements[k].elements.size() >= 3)
        s.replica_ids.push_back(e.elements[k].elements[2].str);
    std::sort(s.replica_ids.begin(), s.replica_ids.end());
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const SlotsEntry& a, const SlotsEntry& b) { return a.first < b.first; });
  return out;
}

std::vector<std::size_t> ClusterSet::masters() {
  std::vector<std::size_t> out;
  for (const SlotsEntry& s : slots()) {
    const std::size_t m = index_of(s.master_id);
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

std::vector<std::size_t> ClusterSet::replicas_of(std::size_t master) {
  for (const SlotsEntry& s : slots())
    if (s.master_id == ids_.at(master)) {
      std::vector<std::size_t> out;
      for (const std::string& id : s.replica_ids) out.push_back(index_of(id));
      return out;
    }
  return {};
}

RedisServer& ClusterSet::master_for_slot(std::uint16_t slot) {
  for (const SlotsEntry& s : slots())
    if (slot >= s.first && slot <= s.last) return node(index_of(s.master_id));
  throw HarnessError("no master owns slot " + std::to_string(slot));
}

void ClusterSet::write(const std::string& key, const std::string& value) {
  RespClient c = master_for_slot(core::key_slot(key)).client();
  const Reply r = c.command({"SET", key, value});
  if (r.is_error()) throw HarnessError("SET " + key + ": " + r.describe());
}

std::int64_t ClusterSet::total_keys() {
  std::int64_t n = 0;
  for (const std::size_t m : masters()) {
    RespClient c = node(m).client();
    n += c.command({"DBSIZE"}).integer;
  }
  return n;
}

void ClusterSet::failover(std::size_t replica, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  {
    RespClient c = node(replica).client();
    const Reply r = c.command({"CLUSTER", "FAILOVER"});
    if (r.is_error()) throw HarnessError("CLUSTER FAILOVER: " + r.describe());
  }
  for (;;) {
    RespClient c = node(replica).client();
    const Reply role = c.command({"ROLE"});
    if (!role.elements.empty() && role.elements[0].str == "master") {
      const std::vector<std::size_t> ms = masters();
      if (std::find(ms.begin(), ms.end(), replica) != ms.end()) break;
    }
    if (Clock::now() >= deadline)
      throw HarnessError("node " + std::to_string(replica) + " not promoted in time:\n" +
                         describe());
    std::this_thread::sleep_for(milliseconds(100));
  }
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  wait_ready(std::max(left, milliseconds(1000)));
}

std::vector<std::string> ClusterSet::reshard_argv(const std::string& from_id,
                                                  const std::string& to_id,
                                                  std::size_t slot_count) const {
  return {cli_program(),     "--cluster",
          "reshard",         "127.0.0.1:" + std::to_string(nodes_.at(0)->port()),
          "--cluster-from",  from_id,
          "--cluster-to",    to_id,
          "--cluster-slots", std::to_string(slot_count),
          "--cluster-yes"};
}

ProgramResult ClusterSet::reshard(const std::string& from_id, const std::string& to_id,
                                  std::size_t slot_count, milliseconds timeout) {
  const ProgramResult r = run_program(reshard_argv(from_id, to_id, slot_count), timeout);
  if (r.exit_code != 0)
    throw HarnessError("cluster reshard failed (" + std::to_string(r.exit_code) + "): " + r.out +
                       r.err);
  wait_ready(milliseconds(30000));
  return r;
}

void ClusterSet::wait_ready(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "not asked yet";
  for (;;) {
    try {
      bool ready = true;
      std::vector<SlotsEntry> first;
      for (std::size_t i = 0; i < nodes_.size() && ready; ++i) {
        RespClient c = node(i).client(milliseconds(2000));
        const Reply info = c.command({"CLUSTER", "INFO"});
        if (info.str.find("cluster_state:ok") == std::string::npos ||
            info.str.find("cluster_known_nodes:" + std::to_string(nodes_.size()) + "\r") ==
                std::string::npos) {
          last = "node " + std::to_string(i) + ": " + info.describe(400);
          ready = false;
          break;
        }
        const Reply nodes = c.command({"CLUSTER", "NODES"});
        bool replica = false;
        for (const std::string& line : lines_of(nodes.str)) {
          std::istringstream words(line);
          std::string id, addr, flags;
          words >> id >> addr >> flags;
          if (flags.find("handshake") != std::string::npos ||
              flags.find("fail") != std::string::npos ||
              flags.find("noaddr") != std::string::npos) {
            last = "node " + std::to_string(i) + " sees " + line;
            ready = false;
          }
          if (flags.find("myself") != std::string::npos && flags.find("slave") != std::string::npos)
            replica = true;
        }
        if (ready && replica && info_fields(c, "replication")["master_link_status"] != "up") {
          last = "node " + std::to_string(i) + ": master link not up";
          ready = false;
        }
        if (!ready) break;
        std::vector<SlotsEntry> s = slots(i);
        std::size_t covered = 0;
        bool all_replicas = true;
        for (const SlotsEntry& e : s) {
          covered += static_cast<std::size_t>(e.last - e.first) + 1;
          if (e.replica_ids.size() != replicas_per_master_) all_replicas = false;
        }
        if (!all_replicas) {
          last = "node " + std::to_string(i) + " does not list every replica in CLUSTER SLOTS";
          ready = false;
        } else if (covered != core::cluster_slots) {
          last = "node " + std::to_string(i) + " covers " + std::to_string(covered) + " slots";
          ready = false;
        } else if (i == 0) {
          first = std::move(s);
        } else if (s != first) {
          last = "node " + std::to_string(i) + " has another slot map than node 0";
          ready = false;
        }
      }
      if (ready) return;
    } catch (const HarnessError& e) {
      last = e.what();
    }
    if (Clock::now() >= deadline)
      throw HarnessError("cluster not ready in time (" + last + "):\n" + describe());
    std::this_thread::sleep_for(milliseconds(100));
  }
}

std::string ClusterSet::describe() {
  std::string out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    out += "node " + std::to_string(i) + " (port " + std::to_string(nodes_[i]->port()) + "):\n";
    try {
      RespClient c = node(i).client(milliseconds(2000));
      out += c.command({"CLUSTER", "NODES"}).str;
    } catch (const HarnessError& e) {
      out += std::string(e.what()) + "\n";
    }
  }
  return out;
}

}  // namespace redis_repl::test
