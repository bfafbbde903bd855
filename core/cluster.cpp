#include "core/cluster.hpp"

#include <algorithm>
#include <map>

#include "core/bytes.hpp"

namespace redis_repl::core {

namespace {

// A host name or address as a server may announce it: printable ASCII, no spaces.
bool is_host_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool is_hex_id(std::string_view s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// Sorts and merges adjacent or overlapping ranges; false when two overlap.
bool normalize(std::vector<SlotRange>& slots) {
  std::sort(slots.begin(), slots.end(),
            [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  std::vector<SlotRange> out;
  bool overlap = false;
  for (const SlotRange& r : slots) {
    if (!out.empty() && r.first <= out.back().last) overlap = true;
    if (!out.empty() && r.first <= out.back().last + 1) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  slots = std::move(out);
  return !overlap;
}

// Orders the shards by first slot; false (with error) when two own the same slot.
bool finish(Topology& t, std::string& error) {
  for (Shard& s : t.shards) {
    std::sort(s.migrating.begin(), s.migrating.end());
    std::sort(s.importing.begin(), s.importing.end());
  }
  std::sort(t.shards.begin(), t.shards.end(), [](const Shard& a, const Shard& b) {
    return a.slots.front().first < b.slots.front().first;
  });
  std::vector<bool> owned(cluster_slots, false);
  for (const Shard& s : t.shards)
    for (const SlotRange& r : s.slots)
      for (std::uint32_t slot = r.first; slot <= r.last; ++slot) {
        if (owned[slot]) {
          error = "slot " + std::to_string(slot) + " is owned by two masters";
          return false;
        }
        owned[slot] = true;
      }
  return true;
}

std::optional<std::uint16_t> slot_number(std::string_view s) {
  unsigned v = 0;
  if (!parse_decimal(s, v) || v >= cluster_slots) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[(static_cast<unsigned char>(c) >> 4) & 0xf]);
      out.push_back(hex[static_cast<unsigned char>(c) & 0xf]);
    }
  }
  if (s.size() > 60) out += "...";
  return out;
}

// One node of CLUSTER SHARDS: a flat array of names and values.
struct ShardsNode {
  ClusterNode node;
  bool master = false;
};

bool read_shards_node(const Reply& r, bool tls, ShardsNode& out, std::string& error) {
  if (r.type != Reply::Type::array || r.elements.size() % 2 != 0) {
    error = "a node that is not a list of names and values";
    return false;
  }
  std::string ip, endpoint, hostname, role, health;
  std::int64_t port = -1, tls_port = -1;
  bool has_offset = false;
  for (std::size_t i = 0; i < r.elements.size(); i += 2) {
    const Reply& k = r.elements[i];
    const Reply& v = r.elements[i + 1];
    if (k.type != Reply::Type::bulk && k.type != Reply::Type::status) {
      error = "a node field name that is not a string";
      return false;
    }
    const bool text = v.type == Reply::Type::bulk || v.type == Reply::Type::status;
    const bool number = v.type == Reply::Type::integer;
    if (k.str == "id") {
      if (!text || !is_hex_id(v.str)) {
        error = "a node id that is not 40 hex digits";
        return false;
      }
      out.node.id = v.str;
    } else if (k.str == "port" || k.str == "tls-port") {
      if (!number || v.integer < 0 || v.integer > 65535) {
        error = "a node " + k.str + " that is not a port number";
        return false;
      }
      (k.str == "port" ? port : tls_port) = v.integer;
    } else if (k.str == "ip" && text) {
      ip = v.str;
    } else if (k.str == "endpoint" && text) {
      endpoint = v.str;
    } else if (k.str == "hostname" && text) {
      hostname = v.str;
    } else if (k.str == "role" && text) {
      role = v.str;
    } else if (k.str == "health" && text) {
      health = v.str;
    } else if (k.str == "replication-offset" && number) {
      out.node.offset = v.integer;
      has_offset = true;
    }
  }
  if (out.node.id.empty()) {
    error = "a node without an id";
    return false;
  }
  if (role != "master" && role != "replica") {
    error = "node " + out.node.id + " has role '" + printable(role) + "'";
    return false;
  }
  out.master = role == "master";
  if (!has_offset) out.node.offset = -1;
  if (!is_host_text(ip) || !is_host_text(endpoint) || !is_host_text(hostname)) {
    error = "node " + out.node.id + " announces an address that is not a host name";
    return false;
  }
  // The endpoint is what the cluster tells clients to use (cluster-preferred-endpoint-type);
  // "?" or empty means unknown, and the ip is used instead.
  std::string host = endpoint;
  if (host.empty() || host == "?") host = !ip.empty() ? ip : hostname;
  const std::int64_t p = tls && tls_port > 0 ? tls_port : port;
  out.node.address = HostPort{host, static_cast<std::uint16_t>(p > 0 ? p : 0)};
  out.node.healthy = health == "online" && !host.empty() && p > 0;
  return true;
}

}  // namespace

std::optional<Topology> read_cluster_shards(const Reply& reply, bool tls, std::string& error) {
  if (reply.is_error()) {
    error = "CLUSTER SHARDS: " + printable(reply.str);
    return std::nullopt;
  }
  if (reply.type != Reply::Type::array) {
    error = "CLUSTER SHARDS: the reply is not a list of shards";
    return std::nullopt;
  }
  Topology t;
  std::size_t nodes = 0;
  for (const Reply& s : reply.elements) {
    if (s.type != Reply::Type::array || s.elements.size() % 2 != 0) {
      error = "CLUSTER SHARDS: a shard that is not a list of names and values";
      return std::nullopt;
    }
    Shard shard;
    bool has_master = false;
    for (std::size_t i = 0; i < s.elements.size(); i += 2) {
      const Reply& k = s.elements[i];
      const Reply& v = s.elements[i + 1];
      if (k.str == "slots") {
        if (v.type != Reply::Type::array || v.elements.size() % 2 != 0 ||
            v.elements.size() > 2 * cluster_slots) {
          error = "CLUSTER SHARDS: slots that are not pairs of slot numbers";
          return std::nullopt;
        }
        for (std::size_t j = 0; j < v.elements.size(); j += 2) {
          const Reply& a = v.elements[j];
          const Reply& b = v.elements[j + 1];
          if (a.type != Reply::Type::integer || b.type != Reply::Type::integer || a.integer < 0 ||
              b.integer < a.integer || b.integer >= cluster_slots) {
            error = "CLUSTER SHARDS: a slot range that is not from 0 to 16383";
            return std::nullopt;
          }
          shard.slots.push_back(
              {static_cast<std::uint16_t>(a.integer), static_cast<std::uint16_t>(b.integer)});
        }
      } else if (k.str == "shard-id") {
        if ((v.type != Reply::Type::bulk && v.type != Reply::Type::status) || !is_hex_id(v.str)) {
          error = "CLUSTER SHARDS: a shard-id that is not 40 hex digits";
          return std::nullopt;
        }
        shard.id = v.str;
        shard.id_from_server = true;
      } else if (k.str == "nodes") {
        if (v.type != Reply::Type::array) {
          error = "CLUSTER SHARDS: nodes that are not a list";
          return std::nullopt;
        }
        nodes += v.elements.size();
        if (nodes > max_cluster_nodes) {
          error = "CLUSTER SHARDS: more than " + std::to_string(max_cluster_nodes) + " nodes";
          return std::nullopt;
        }
        for (const Reply& n : v.elements) {
          ShardsNode sn;
          std::string why;
          if (!read_shards_node(n, tls, sn, why)) {
            error = "CLUSTER SHARDS: " + why;
            return std::nullopt;
          }
          if (sn.master && has_master) {
            // A failed master and its successor can both say "master" for a moment: the
            // healthy one leads the shard.
            if (sn.node.healthy && !shard.master.healthy) std::swap(sn.node, shard.master);
            continue;
          }
          if (sn.master) {
            shard.master = std::move(sn.node);
            has_master = true;
          } else {
            shard.replicas.push_back(std::move(sn.node));
          }
        }
      }
    }
    if (shard.slots.empty()) continue;  // a master without slots serves nothing
    if (!has_master) {
      error = "CLUSTER SHARDS: the shard with slots " + slots_text(shard.slots) + " has no master";
      return std::nullopt;
    }
    if (!normalize(shard.slots)) {
      error = "CLUSTER SHARDS: overlapping slot ranges in one shard";
      return std::nullopt;
    }
    if (shard.id.empty()) shard.id = shard.master.id;
    t.shards.push_back(std::move(shard));
  }
  if (!finish(t, error)) {
    error = "CLUSTER SHARDS: " + error;
    return std::nullopt;
  }
  return t;
}

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

struct NodesLine {
  ClusterNode node;
  bool master = false;
  std::string master_id;
  Shard shard;  // slots, migrating, importing
};

bool read_nodes_line(std::string_view line, NodesLine& out, std::string& error) {
  std::vector<std::string_view> w;
  for (const std::string_view f : split(line, ' '))
    if (!f.empty()) {
      if (w.size() > 8 + 2 * cluster_slots) {
        error = "a line with more slots than there are";
        return false;
      }
      w.push_back(f);
    }
  if (w.size() < 8) {
    error = "a line with fewer than 8 fields: '" + printable(line) + "'";
    return false;
  }
  if (!is_hex_id(w[0])) {
    error = "a node id that is not 40 hex digits: '" + printable(w[0]) + "'";
    return false;
  }
  out.node.id = std::string(w[0]);
  // ip:port@cport[,hostname] (before 4.0: ip:port)
  std::string_view addr = w[1];
  std::string_view hostname;
  if (const std::size_t comma = addr.find(','); comma != std::string_view::npos) {
    hostname = addr.substr(comma + 1);
    addr = addr.substr(0, comma);
  }
  addr = addr.substr(0, addr.find('@'));
  const std::size_t colon = addr.rfind(':');
  unsigned port = 0;
  if (colon == std::string_view::npos || !parse_decimal(addr.substr(colon + 1), port) ||
      port > 65535) {
    error = "node " + out.node.id + " has no ip:port: '" + printable(w[1]) + "'";
    return false;
  }
  std::string_view ip = addr.substr(0, colon);
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  const std::string_view host = ip.empty() ? hostname : ip;
  if (!is_host_text(ip) || !is_host_text(hostname)) {
    error = "node " + out.node.id + " announces an address that is not a host name";
    return false;
  }
  out.node.address = HostPort{std::string(host), static_cast<std::uint16_t>(port)};
  bool healthy = !host.empty() && port > 0;
  bool replica = false;
  for (const std::string_view flag : split(w[2], ',')) {
    if (flag == "master") out.master = true;
    if (flag == "slave" || flag == "replica") replica = true;
    if (flag == "fail" || flag == "fail?" || flag == "handshake" || flag == "noaddr")
      healthy = false;
  }
  if (out.master == replica) {
    error = "node " + out.node.id + " is neither master nor replica: '" + printable(w[2]) + "'";
    return false;
  }
  out.node.healthy = healthy;
  if (replica) {
    if (!is_hex_id(w[3])) {
      error = "replica " + out.node.id + " names no master";
      return false;
    }
    out.master_id = std::string(w[3]);
  }
  for (std::size_t i = 8; i < w.size(); ++i) {
    std::string_view s = w[i];
    if (s.front() == '[') {  // [slot->-id] migrating, [slot-<-id] importing
      if (s.back() != ']') {
        error = "a slot marker without ']': '" + printable(s) + "'";
        return false;
      }
      s = s.substr(1, s.size() - 2);
      const std::size_t dash = s.find('-');
      const std::string_view dir = dash == std::string_view::npos ? "" : s.substr(dash, 2);
      const std::optional<std::uint16_t> slot = slot_number(s.substr(0, dash));
      if (!slot || (dir != "->" && dir != "-<") || s.substr(dash + 2, 1) != "-" ||
          !is_hex_id(s.substr(dash + 3))) {
        error =
            "a slot marker that is neither [slot->-id] nor [slot-<-id]: '" + printable(w[i]) + "'";
        return false;
      }
      (dir == "->" ? out.shard.migrating : out.shard.importing).push_back(*slot);
      continue;
    }
    const std::size_t dash = s.find('-');
    const std::optional<std::uint16_t> a = slot_number(s.substr(0, dash));
    const std::optional<std::uint16_t> b =
        dash == std::string_view::npos ? a : slot_number(s.substr(dash + 1));
    if (!a || !b || *b < *a) {
      error = "a slot range that is not from 0 to 16383: '" + printable(s) + "'";
      return false;
    }
    out.shard.slots.push_back({*a, *b});
  }
  if (!out.master && !out.shard.slots.empty()) {
    error = "replica " + out.node.id + " owns slots";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Topology> read_cluster_nodes(std::string_view text, bool /*tls*/,
                                           std::string& error) {
  // CLUSTER NODES gives one port: the one clients use (over TLS when the cluster's clients are).
  std::vector<NodesLine> lines;
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (lines.size() >= max_cluster_nodes) {
      error = "CLUSTER NODES: more than " + std::to_string(max_cluster_nodes) + " nodes";
      return std::nullopt;
    }
    NodesLine n;
    std::string why;
    if (!read_nodes_line(line, n, why)) {
      error = "CLUSTER NODES: " + why;
      return std::nullopt;
    }
    lines.push_back(std::move(n));
  }
  Topology t;
  std::map<std::string, std::size_t> by_master;  // node id -> index in t.shards
  for (NodesLine& n : lines) {
    if (!n.master || n.shard.slots.empty()) continue;
    if (by_master.count(n.node.id)) {
      error = "CLUSTER NODES: node " + n.node.id + " is listed twice";
      return std::nullopt;
    }
    Shard s = std::move(n.shard);
    if (!normalize(s.slots)) {
      error = "CLUSTER NODES: overlapping slot ranges for node " + n.node.id;
      return std::nullopt;
    }
    s.master = n.node;
    s.id = s.master.id;
    by_master[s.master.id] = t.shards.size();
    t.shards.push_back(std::move(s));
  }
  for (NodesLine& n : lines) {
    if (n.master) continue;
    const auto it = by_master.find(n.master_id);
    if (it != by_master.end()) t.shards[it->second].replicas.push_back(std::move(n.node));
  }
  if (!finish(t, error)) {
    error = "CLUSTER NODES: " + error;
    return std::nullopt;
  }
  return t;
}

void assign_shard_ids(const Topology& known, Topology& fresh) {
  auto members = [](const Shard& s) {
    std::vector<const std::string*> ids{&s.master.id};
    for (const ClusterNode& r : s.replicas) ids.push_back(&r.id);
    return ids;
  };
  std::vector<std::string> taken;
  for (const Shard& f : fresh.shards)
    if (f.id_from_server) taken.push_back(f.id);
  for (Shard& f : fresh.shards) {
    if (f.id_from_server) continue;
    const std::vector<const std::string*> mine = members(f);
    std::string id;
    // The known shard whose master is one of ours first (no failover), then any shared node.
    for (int pass = 0; pass < 2 && id.empty(); ++pass)
      for (const Shard& k : known.shards) {
        const std::vector<const std::string*> theirs = members(k);
        const bool shares = std::any_of(mine.begin(), mine.end(), [&](const std::string* m) {
          return pass == 0 ? *m == k.master.id
                           : std::any_of(theirs.begin(), theirs.end(),
                                         [&](const std::string* t) { return *t == *m; });
        });
        if (shares && std::find(taken.begin(), taken.end(), k.id) == taken.end()) {
          id = k.id;
          break;
        }
      }
    if (id.empty()) id = f.master.id;
    f.id = id;
    taken.push_back(id);
  }
}

std::uint16_t key_slot(std::string_view key) {
  if (const std::size_t open = key.find('{'); open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  std::uint16_t crc = 0;  // CRC16-XMODEM: polynomial 0x1021, initial value 0, no reflection
  for (const char c : key) {
    crc = static_cast<std::uint16_t>(crc ^ (static_cast<unsigned char>(c) << 8));
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return static_cast<std::uint16_t>(crc % cluster_slots);
}

const Shard* shard_for_slot(const Topology& topology, std::uint16_t slot) {
  for (const Shard& s : topology.shards)
    for (const SlotRange& r : s.slots)
      if (slot >= r.first && slot <= r.last) return &s;
  return nullptr;
}

std::string slots_text(const std::vector<SlotRange>& slots) {
  std::string out;
  for (const SlotRange& r : slots) {
    if (!out.empty()) out += ',';
    out += std::to_string(r.first);
    if (r.last != r.first) out += "-" + std::to_string(r.last);
  }
  return out;
}

std::size_t slots_covered(const Topology& topology, bool* overlap) {
  std::vector<bool> owned(cluster_slots, false);
  std::size_t n = 0;
  if (overlap) *overlap = false;
  for (const Shard& s : topology.shards)
    for (const SlotRange& r : s.slots)
      for (std::uint32_t slot = r.first; slot <= r.last; ++slot) {
        if (owned[slot]) {
          if (overlap) *overlap = true;
        } else {
          owned[slot] = true;
          ++n;
        }
      }
  return n;
}

}  // namespace redis_repl::core
