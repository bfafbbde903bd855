// Shared support for the real-master tests: see replication.hpp.
#include "support/replication.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "support/fixtures.hpp"

namespace redis_repl::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string q(std::string_view bytes) { return quote_bytes(bytes, std::string::npos); }

std::string number_text(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out = "[";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ",";
    out += parts[i];
  }
  return out + "]";
}

const Reply& field_of(const Reply& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
    if (flat.elements[i].str == name) return flat.elements[i + 1];
  throw HarnessError("no field '" + std::string(name) + "' in " + flat.describe(100));
}

std::string int_or_null(const Reply& r) {
  return r.type == Reply::Type::integer ? std::to_string(r.integer) : "null";
}

std::string json_int_or_null(const json& v) {
  return v.is_number() ? std::to_string(v.get<std::int64_t>()) : "null";
}

std::string json_id_or_null(const json& v) { return v.is_string() ? v.get<std::string>() : "null"; }

// Canonical text of a stream read with XRANGE and XINFO STREAM FULL.
std::string server_stream(RespClient& c, const std::string& key) {
  std::vector<std::string> entries;
  for (const Reply& e : must(c, {"XRANGE", key, "-", "+"}).elements) {
    std::vector<std::string> fields;
    for (std::size_t i = 0; i + 1 < e.elements[1].elements.size(); i += 2)
      fields.push_back(q(e.elements[1].elements[i].str) + "=" +
                       q(e.elements[1].elements[i + 1].str));
    entries.push_back(e.elements[0].str + join(fields));
  }
  const Reply info = must(c, {"XINFO", "STREAM", key, "FULL", "COUNT", "0"});
  std::vector<std::string> groups;
  for (const Reply& g : field_of(info, "groups").elements) {
    std::vector<std::string> pel;
    for (const Reply& p : field_of(g, "pending").elements)
      pel.push_back(p.elements[0].str + ":" + std::to_string(p.elements[3].integer));
    std::sort(pel.begin(), pel.end());
    std::vector<std::string> consumers;
    for (const Reply& cons : field_of(g, "consumers").elements) {
      std::vector<std::string> ids;
      for (const Reply& p : field_of(cons, "pending").elements) ids.push_back(p.elements[0].str);
      std::sort(ids.begin(), ids.end());
      consumers.push_back(q(field_of(cons, "name").str) + join(ids));
    }
    std::sort(consumers.begin(), consumers.end());
    groups.push_back(q(field_of(g, "name").str) + " last=" + field_of(g, "last-delivered-id").str +
                     " read=" + int_or_null(field_of(g, "entries-read")) + " pel=" + join(pel) +
                     " consumers=" + join(consumers));
  }
  std::sort(groups.begin(), groups.end());
  return "entries=" + join(entries) +
         " length=" + std::to_string(field_of(info, "length").integer) +
         " last=" + field_of(info, "last-generated-id").str +
         " first=" + field_of(info, "recorded-first-entry-id").str +
         " maxdel=" + field_of(info, "max-deleted-entry-id").str +
         " added=" + std::to_string(field_of(info, "entries-added").integer) +
         " groups=" + join(groups);
}

std::string json_stream(const json& v) {
  std::vector<std::string> entries;
  for (const json& e : v.at("entries")) {
    std::vector<std::string> fields;
    for (const json& f : e.at(1))
      fields.push_back(q(json_bytes(f.at(0))) + "=" + q(json_bytes(f.at(1))));
    entries.push_back(e.at(0).get<std::string>() + join(fields));
  }
  std::vector<std::string> groups;
  for (const json& g : v.at("groups")) {
    std::vector<std::string> pel;
    for (const json& p : g.at("pending"))
      pel.push_back(p.at(0).get<std::string>() + ":" + std::to_string(p.at(2).get<std::int64_t>()));
    std::sort(pel.begin(), pel.end());
    std::vector<std::string> consumers;
    for (const json& cons : g.at("consumers")) {
      std::vector<std::string> ids;
      for (const json& p : cons.at("pending")) ids.push_back(p.get<std::string>());
      std::sort(ids.begin(), ids.end());
      consumers.push_back(q(json_bytes(cons.at("name"))) + join(ids));
    }
    std::sort(consumers.begin(), consumers.end());
    groups.push_back(q(json_bytes(g.at("name"))) +
                     " last=" + g.at("last_delivered_id").get<std::string>() +
                     " read=" + json_int_or_null(g.at("entries_read")) + " pel=" + join(pel) +
                     " consumers=" + join(consumers));
  }
  std::sort(groups.begin(), groups.end());
  return "entries=" + join(entries) +
         " length=" + std::to_string(v.at("length").get<std::int64_t>()) +
         " last=" + v.at("last_id").get<std::string>() +
         " first=" + json_id_or_null(v.at("first_id")) +
         " maxdel=" + json_id_or_null(v.at("max_deleted_entry_id")) +
         " added=" + json_int_or_null(v.at("entries_added")) + " groups=" + join(groups);
}

std::string dataset_key(std::uint64_t db, std::string_view key) {
  return "db:" + std::to_string(db) + " key:" + q(key);
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (char& ch : s) {
    x = x * 1103515245u + 12345u;
    ch = static_cast<char>((x >> 16) & 0xff);
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/redis-repl-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw HarnessError("mkdtemp '" + templ + "' failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::list() const {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> master_args(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--repl-diskless-sync-delay", "0",  "--hz", "100",
                                   "--enable-debug-command",     "yes"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (Clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(step);
  }
}

Reply must(RespClient& c, const std::vector<std::string>& args) {
  Reply r = c.command(args);
  if (r.is_error()) {
    std::string cmd;
    for (const std::string& a : args) cmd += (cmd.empty() ? "" : " ") + quote_bytes(a, 40);
    throw HarnessError(cmd + ": " + r.describe());
  }
  return r;
}

std::string info_field(RespClient& c, const std::string& section, const std::string& name) {
  const Reply r = must(c, {"INFO", section});
  const std::string key = "\r\n" + name + ":";
  std::string text = "\r\n" + r.str;
  const std::size_t at = text.find(key);
  if (at == std::string::npos) return {};
  const std::size_t b = at + key.size();
  return text.substr(b, text.find("\r\n", b) - b);
}

std::int64_t master_repl_offset(RespClient& c) {
  return std::stoll(info_field(c, "replication", "master_repl_offset"));
}

std::optional<std::int64_t> replica_ack_offset(RespClient& c, int n) {
  const std::string v = info_field(c, "replication", "slave" + std::to_string(n));
  const std::size_t at = v.find("offset=");
  if (at == std::string::npos) return std::nullopt;
  return std::stoll(v.substr(at + 7, v.find(',', at) - at - 7));
}

void populate_all_types(RespClient& c) {
  std::vector<std::vector<std::string>> cmds;
  // Strings: integer-encoded, embstr, raw, a big incompressible one, binary key and value.
  cmds.push_back({"SET", "str:int", "12345"});
  cmds.push_back({"SET", "str:neg", "-9007199254740993"});
  cmds.push_back({"SET", "str:short", "hello world"});
  cmds.push_back({"SET", "str:utf8", "caf\xc3\xa9 \xe2\x9c\x93"});
  cmds.push_back({"SET", "str:long", std::string(5000, 'x') + "end"});
  cmds.push_back({"SET", "str:big", random_bytes(300000, 1)});
  cmds.push_back({"SET", std::string("bin:\xff\x00\x01", 7), std::string("\x00\x80\xfe\r\n", 5)});
  cmds.push_back({"SET", "str:ttl", "soon", "PX", "3600000"});
  cmds.push_back({"SET", "str:empty", ""});
  // Lists: a small listpack, a big quicklist, one with big elements.
  cmds.push_back({"RPUSH", "list:small", "a", "b", "3", "-4", ""});
  {
    std::vector<std::string> big = {"RPUSH", "list:big"};
    for (int i = 0; i < 3000; ++i) big.push_back("item-" + std::to_string(i));
    cmds.push_back(big);
  }
  cmds.push_back({"RPUSH", "list:fat", std::string(20000, 'L'), random_bytes(9000, 2), "tail"});
  // Sets: intset, small and big hashtable.
  cmds.push_back({"SADD", "set:ints", "1", "2", "3", "-70000", "4294967296"});
  cmds.push_back({"SADD", "set:small", "apple", "banana", "cherry"});
  {
    std::vector<std::string> big = {"SADD", "set:big"};
    for (int i = 0; i < 1000; ++i) big.push_back("member-" + std::to_string(i));
    cmds.push_back(big);
  }
  // Sorted sets: listpack and skiplist, with fractional and negative scores.
  cmds.push_back({"ZADD", "zset:small", "1.5", "one", "-2", "two", "3", "three"});
  {
    std::vector<std::string> big = {"ZADD", "zset:big"};
    for (int i = 0; i < 800; ++i) {
      big.push_back(std::to_string(i * 0.25 - 50));
      big.push_back("z-" + std::to_string(i));
    }
    cmds.push_back(big);
  }
  // Hashes: listpack and hashtable, one with a long value.
  cmds.push_back({"HSET", "hash:small", "f1", "v1", "f2", "22", "f3", ""});
  {
    std::vector<std::string> big = {"HSET", "hash:big"};
    for (int i = 0; i < 1000; ++i) {
      big.push_back("field-" + std::to_string(i));
      big.push_back("value-" + std::to_string(i * 7));
    }
    cmds.push_back(big);
  }
  cmds.push_back({"HSET", "hash:longval", "k", std::string(1000, 'h')});
  // Streams: entries across nodes, a deleted entry, two groups, consumers with pending entries.
  for (int i = 1; i <= 150; ++i)
    cmds.push_back({"XADD", "stream:s", std::to_string(1000 + i) + "-" + std::to_string(i % 3), "n",
                    std::to_string(i), "payload",
                    std::string(static_cast<std::size_t>(i % 7), 'p')});
  cmds.push_back({"XDEL", "stream:s", "1010-1"});
  cmds.push_back({"XGROUP", "CREATE", "stream:s", "g1", "0"});
  cmds.push_back({"XGROUP", "CREATE", "stream:s", "g2", "$"});
  cmds.push_back({"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "stream:s", ">"});
  cmds.push_back({"XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "stream:s", ">"});
  cmds.push_back({"XACK", "stream:s", "g1", "1001-1"});
  cmds.push_back({"XGROUP", "CREATECONSUMER", "stream:s", "g2", "idle"});
  cmds.push_back({"XADD", "stream:empty", "1-1", "a", "b"});
  cmds.push_back({"XDEL", "stream:empty", "1-1"});
  // Other dbs.
  cmds.push_back({"SELECT", "1"});
  cmds.push_back({"SET", "db1:str", "in db 1"});
  cmds.push_back({"RPUSH", "db1:list", "x", "y"});
  cmds.push_back({"HSET", "db1:hash", "a", "1"});
  cmds.push_back({"PEXPIRE", "db1:hash", "7200000"});
  cmds.push_back({"SELECT", "5"});
  cmds.push_back({"ZADD", "db5:zset", "0", "zero"});
  cmds.push_back({"SADD", "db5:set", "only"});
  cmds.push_back({"SELECT", "0"});
  for (const Reply& r : c.pipeline(cmds))
    if (r.is_error()) throw HarnessError("populate_all_types: " + r.describe());
}

std::map<std::string, std::string> server_dataset(RespClient& c) {
  std::map<std::string, std::string> out;
  for (int db = 0; db < 16; ++db) {
    must(c, {"SELECT", std::to_string(db)});
    for (const Reply& k : must(c, {"KEYS", "*"}).elements) {
      const std::string& key = k.str;
      const std::string type = must(c, {"TYPE", key}).str;
      const std::int64_t expire = must(c, {"PEXPIRETIME", key}).integer;
      std::string value;
      if (type == "string") {
        value = q(must(c, {"GET", key}).str);
      } else if (type == "list") {
        std::vector<std::string> items;
        for (const Reply& e : must(c, {"LRANGE", key, "0", "-1"}).elements)
          items.push_back(q(e.str));
        value = join(items);
      } else if (type == "set") {
        std::vector<std::string> items;
        for (const Reply& e : must(c, {"SMEMBERS", key}).elements) items.push_back(q(e.str));
        std::sort(items.begin(), items.end());
        value = join(items);
      } else if (type == "zset") {
        std::vector<std::string> items;
        const Reply r = must(c, {"ZRANGE", key, "0", "-1", "WITHSCORES"});
        for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
          items.push_back(q(r.elements[i].str) + "=" +
                          number_text(std::strtod(r.elements[i + 1].str.c_str(), nullptr)));
        std::sort(items.begin(), items.end());
        value = join(items);
      } else if (type == "hash") {
        std::vector<std::string> items;
        const Reply r = must(c, {"HGETALL", key});
        for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
          items.push_back(q(r.elements[i].str) + "=" + q(r.elements[i + 1].str));
        std::sort(items.begin(), items.end());
        value = join(items);
      } else if (type == "stream") {
        value = server_stream(c, key);
      } else {
        value = "(type " + type + ")";
      }
      out[dataset_key(static_cast<std::uint64_t>(db), key)] =
          type + " expire=" + (expire < 0 ? std::string("null") : std::to_string(expire)) + " " +
          value;
    }
  }
  must(c, {"SELECT", "0"});
  return out;
}

std::map<std::string, std::string> dataset_from_key_lines(const std::vector<json>& lines) {
  std::map<std::string, std::string> out;
  for (const json& l : lines) {
    if (l.value("kind", "") != "key") continue;
    const std::string type = l.at("type").get<std::string>();
    const json& v = l.at("value");
    std::string value;
    if (type == "string") {
      value = q(json_bytes(v));
    } else if (type == "list" || type == "set") {
      std::vector<std::string> items;
      for (const json& e : v) items.push_back(q(json_bytes(e)));
      if (type == "set") std::sort(items.begin(), items.end());
      value = join(items);
    } else if (type == "zset") {
      std::vector<std::string> items;
      for (const json& e : v)
        items.push_back(
            q(json_bytes(e.at(0))) + "=" +
            number_text(e.at(1).is_number()
                            ? e.at(1).get<double>()
                            : std::strtod(e.at(1).get<std::string>().c_str(), nullptr)));
      std::sort(items.begin(), items.end());
      value = join(items);
    } else if (type == "hash") {
      std::vector<std::string> items;
      for (const json& e : v)
        items.push_back(q(json_bytes(e.at(0))) + "=" + q(json_bytes(e.at(1))));
      std::sort(items.begin(), items.end());
      value = join(items);
    } else if (type == "stream") {
      value = json_stream(v);
    } else {
      value = "(type " + type + ")";
    }
    const json& expire = l.at("expire_ms");
    out[dataset_key(l.at("db").get<std::uint64_t>(), json_bytes(l.at("key")))] =
        type + " expire=" +
        (expire.is_null() ? std::string("null") : std::to_string(expire.get<std::int64_t>())) +
        " " + value;
  }
  return out;
}

std::string dataset_diff(const std::map<std::string, std::string>& expected,
                         const std::map<std::string, std::string>& got) {
  std::string out;
  int shown = 0;
  auto cut = [](const std::string& s) { return s.size() > 300 ? s.substr(0, 300) + "..." : s; };
  for (const auto& [k, v] : expected) {
    const auto it = got.find(k);
    if (it == got.end()) {
      if (shown++ < 10) out += "missing " + k + ": " + cut(v) + "\n";
    } else if (it->second != v) {
      if (shown++ < 10)
        out += "differs " + k + ":\n  want " + cut(v) + "\n  got  " + cut(it->second) + "\n";
    }
  }
  for (const auto& [k, v] : got)
    if (!expected.count(k) && shown++ < 10) out += "extra " + k + ": " + cut(v) + "\n";
  if (shown > 10) out += std::to_string(shown - 10) + " more differences\n";
  return out;
}

std::string json_bytes(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("base64"))
    return base64_decode(v.at("base64").get<std::string>());
  throw HarnessError("not a byte string: " + v.dump());
}

std::vector<json> parse_json_lines(const std::vector<std::string>& lines) {
  std::vector<json> out;
  out.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    try {
      out.push_back(json::parse(lines[i]));
    } catch (const json::exception& e) {
      throw HarnessError("output line " + std::to_string(i + 1) + " is not JSON (" + e.what() +
                         "): " + quote_bytes(lines[i], 300));
    }
  }
  return out;
}

std::vector<json> parse_json_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.emplace_back(text.substr(pos));  // an unterminated last line is checked too
      break;
    }
    lines.emplace_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return parse_json_lines(lines);
}

std::vector<json> of_kind(const std::vector<json>& lines, std::string_view kind) {
  std::vector<json> out;
  for (const json& l : lines)
    if (l.value("kind", "") == kind) out.push_back(l);
  return out;
}

std::vector<json> dump_file_json(const fs::path& rdb) {
  const ProgramResult r = run_program(
      {REDIS_REPL_BINARY, "dump-rdb", "--file", rdb.string(), "--format", "json", "--quiet"},
      std::chrono::milliseconds(60000));
  if (r.exit_code != 0)
    throw HarnessError("dump-rdb --file " + rdb.filename().string() + " exited " +
                       std::to_string(r.exit_code) + ": " + r.err);
  return parse_json_lines(r.out);
}

std::vector<std::string> key_lines_text(const std::vector<json>& lines) {
  std::vector<std::string> out;
  for (const json& l : of_kind(lines, "key")) out.push_back(l.dump());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace redis_repl::test
