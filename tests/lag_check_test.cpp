// `redis-repl lag-check` against real servers: a master and two replicas on loopback ports
// (support/replica_set.hpp), started and stopped by each test case.
//
// What is checked, from the issue:
// 1. healthy: exit 0, OK, byte lag 0 for both once writes stop, probe max well under a second;
// 2. a replica frozen with SIGSTOP while the master takes writes: byte lag > 0 and growing, its
//    probe not delivered (waited_seconds set), WARNING or CRITICAL by the thresholds given (exit 1
//    and exit 2), and OK again after SIGCONT;
// 3. a replica whose link is down (REPLICAOF a closed port), named with --replica: CRITICAL;
// 4. UNKNOWN (exit 3): master unreachable, a replica given as the master, bad arguments; fewer
//    replicas than --min-replicas is CRITICAL (exit 2);
// 5. golden nagios, json and prometheus output, the run-dependent values (ports, times, offsets)
//    normalised here, never hard-coded;
// 6. no key written or touched, no keyspace notification, no subscription left behind; --watch
//    prints one sample per interval and exits with the last sample's status.
// Every run uses few probes and short timeouts; every wait is bounded.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/redis_server.hpp"
#include "support/replica_set.hpp"
#include "support/server_test.hpp"

namespace {

using json = nlohmann::ordered_json;
using redis_repl::test::info_fields;
using redis_repl::test::RedisServer;
using redis_repl::test::ReplicaSet;
using redis_repl::test::Reply;
using redis_repl::test::RespClient;
using redis_repl::test::run_program;
using redis_repl::test::SigstopGuard;
using redis_repl::test::unused_loopback_port;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// Running lag-check

struct LagRun {
  int code = -1;
  std::string out;
  std::string err;
  double seconds = 0;  // wall time of the run
};

std::string shown(const LagRun& r) {
  return "exit " + std::to_string(r.code) + " after " + std::to_string(r.seconds) +
         " s\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

// `redis-repl lag-check -h 127.0.0.1 -p <master_port> <args>`.
LagRun lag_check(int master_port, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {REDIS_REPL_BINARY, "lag-check", "-h",
                                   "127.0.0.1",       "-p",        std::to_string(master_port)};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto started = Clock::now();
  const redis_repl::test::ProgramResult p = run_program(argv, milliseconds(30000));
  LagRun r;
  r.code = p.exit_code;
  r.out = p.out;
  r.err = p.err;
  r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

std::string addr(int port) { return "127.0.0.1:" + std::to_string(port); }

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return out;
}

// The single JSON document of a --format json run (one line); a failed check when it is not.
json parse_doc(const LagRun& r) {
  INFO(shown(r));
  const std::vector<std::string> lines = lines_of(r.out);
  REQUIRE(lines.size() == 1);
  REQUIRE(r.out.back() == '\n');
  json doc = json::parse(lines[0], nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  REQUIRE(doc.is_object());
  return doc;
}

// The entry of doc["replicas"] for 127.0.0.1:port.
json replica_entry(const json& doc, int port) {
  INFO(doc.dump());
  REQUIRE(doc.contains("replicas"));
  REQUIRE(doc["replicas"].is_array());
  for (const json& x : doc["replicas"])
    if (x.value("address", "") == addr(port)) return x;
  FAIL("no replica " << addr(port) << " in the report");
  return {};
}

bool has_reason(const json& replica, std::string_view part) {
  for (const json& s : replica["reasons"])
    if (s.is_string() && s.get<std::string>().find(part) != std::string::npos) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Servers

// n SETs of 40-byte values on the master (db 0), pipelined.
void write_keys(RedisServer& master, int n, const std::string& prefix) {
  RespClient c = master.client();
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i)
    cmds.push_back({"SET", prefix + std::to_string(i), std::string(40, 'v')});
  for (const Reply& r : c.pipeline(cmds)) REQUIRE_FALSE(r.is_error());
}

// Bounded wait until the replica's slave_repl_offset equals the master's master_repl_offset.
void wait_replica_in_step(RedisServer& master, RedisServer& replica) {
  RespClient mc = master.client();
  RespClient rc = replica.client();
  const auto deadline = Clock::now() + milliseconds(10000);
  std::string want, got;
  for (;;) {
    want = info_fields(mc, "replication")["master_repl_offset"];
    got = info_fields(rc, "replication")["slave_repl_offset"];
    if (!want.empty() && want == got) return;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  FAIL("replica on " << replica.port() << " not in step: master at " << want << ", replica at "
                     << got);
}

std::int64_t dbsize(RedisServer& s) {
  RespClient c = s.client();
  const Reply r = c.command({"DBSIZE"});
  REQUIRE(r.type == Reply::Type::integer);
  return r.integer;
}

// ---------------------------------------------------------------------------------------------
// Normalising run-dependent values for the golden comparisons

// "127.0.0.1:<port>" -> the name given for that port ("MASTER", "REPLICA1", ...).
std::string name_ports(const std::string& s, const std::map<int, std::string>& names) {
  static const std::regex re(R"(127\.0\.0\.1:([0-9]+))");
  std::string out;
  auto last = s.cbegin();
  for (std::sregex_iterator it(s.begin(), s.end(), re), end; it != end; ++it) {
    out.append(last, (*it)[0].first);
    const int port = std::atoi((*it)[1].str().c_str());
    const auto n = names.find(port);
    out += n == names.end() ? "UNNAMED:" + (*it)[1].str() : n->second;
    last = (*it)[0].second;
  }
  out.append(last, s.cend());
  return out;
}

// Names, then "0.401 s" -> "<s> s" and "2041 bytes behind" -> "<n> bytes behind".
std::string normal_text(const std::string& s, const std::map<int, std::string>& names) {
  static const std::regex secs(R"(\b[0-9]+\.[0-9]{3,} s\b)");
  static const std::regex bytes(R"(\b[0-9]+ bytes behind)");
  std::string t = name_ports(s, names);
  t = std::regex_replace(t, secs, "<s> s");
  return std::regex_replace(t, bytes, "<n> bytes behind");
}

// A number of the expected kind replaced by a tag; null left alone; anything else left as it is
// (so that the golden comparison shows it).
void tag_number(json& v, const char* tag, bool integer) {
  if (v.is_null()) return;
  if (integer ? v.is_number_integer()
              : (v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0))
    v = tag;
}

// The lag-check JSON document with ports named, times, offsets and delays tagged (after
// checking their types), non-zero byte lags tagged, and the replicas sorted by name.
json normal_json(json doc, const std::map<int, std::string>& names) {
  if (doc.contains("time_ms") && doc["time_ms"].is_number_integer()) {
    const auto now_ms = std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::int64_t t = doc["time_ms"].get<std::int64_t>();
    CHECK(std::llabs(now_ms - t) < 600000);
    doc["time_ms"] = "<unix ms>";
  }
  if (doc.contains("duration_seconds")) tag_number(doc["duration_seconds"], "<seconds>", false);
  if (doc.contains("summary") && doc["summary"].is_string())
    doc["summary"] = normal_text(doc["summary"].get<std::string>(), names);
  if (doc.contains("master") && doc["master"].is_object()) {
    json& m = doc["master"];
    if (m.contains("address") && m["address"].is_string())
      m["address"] = name_ports(m["address"].get<std::string>(), names);
    if (m.contains("offset")) tag_number(m["offset"], "<offset>", true);
    if (m.contains("error") && m["error"].is_string())
      m["error"] = normal_text(m["error"].get<std::string>(), names);
  }
  if (doc.contains("replicas") && doc["replicas"].is_array()) {
    for (json& x : doc["replicas"]) {
      if (!x.is_object()) continue;
      if (x.contains("address") && x["address"].is_string())
        x["address"] = name_ports(x["address"].get<std::string>(), names);
      if (x.contains("reasons") && x["reasons"].is_array())
        for (json& s : x["reasons"])
          if (s.is_string()) s = normal_text(s.get<std::string>(), names);
      for (const char* k : {"master_last_io_seconds_ago", "ack_age_seconds"})
        if (x.contains(k)) tag_number(x[k], "<int>", true);
      for (const char* k : {"replica_offset", "acked_offset"})
        if (x.contains(k)) tag_number(x[k], "<offset>", true);
      if (x.contains("lag_bytes") && x["lag_bytes"].is_number_integer() &&
          x["lag_bytes"].get<std::int64_t>() > 0)
        x["lag_bytes"] = "<bytes>";
      if (x.contains("probes") && x["probes"].is_object())
        for (const char* k : {"min_seconds", "median_seconds", "max_seconds", "waited_seconds"})
          if (x["probes"].contains(k)) tag_number(x["probes"][k], "<seconds>", false);
    }
    std::stable_sort(doc["replicas"].begin(), doc["replicas"].end(),
                     [](const json& a, const json& b) {
                       return a.value("address", "") < b.value("address", "");
                     });
  }
  return doc;
}

// A Nagios status line: one line, "TEXT | 'label'=value;warn;crit;min;max ...". The text and
// labels get normal_text; seconds values ("0.000s") become "<s>s", non-zero byte values "<n>B";
// the perfdata items are grouped by replica and the groups sorted by name (the master lists
// replicas in the order they connected). Anything not of that shape fails a check.
std::string normal_nagios(const std::string& out, const std::map<int, std::string>& names) {
  INFO("nagios output: " << out);
  REQUIRE(!out.empty());
  CHECK(out.back() == '\n');
  CHECK(lines_of(out).size() == 1);
  const std::string line = lines_of(out).at(0);
  const std::size_t bar = line.find(" | ");
  const std::string text = line.substr(0, bar);
  if (bar == std::string::npos) return normal_text(text, names) + "\n";
  const std::string perf = line.substr(bar + 3);
  // 'label'=value;warn;crit;min;max
  static const std::regex item_re(R"('([^']*)'=([^;' ]*);([^;' ]*);)"
                                  R"(([^;' ]*);([^;' ]*);([^;' ]*))");
  static const std::regex seconds_re(R"([0-9]+\.[0-9]{3,}s)");
  static const std::regex bytes_re(R"([0-9]+B)");
  std::vector<std::pair<std::string, std::string>> items;  // (replica, normalised item)
  std::string rebuilt;
  for (std::sregex_iterator it(perf.begin(), perf.end(), item_re), end; it != end; ++it) {
    const std::smatch& m = *it;
    rebuilt += (rebuilt.empty() ? "" : " ") + m[0].str();
    const std::string label = name_ports(m[1], names);
    std::string value = m[2];
    if (std::regex_match(value, seconds_re)) {
      CHECK(std::strtod(value.c_str(), nullptr) >= 0);
      value = "<s>s";
    } else if (std::regex_match(value, bytes_re) && value != "0B") {
      value = "<n>B";
    }
    const std::string normal = "'" + label + "'=" + value + ";" + m[3].str() + ";" + m[4].str() +
                               ";" + m[5].str() + ";" + m[6].str();
    items.emplace_back(label.substr(0, label.rfind(' ')), normal);
  }
  CHECK_MESSAGE(rebuilt == perf, "perfdata items are not separated by single spaces");
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string joined;
  for (const auto& [who, item] : items) joined += " " + item;
  return normal_text(text, names) + " |" + joined + "\n";
}

// Prometheus text exposition: every line checked (HELP then TYPE gauge for each family, samples
// named after their family, labels name="value", values that parse as numbers); labels named,
// the values of the *_seconds families tagged "<seconds>", non-zero ones of the *_bytes families
// "<bytes>", the samples of each family sorted.
std::string normal_prometheus(const std::string& out, const std::map<int, std::string>& names) {
  INFO("prometheus output:\n" << out);
  REQUIRE(!out.empty());
  CHECK(out.back() == '\n');
  static const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  static const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) gauge)");
  // name{label="value",...} value
  static const std::regex sample_re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*))"
                                    R"(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")"
                                    R"((,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)\} (\S+))");
  std::vector<std::string> result;
  std::vector<std::string> block;  // samples of the current family
  auto flush = [&] {
    std::sort(block.begin(), block.end());
    result.insert(result.end(), block.begin(), block.end());
    block.clear();
  };
  std::string family, helped;
  for (const std::string& l : lines_of(out)) {
    std::smatch m;
    if (std::regex_match(l, m, help_re)) {
      flush();
      helped = m[1];
      result.push_back(l);
    } else if (std::regex_match(l, m, type_re)) {
      CHECK_MESSAGE(m[1] == helped, "TYPE without its HELP: " << l);
      family = m[1];
      result.push_back(l);
    } else if (std::regex_match(l, m, sample_re)) {
      CHECK_MESSAGE(m[1] == family, "sample outside its family: " << l);
      const std::string value = m[4];
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      CHECK_MESSAGE((end == value.c_str() + value.size() && std::isfinite(v)),
                    "value does not parse: " << l);
      std::string shown_value = value;
      if (family.ends_with("_seconds")) {
        CHECK(v >= 0);
        shown_value = "<seconds>";
      } else if (family.ends_with("_bytes") && v != 0) {
        CHECK(v > 0);
        shown_value = "<bytes>";
      }
      block.push_back(m[1].str() + "{" + name_ports(m[2], names) + "} " + shown_value);
    } else {
      FAIL_CHECK("not a line of the text exposition format: '" << l << "'");
      result.push_back("?? " + l);
    }
  }
  flush();
  std::string s;
  for (const std::string& l : result) s += l + "\n";
  return s;
}

std::map<int, std::string> names_of(ReplicaSet& set) {
  std::map<int, std::string> names = {{set.master().port(), "MASTER"}};
  for (std::size_t i = 0; i < set.size(); ++i)
    names[set.replica(i).port()] = "REPLICA" + std::to_string(i + 1);
  return names;
}

// ---------------------------------------------------------------------------------------------
// Expected output

// One replica in step, as normal_json shows it.
std::string healthy_replica_json(const std::string& name, int probes) {
  return R"({"address":")" + name +
         R"(","status":"OK","reasons":[],"reachable":true,"error":null,"state":"online",)"
         R"("link_up":true,"master_last_io_seconds_ago":"<int>","sync_in_progress":false,)"
         R"("lag_bytes":0,"replica_offset":"<offset>","acked_offset":"<offset>",)"
         R"("ack_age_seconds":"<int>","probes":{"sent":)" +
         std::to_string(probes) + R"(,"delivered":)" + std::to_string(probes) +
         R"(,"min_seconds":"<seconds>","median_seconds":"<seconds>","max_seconds":"<seconds>",)"
         R"("waited_seconds":null}})";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. Healthy

SERVER_TEST_CASE("lag_check: a healthy master with two replicas is OK, in step and fast") {
  ReplicaSet set;
  write_keys(set.master(), 200, "healthy:");
  set.wait_in_step(milliseconds(10000));

  const LagRun r =
      lag_check(set.master().port(),
                {"--format", "json", "--probes", "2", "--probe-timeout", "2", "--warn-bytes", "1",
                 "--crit-bytes", "100000", "--warn-seconds", "0.5", "--crit-seconds", "1"});
  INFO(shown(r));
  CHECK(r.code == 0);
  const json doc = parse_doc(r);
  CHECK(doc["status"] == "OK");
  CHECK(doc["summary"] == "2 replicas in step");
  CHECK(doc["master"]["address"] == addr(set.master().port()));
  CHECK(doc["master"]["error"].is_null());
  REQUIRE(doc["master"]["offset"].is_number_integer());
  const auto master_offset = doc["master"]["offset"].get<std::int64_t>();
  CHECK(master_offset > 0);
  REQUIRE(doc["replicas"].size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const json x = replica_entry(doc, set.replica(i).port());
    INFO("replica " << x.dump());
    CHECK(x["status"] == "OK");
    CHECK(x["reasons"].empty());
    CHECK(x["reachable"] == true);
    CHECK(x["error"].is_null());
    CHECK(x["state"] == "online");
    CHECK(x["link_up"] == true);
    CHECK(x["sync_in_progress"] == false);
    CHECK(x["lag_bytes"] == 0);
    REQUIRE(x["replica_offset"].is_number_integer());
    CHECK(x["replica_offset"].get<std::int64_t>() >= master_offset);
    const json& p = x["probes"];
    CHECK(p["sent"] == 2);
    CHECK(p["delivered"] == 2);
    CHECK(p["waited_seconds"].is_null());
    REQUIRE(p["min_seconds"].is_number());
    REQUIRE(p["median_seconds"].is_number());
    REQUIRE(p["max_seconds"].is_number());
    const double mn = p["min_seconds"], md = p["median_seconds"], mx = p["max_seconds"];
    CHECK(mn >= 0);
    CHECK(mn <= md);
    CHECK(md <= mx);
    CHECK(mx < 0.25);  // loopback: a probe takes well under a second
  }

  // The table for people says the same.
  const LagRun h = lag_check(set.master().port(), {"--probes", "2", "--probe-timeout", "2"});
  INFO(shown(h));
  CHECK(h.code == 0);
  const std::vector<std::string> lines = lines_of(h.out);
  REQUIRE(lines.size() == 5);  // master, header, two replicas, verdict
  CHECK(lines[0].starts_with("master " + addr(set.master().port()) + ", offset "));
  CHECK(lines.back() == "OK: 2 replicas in step");
}

// ---------------------------------------------------------------------------------------------
// 2. A stopped replica

SERVER_TEST_CASE(
    "lag_check: a replica stopped with SIGSTOP falls behind, WARNING or CRITICAL, then OK") {
  ReplicaSet set;
  RedisServer& healthy = set.replica(0);
  RedisServer& victim = set.replica(1);
  const std::map<int, std::string> names = names_of(set);
  {
    SigstopGuard frozen(victim.pid());
    write_keys(set.master(), 100, "stopped:a:");
    wait_replica_in_step(set.master(), healthy);

    // WARNING: byte lag above --warn-bytes, probe not delivered, no critical threshold reached.
    const LagRun w =
        lag_check(set.master().port(), {"--format", "json", "--probes", "2", "--probe-timeout",
                                        "0.5", "--warn-bytes", "1", "--warn-seconds", "0.2"});
    std::int64_t first_lag = 0;
    {
      INFO(shown(w));
      CHECK(w.code == 1);
      const json doc = parse_doc(w);
      CHECK(doc["status"] == "WARNING");
      const json v = replica_entry(doc, victim.port());
      INFO("stopped replica: " << v.dump());
      CHECK(v["status"] == "WARNING");
      REQUIRE(v["lag_bytes"].is_number_integer());
      first_lag = v["lag_bytes"].get<std::int64_t>();
      CHECK(first_lag > 0);
      CHECK(v["probes"]["sent"] == 2);
      CHECK(v["probes"]["delivered"] == 0);
      REQUIRE(v["probes"]["waited_seconds"].is_number());
      CHECK(v["probes"]["waited_seconds"].get<double>() >= 0.4);
      CHECK(v["probes"]["max_seconds"].is_null());
      CHECK(has_reason(v, "bytes behind"));
      CHECK(has_reason(v, "probe not delivered"));
      const json h = replica_entry(doc, healthy.port());
      CHECK(h["status"] == "OK");
      CHECK(h["lag_bytes"] == 0);
      CHECK(h["probes"]["delivered"] == 2);
    }

    // More writes: the lag grows. CRITICAL by bytes (no time threshold at all).
    write_keys(set.master(), 100, "stopped:b:");
    wait_replica_in_step(set.master(), healthy);
    const LagRun c =
        lag_check(set.master().port(), {"--format", "json", "--probes", "2", "--probe-timeout",
                                        "0.5", "--warn-bytes", "1", "--crit-bytes", "100"});
    {
      INFO(shown(c));
      CHECK(c.code == 2);
      const json doc = parse_doc(c);
      CHECK(doc["status"] == "CRITICAL");
      const json v = replica_entry(doc, victim.port());
      INFO("stopped replica: " << v.dump());
      CHECK(v["status"] == "CRITICAL");
      REQUIRE(v["lag_bytes"].is_number_integer());
      CHECK(v["lag_bytes"].get<std::int64_t>() > first_lag);
      CHECK(v["probes"]["delivered"] == 0);
      REQUIRE(v["probes"]["waited_seconds"].is_number());
      CHECK(v["probes"]["waited_seconds"].get<double>() > 0);
      CHECK(replica_entry(doc, healthy.port())["status"] == "OK");
    }

    // CRITICAL by time: the probe waited for longer than --crit-seconds (nagios this time).
    const LagRun t =
        lag_check(set.master().port(), {"--format", "nagios", "--probes", "2", "--probe-timeout",
                                        "0.2", "--warn-seconds", "0.1", "--crit-seconds", "0.3"});
    {
      INFO(shown(t));
      CHECK(t.code == 2);
      CHECK(normal_nagios(t.out, names) ==
            "REDIS REPLICATION CRITICAL - REPLICA2: probe not delivered after <s> s |"
            " 'REPLICA1 bytes'=0B;;;0; 'REPLICA1 seconds'=<s>s;0.1;0.3;0;"
            " 'REPLICA2 bytes'=<n>B;;;0; 'REPLICA2 seconds'=<s>s;0.1;0.3;0;"
            " 'inspectors'=0;;;0; 'replicas'=2;;1:;0;\n");
    }

    // The WARNING line of the nagios format, thresholds in place.
    const LagRun wn =
        lag_check(set.master().port(), {"--format", "nagios", "--probes", "2", "--probe-timeout",
                                        "0.3", "--warn-bytes", "1", "--warn-seconds", "0.2"});
    {
      INFO(shown(wn));
      CHECK(wn.code == 1);
      CHECK(normal_nagios(wn.out, names) ==
            "REDIS REPLICATION WARNING - REPLICA2: <n> bytes behind, probe not delivered after "
            "<s> s | 'REPLICA1 bytes'=0B;1;;0; 'REPLICA1 seconds'=<s>s;0.2;;0;"
            " 'REPLICA2 bytes'=<n>B;1;;0; 'REPLICA2 seconds'=<s>s;0.2;;0;"
            " 'inspectors'=0;;;0; 'replicas'=2;;1:;0;\n");
    }
  }  // SIGCONT

  // Resumed, it catches up: OK again within a bounded number of tries.
  const auto deadline = Clock::now() + milliseconds(15000);
  LagRun ok;
  for (;;) {
    ok = lag_check(set.master().port(),
                   {"--format", "json", "--probes", "2", "--probe-timeout", "1", "--warn-bytes",
                    "1", "--crit-bytes", "100", "--warn-seconds", "0.5", "--crit-seconds", "1"});
    if (ok.code == 0 || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  INFO(shown(ok));
  CHECK(ok.code == 0);
  const json doc = parse_doc(ok);
  CHECK(doc["status"] == "OK");
  const json v = replica_entry(doc, victim.port());
  CHECK(v["status"] == "OK");
  CHECK(v["lag_bytes"] == 0);
  CHECK(v["probes"]["delivered"] == 2);
  CHECK(v["probes"]["waited_seconds"].is_null());
}

// ---------------------------------------------------------------------------------------------
// 3. Link down

SERVER_TEST_CASE("lag_check: a replica whose link to the master is down is CRITICAL") {
  ReplicaSet set;
  RedisServer& healthy = set.replica(0);
  RedisServer& detached = set.replica(1);
  const std::map<int, std::string> names = names_of(set);
  const int nowhere = unused_loopback_port();
  {
    RespClient c = detached.client();
    const Reply r = c.command({"REPLICAOF", "127.0.0.1", std::to_string(nowhere)});
    REQUIRE(r.describe() == "OK");
    RespClient mc = set.master().client();
    const auto deadline = Clock::now() + milliseconds(10000);
    for (;;) {
      if (info_fields(c, "replication")["master_link_status"] == "down" &&
          info_fields(mc, "replication")["connected_slaves"] == "1")
        break;
      REQUIRE_MESSAGE(Clock::now() < deadline, set.describe());
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  // The master moves on without it: a byte lag that is certainly not 0.
  write_keys(set.master(), 10, "detached:");
  wait_replica_in_step(set.master(), healthy);
  const std::vector<std::string> named = {"--replica", addr(detached.port()), "--probes",
                                          "2",         "--probe-timeout",     "0.3"};

  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = named;
    a.insert(a.end(), extra.begin(), extra.end());
    return lag_check(set.master().port(), a);
  };
  const LagRun j = with({"--format", "json"});
  {
    INFO(shown(j));
    CHECK(j.code == 2);
    const json doc = parse_doc(j);
    CHECK(doc["status"] == "CRITICAL");
    CHECK(doc["summary"].get<std::string>().find("link") != std::string::npos);
    REQUIRE(doc["replicas"].size() == 1);
    const json x = replica_entry(doc, detached.port());
    CHECK(x["link_up"] == false);
    CHECK(has_reason(x, "link to the master is down"));
    REQUIRE(x["lag_bytes"].is_number_integer());
    CHECK(x["lag_bytes"].get<std::int64_t>() > 0);
    // Golden: the whole document.
    const std::string expected =
        R"({"kind":"lag_check","status":"CRITICAL","time_ms":"<unix ms>","duration_seconds":"<seconds>",)"
        R"("summary":"REPLICA2: link to the master )"
        R"(is down, probe not delivered after <s> s","master":{"address":"MASTER",)"
        R"("offset":"<offset>","error":null},"min_replicas":1,"inspectors":0,)"
        R"("replicas":[{"address":"REPLICA2",)"
        R"("status":"CRITICAL","reasons":["link to the master is down","probe not delivered )"
        R"(after <s> s"],"reachable":true,"error":null,"state":null,"link_up":false,)"
        R"("master_last_io_seconds_ago":"<int>","sync_in_progress":false,"lag_bytes":"<bytes>",)"
        R"("replica_offset":"<offset>","acked_offset":null,"ack_age_seconds":null,)"
        R"("probes":{"sent":2,"delivered":0,"min_seconds":null,"median_seconds":null,)"
        R"("max_seconds":null,"waited_seconds":"<seconds>"}}]})";
    CHECK(normal_json(doc, names).dump(1) == json::parse(expected).dump(1));
  }
  const LagRun n = with({"--format", "nagios"});
  {
    INFO(shown(n));
    CHECK(n.code == 2);
    CHECK(normal_nagios(n.out, names) ==
          "REDIS REPLICATION CRITICAL - REPLICA2: link to the master is down, probe not delivered "
          "after <s> s | 'REPLICA2 bytes'=<n>B;;;0; 'REPLICA2 seconds'=<s>s;;;0;"
          " 'inspectors'=0;;;0; 'replicas'=1;;1:;0;\n");
  }
  const LagRun p = with({"--format", "prometheus"});
  {
    INFO(shown(p));
    CHECK(p.code == 0);  // the status is in the metrics
    CHECK(
        normal_prometheus(p.out, names) ==
        "# HELP redis_repl_up 1 when the master answered and was measured, 0 when not.\n"
        "# TYPE redis_repl_up gauge\n"
        "redis_repl_up{master=\"MASTER\"} 1\n"
        "# HELP redis_repl_lag_check_status Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
        "UNKNOWN.\n"
        "# TYPE redis_repl_lag_check_status gauge\n"
        "redis_repl_lag_check_status{master=\"MASTER\"} 2\n"
        "# HELP redis_repl_last_sample_timestamp_seconds When the sample began, in seconds since "
        "the Unix epoch.\n"
        "# TYPE redis_repl_last_sample_timestamp_seconds gauge\n"
        "redis_repl_last_sample_timestamp_seconds{master=\"MASTER\"} <seconds>\n"
        "# HELP redis_repl_check_duration_seconds How long the sample took.\n"
        "# TYPE redis_repl_check_duration_seconds gauge\n"
        "redis_repl_check_duration_seconds{master=\"MASTER\"} <seconds>\n"
        "# HELP redis_repl_master_repl_offset_bytes The master's replication offset.\n"
        "# TYPE redis_repl_master_repl_offset_bytes gauge\n"
        "redis_repl_master_repl_offset_bytes{master=\"MASTER\"} <bytes>\n"
        "# HELP redis_repl_connected_replicas Replicas found: listed by the master with a port, or "
        "given with --replica.\n"
        "# TYPE redis_repl_connected_replicas gauge\n"
        "redis_repl_connected_replicas{master=\"MASTER\"} 1\n"
        "# HELP redis_repl_min_replicas Fewer replicas than this is CRITICAL (--min-replicas).\n"
        "# TYPE redis_repl_min_replicas gauge\n"
        "redis_repl_min_replicas{master=\"MASTER\"} 1\n"
        "# HELP redis_repl_connected_inspectors Replication clients listed without a port "
        "(redis-cli --replica, tail): not measured.\n"
        "# TYPE redis_repl_connected_inspectors gauge\n"
        "redis_repl_connected_inspectors{master=\"MASTER\"} 0\n"
        "# HELP redis_repl_replica_status Replica status: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
        "UNKNOWN.\n"
        "# TYPE redis_repl_replica_status gauge\n"
        "redis_repl_replica_status{master=\"MASTER\",replica=\"REPLICA2\"} 2\n"
        "# HELP redis_repl_replica_lag_bytes Master offset minus the replica's offset.\n"
        "# TYPE redis_repl_replica_lag_bytes gauge\n"
        "redis_repl_replica_lag_bytes{master=\"MASTER\",replica=\"REPLICA2\"} <bytes>\n"
        "# HELP redis_repl_replica_lag_seconds Slowest probe delivery, or the time waited for "
        "one that never arrived.\n"
        "# TYPE redis_repl_replica_lag_seconds gauge\n"
        "redis_repl_replica_lag_seconds{master=\"MASTER\",replica=\"REPLICA2\"} <seconds>\n"
        "# HELP redis_repl_replica_probes_delivered_ratio Share of the probes that arrived.\n"
        "# TYPE redis_repl_replica_probes_delivered_ratio gauge\n"
        "redis_repl_replica_probes_delivered_ratio{master=\"MASTER\",replica=\"REPLICA2\"} 0\n"
        "# HELP redis_repl_replica_link_up master_link_status as the replica reports it (1 "
        "up).\n"
        "# TYPE redis_repl_replica_link_up gauge\n"
        "redis_repl_replica_link_up{master=\"MASTER\",replica=\"REPLICA2\"} 0\n");
  }
  const LagRun h = with({});
  {
    INFO(shown(h));
    CHECK(h.code == 2);
    REQUIRE_FALSE(lines_of(h.out).empty());
    CHECK(lines_of(h.out).back().starts_with("CRITICAL: " + addr(detached.port()) +
                                             ": link to the master is down"));
  }
  // Left to the master's own list, the detached replica is not there: one replica, OK; and
  // --min-replicas 2 notices that one is missing: CRITICAL, the master lacks a replica.
  const LagRun listed = lag_check(set.master().port(),
                                  {"--format", "json", "--probes", "2", "--probe-timeout", "0.3"});
  {
    INFO(shown(listed));
    CHECK(listed.code == 0);
    CHECK(parse_doc(listed)["replicas"].size() == 1);
  }
  const LagRun too_few = lag_check(
      set.master().port(),
      {"--format", "nagios", "--probes", "2", "--probe-timeout", "0.3", "--min-replicas", "2"});
  INFO(shown(too_few));
  CHECK(too_few.code == 2);
  CHECK(too_few.out.starts_with("REDIS REPLICATION CRITICAL - "));
  CHECK(too_few.out.find("--min-replicas asks for 2") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// 4. UNKNOWN

TEST_CASE("lag_check: an unreachable master is UNKNOWN (exit 3) in every format") {
  const int nowhere = unused_loopback_port();
  const std::map<int, std::string> names = {{nowhere, "NOWHERE"}};
  const LagRun j =
      lag_check(nowhere, {"--format", "json", "--probes", "2", "--probe-timeout", "0.5"});
  {
    INFO(shown(j));
    CHECK(j.code == 3);
    const json doc = parse_doc(j);
    CHECK(doc["status"] == "UNKNOWN");
    REQUIRE(doc["master"]["error"].is_string());
    CHECK(doc["master"]["error"].get<std::string>().starts_with(addr(nowhere) + ": "));
    CHECK(doc["master"]["offset"].is_null());
    CHECK(doc["replicas"].empty());
    const std::string expected =
        R"({"kind":"lag_check","status":"UNKNOWN","time_ms":"<unix ms>","duration_seconds":"<seconds>",)"
        R"("summary":"NOWHERE: Connection refused",)"
        R"("master":{"address":"NOWHERE","offset":null,"error":"NOWHERE: Connection refused"},)"
        R"("min_replicas":1,"inspectors":0,"replicas":[]})";
    CHECK(normal_json(doc, names).dump(1) == json::parse(expected).dump(1));
  }
  const LagRun n = lag_check(nowhere, {"--format", "nagios", "--probe-timeout", "0.5"});
  {
    INFO(shown(n));
    CHECK(n.code == 3);
    CHECK(normal_nagios(n.out, names) ==
          "REDIS REPLICATION UNKNOWN - NOWHERE: Connection refused\n");
  }
  const LagRun p = lag_check(nowhere, {"--format", "prometheus", "--probe-timeout", "0.5"});
  {
    INFO(shown(p));
    CHECK(p.code == 0);  // the status is in the metrics
    CHECK(normal_prometheus(p.out, names) ==
          "# HELP redis_repl_up 1 when the master answered and was measured, 0 when not.\n"
          "# TYPE redis_repl_up gauge\n"
          "redis_repl_up{master=\"NOWHERE\"} 0\n"
          "# HELP redis_repl_lag_check_status Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
          "UNKNOWN.\n"
          "# TYPE redis_repl_lag_check_status gauge\n"
          "redis_repl_lag_check_status{master=\"NOWHERE\"} 3\n"
          "# HELP redis_repl_last_sample_timestamp_seconds When the sample began, in seconds since "
          "the Unix epoch.\n"
          "# TYPE redis_repl_last_sample_timestamp_seconds gauge\n"
          "redis_repl_last_sample_timestamp_seconds{master=\"NOWHERE\"} <seconds>\n"
          "# HELP redis_repl_check_duration_seconds How long the sample took.\n"
          "# TYPE redis_repl_check_duration_seconds gauge\n"
          "redis_repl_check_duration_seconds{master=\"NOWHERE\"} <seconds>\n");
  }
  const LagRun h = lag_check(nowhere, {"--probe-timeout", "0.5"});
  INFO(shown(h));
  CHECK(h.code == 3);
  REQUIRE_FALSE(lines_of(h.out).empty());
  CHECK(lines_of(h.out).back().starts_with("UNKNOWN: " + addr(nowhere) + ": "));
}

SERVER_TEST_CASE(
    "lag_check: a replica given as the master, bad arguments: exit 3, too few replicas: 2") {
  ReplicaSet set;
  const int master = set.master().port();

  SUBCASE("a replica given as the master") {
    for (const char* format : {"nagios", "json"}) {
      const LagRun r = lag_check(set.replica(0).port(),
                                 {"--format", format, "--probes", "2", "--probe-timeout", "0.5"});
      INFO(shown(r));
      CHECK(r.code == 3);
      CHECK(r.out.find("not a master") != std::string::npos);
    }
  }

  SUBCASE("bad arguments: usage errors, nothing measured") {
    const std::vector<std::vector<std::string>> bad = {
        {"--warn-bytes", "abc"},
        {"--crit-bytes", "12x"},
        {"--warn-seconds", "soon"},
        {"--warn-seconds", "2", "--crit-seconds", "1"},
        {"--warn-bytes", "10", "--crit-bytes", "5"},
        {"--replica", "nonsense"},
        {"--replica", "127.0.0.1:0"},
        {"--replica", "127.0.0.1:70000"},
        {"--format", "xml"},
        {"--probes", "0"},
        {"--probe-timeout", "0"},
        {"--watch", "0"},
        {"--no-such-flag"},
    };
    for (const auto& args : bad) {
      // No other option given twice: a repeated option is an error of its own.
      std::vector<std::string> a = {"--probes", "1"};
      if (args[0] == "--probes") a.clear();
      a.insert(a.end(), args.begin(), args.end());
      const LagRun r = lag_check(master, a);
      std::string joined;
      for (const std::string& s : args) joined += " " + s;
      INFO("arguments:" << joined << "\n" << shown(r));
      CHECK(r.code == 3);
      CHECK(r.out.empty());
      CHECK(r.err.starts_with("redis-repl: "));
      CHECK(r.err.find(args[0]) != std::string::npos);  // the message names the option
    }
  }

  SUBCASE("--min-replicas") {
    const LagRun three = lag_check(master, {"--format", "json", "--probes", "2", "--probe-timeout",
                                            "0.5", "--min-replicas", "3"});
    {
      INFO(shown(three));
      CHECK(three.code == 2);
      const json doc = parse_doc(three);
      CHECK(doc["status"] == "CRITICAL");
      CHECK(doc["summary"] == "2 replicas, --min-replicas asks for 3");
      CHECK(doc["replicas"].size() == 2);
    }
    const LagRun two = lag_check(master, {"--format", "nagios", "--probes", "2", "--probe-timeout",
                                          "0.5", "--min-replicas", "2"});
    INFO(shown(two));
    CHECK(two.code == 0);
  }
}

// Thresholds, counts and times that cannot mean anything are usage errors too (exit 3, a message
// on stderr, nothing measured), not silently taken: a negative threshold makes every replica
// WARNING or CRITICAL, "nan" silently disables a threshold, -1 replicas wraps around, and an
// infinite or huge time overflows the millisecond timeout (the live master is then reported as
// "timed out connecting").
SERVER_TEST_CASE("lag_check: nonsensical thresholds and counts are usage errors") {
  ReplicaSet set(1);
  const std::vector<std::vector<std::string>> bad = {
      {"--warn-bytes", "-5"},       {"--crit-bytes", "-1"},      {"--warn-seconds", "-0.5"},
      {"--crit-seconds", "nan"},    {"--min-replicas", "-1"},    {"--crit-seconds", "inf"},
      {"--probe-timeout", "1e300"}, {"--crit-seconds", "1e300"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> a = {"--probes", "1", "--format", "nagios"};
    a.insert(a.end(), args.begin(), args.end());
    const LagRun r = lag_check(set.master().port(), a);
    std::string joined;
    for (const std::string& s : args) joined += " " + s;
    INFO("arguments:" << joined << "\n" << shown(r));
    CHECK(r.code == 3);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("redis-repl: "));
    CHECK(r.err.find(args[0]) != std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Golden output

SERVER_TEST_CASE("lag_check: golden nagios, json and prometheus output of a healthy set") {
  ReplicaSet set;
  write_keys(set.master(), 20, "golden:");
  set.wait_in_step(milliseconds(10000));
  const std::map<int, std::string> names = names_of(set);
  const std::vector<std::string> common = {"--probes",       "2",   "--probe-timeout", "1",
                                           "--warn-bytes",   "100", "--crit-bytes",    "1000",
                                           "--warn-seconds", "0.5", "--crit-seconds",  "1"};
  auto run = [&](const char* format) {
    std::vector<std::string> a = common;
    a.push_back("--format");
    a.push_back(format);
    return lag_check(set.master().port(), a);
  };

  SUBCASE("nagios") {
    const LagRun r = run("nagios");
    INFO(shown(r));
    CHECK(r.code == 0);
    CHECK(normal_nagios(r.out, names) ==
          "REDIS REPLICATION OK - 2 replicas in step |"
          " 'REPLICA1 bytes'=0B;100;1000;0; 'REPLICA1 seconds'=<s>s;0.5;1;0;"
          " 'REPLICA2 bytes'=0B;100;1000;0; 'REPLICA2 seconds'=<s>s;0.5;1;0;"
          " 'inspectors'=0;;;0; 'replicas'=2;;1:;0;\n");
  }

  SUBCASE("json") {
    const LagRun r = run("json");
    INFO(shown(r));
    CHECK(r.code == 0);
    const std::string expected =
        R"({"kind":"lag_check","status":"OK","time_ms":"<unix ms>","duration_seconds":"<seconds>",)"
        R"("summary":"2 replicas in step",)"
        R"("master":{"address":"MASTER","offset":"<offset>","error":null},"min_replicas":1,)"
        R"("inspectors":0,"replicas":[)" +
        healthy_replica_json("REPLICA1", 2) + "," + healthy_replica_json("REPLICA2", 2) + "]}";
    CHECK(normal_json(parse_doc(r), names).dump(1) == json::parse(expected).dump(1));
  }

  SUBCASE("prometheus") {
    const LagRun r = run("prometheus");
    INFO(shown(r));
    CHECK(r.code == 0);
    CHECK(
        normal_prometheus(r.out, names) ==
        "# HELP redis_repl_up 1 when the master answered and was measured, 0 when not.\n"
        "# TYPE redis_repl_up gauge\n"
        "redis_repl_up{master=\"MASTER\"} 1\n"
        "# HELP redis_repl_lag_check_status Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
        "UNKNOWN.\n"
        "# TYPE redis_repl_lag_check_status gauge\n"
        "redis_repl_lag_check_status{master=\"MASTER\"} 0\n"
        "# HELP redis_repl_last_sample_timestamp_seconds When the sample began, in seconds since "
        "the Unix epoch.\n"
        "# TYPE redis_repl_last_sample_timestamp_seconds gauge\n"
        "redis_repl_last_sample_timestamp_seconds{master=\"MASTER\"} <seconds>\n"
        "# HELP redis_repl_check_duration_seconds How long the sample took.\n"
        "# TYPE redis_repl_check_duration_seconds gauge\n"
        "redis_repl_check_duration_seconds{master=\"MASTER\"} <seconds>\n"
        "# HELP redis_repl_master_repl_offset_bytes The master's replication offset.\n"
        "# TYPE redis_repl_master_repl_offset_bytes gauge\n"
        "redis_repl_master_repl_offset_bytes{master=\"MASTER\"} <bytes>\n"
        "# HELP redis_repl_connected_replicas Replicas found: listed by the master with a port, or "
        "given with --replica.\n"
        "# TYPE redis_repl_connected_replicas gauge\n"
        "redis_repl_connected_replicas{master=\"MASTER\"} 2\n"
        "# HELP redis_repl_min_replicas Fewer replicas than this is CRITICAL (--min-replicas).\n"
        "# TYPE redis_repl_min_replicas gauge\n"
        "redis_repl_min_replicas{master=\"MASTER\"} 1\n"
        "# HELP redis_repl_connected_inspectors Replication clients listed without a port "
        "(redis-cli --replica, tail): not measured.\n"
        "# TYPE redis_repl_connected_inspectors gauge\n"
        "redis_repl_connected_inspectors{master=\"MASTER\"} 0\n"
        "# HELP redis_repl_replica_status Replica status: 0 OK, 1 WARNING, 2 CRITICAL, 3 "
        "UNKNOWN.\n"
        "# TYPE redis_repl_replica_status gauge\n"
        "redis_repl_replica_status{master=\"MASTER\",replica=\"REPLICA1\"} 0\n"
        "redis_repl_replica_status{master=\"MASTER\",replica=\"REPLICA2\"} 0\n"
        "# HELP redis_repl_replica_lag_bytes Master offset minus the replica's offset.\n"
        "# TYPE redis_repl_replica_lag_bytes gauge\n"
        "redis_repl_replica_lag_bytes{master=\"MASTER\",replica=\"REPLICA1\"} 0\n"
        "redis_repl_replica_lag_bytes{master=\"MASTER\",replica=\"REPLICA2\"} 0\n"
        "# HELP redis_repl_replica_lag_seconds Slowest probe delivery, or the time waited for "
        "one that never arrived.\n"
        "# TYPE redis_repl_replica_lag_seconds gauge\n"
        "redis_repl_replica_lag_seconds{master=\"MASTER\",replica=\"REPLICA1\"} <seconds>\n"
        "redis_repl_replica_lag_seconds{master=\"MASTER\",replica=\"REPLICA2\"} <seconds>\n"
        "# HELP redis_repl_replica_probes_delivered_ratio Share of the probes that arrived.\n"
        "# TYPE redis_repl_replica_probes_delivered_ratio gauge\n"
        "redis_repl_replica_probes_delivered_ratio{master=\"MASTER\",replica=\"REPLICA1\"} 1\n"
        "redis_repl_replica_probes_delivered_ratio{master=\"MASTER\",replica=\"REPLICA2\"} 1\n"
        "# HELP redis_repl_replica_link_up master_link_status as the replica reports it (1 "
        "up).\n"
        "# TYPE redis_repl_replica_link_up gauge\n"
        "redis_repl_replica_link_up{master=\"MASTER\",replica=\"REPLICA1\"} 1\n"
        "redis_repl_replica_link_up{master=\"MASTER\",replica=\"REPLICA2\"} 1\n");
  }
}

// ---------------------------------------------------------------------------------------------
// 6. No trace, and --watch

SERVER_TEST_CASE(
    "lag_check: the probe writes no key, touches no keyspace and leaves no subscription") {
  ReplicaSet set;
  std::vector<RedisServer*> servers = {&set.master(), &set.replica(0), &set.replica(1)};
  write_keys(set.master(), 25, "kept:");
  {
    RespClient c = set.master().client();
    REQUIRE(c.command({"SELECT", "3"}).describe() == "OK");
    REQUIRE_FALSE(c.command({"SET", "in-db-3", "x"}).is_error());
  }
  set.wait_in_step(milliseconds(10000));

  // Before: key counts, keyspace info, notification settings; then keyspace notifications on
  // (set by the test, on every server) with a pattern subscriber on each; statistics reset.
  std::vector<std::int64_t> sizes;
  std::vector<std::string> keyspaces;
  std::vector<RespClient> watchers;
  for (RedisServer* s : servers) {
    sizes.push_back(dbsize(*s));
    RespClient c = s->client();
    const auto ks = info_fields(c, "keyspace");
    std::string text;
    for (const auto& [k, v] : ks) text += k + ":" + v + "\n";
    keyspaces.push_back(text);
    REQUIRE(c.command({"CONFIG", "SET", "notify-keyspace-events", "KEA"}).describe() == "OK");
    RespClient w = s->client(milliseconds(5000));
    const Reply sub = w.command({"PSUBSCRIBE", "__key*__:*"});
    REQUIRE(sub.type == Reply::Type::array);
    watchers.push_back(std::move(w));
    REQUIRE(c.command({"CONFIG", "RESETSTAT"}).describe() == "OK");
  }
  for (const std::int64_t n : sizes) CHECK(n == 25);  // DBSIZE counts db 0

  const LagRun r =
      lag_check(set.master().port(), {"--format", "json", "--probes", "2", "--probe-timeout", "1"});
  INFO(shown(r));
  CHECK(r.code == 0);
  CHECK(parse_doc(r)["status"] == "OK");

  // The master ran nothing but INFO and PUBLISH for lag-check (REPLCONF: the replicas' ACKs;
  // PSUBSCRIBE and CONFIG: the test's own), and read no key.
  {
    RespClient c = set.master().client();
    const auto stats = info_fields(c, "commandstats");
    const std::set<std::string> allowed = {"cmdstat_info", "cmdstat_publish", "cmdstat_replconf",
                                           "cmdstat_psubscribe", "cmdstat_config|resetstat"};
    for (const auto& [k, v] : stats) CHECK_MESSAGE(allowed.count(k), k << ": " << v);
    CHECK(stats.count("cmdstat_publish"));
    auto st = info_fields(c, "stats");
    CHECK(st["keyspace_hits"] == "0");
    CHECK(st["keyspace_misses"] == "0");
  }
  // Replicas: INFO and SUBSCRIBE from lag-check, plus what replication carries (PUBLISH, PING).
  for (std::size_t i = 1; i < servers.size(); ++i) {
    RespClient c = servers[i]->client();
    const auto stats = info_fields(c, "commandstats");
    const std::set<std::string> allowed = {
        "cmdstat_info",   "cmdstat_subscribe",  "cmdstat_publish",         "cmdstat_ping",
        "cmdstat_select", "cmdstat_psubscribe", "cmdstat_config|resetstat"};
    for (const auto& [k, v] : stats)
      CHECK_MESSAGE(allowed.count(k), "replica " << servers[i]->port() << " " << k << ": " << v);
    CHECK(info_fields(c, "stats")["keyspace_hits"] == "0");
  }
  // Key counts and keyspaces unchanged; notification settings are the test's.
  for (std::size_t i = 0; i < servers.size(); ++i) {
    CHECK(dbsize(*servers[i]) == sizes[i]);
    RespClient c = servers[i]->client();
    std::string text;
    for (const auto& [k, v] : info_fields(c, "keyspace")) text += k + ":" + v + "\n";
    CHECK(text == keyspaces[i]);
    const Reply conf = c.command({"CONFIG", "GET", "notify-keyspace-events"});
    REQUIRE(conf.elements.size() == 2);
    std::string flags = conf.elements[1].str;
    std::sort(flags.begin(), flags.end());
    CHECK(flags == "AEK");
  }
  // No keyspace event came from lag-check: the first event each subscriber sees is the test's
  // own marker key.
  {
    RespClient c = set.master().client();
    REQUIRE(c.command({"SET", "lag-check-test:marker", "1"}).describe() == "OK");
  }
  for (std::size_t i = 0; i < watchers.size(); ++i) {
    const Reply m = watchers[i].read_reply();
    INFO("server " << servers[i]->port() << ": " << m.describe());
    REQUIRE(m.elements.size() == 4);
    CHECK(m.elements[0].str == "pmessage");
    CHECK(m.elements[2].str == "__keyspace@0__:lag-check-test:marker");
    CHECK(m.elements[3].str == "set");
  }
  // The probe channel's subscriptions went with lag-check's connections.
  for (std::size_t i = 1; i < servers.size(); ++i) {
    RespClient c = servers[i]->client();
    const auto deadline = Clock::now() + milliseconds(5000);
    Reply channels;
    for (;;) {
      channels = c.command({"PUBSUB", "CHANNELS"});
      if (channels.type == Reply::Type::array && channels.elements.empty()) break;
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    CHECK_MESSAGE(channels.elements.empty(), "left subscribed: " << channels.describe());
  }
}

SERVER_TEST_CASE("lag_check: each run probes on its own channel") {
  ReplicaSet set(1);
  RespClient spy = set.master().client(milliseconds(5000));
  REQUIRE(spy.command({"PSUBSCRIBE", "*"}).type == Reply::Type::array);
  std::vector<std::string> channels;
  for (int run = 0; run < 2; ++run) {
    const LagRun r = lag_check(set.master().port(), {"--probes", "2", "--probe-timeout", "1"});
    INFO(shown(r));
    REQUIRE(r.code == 0);
    {
      RespClient c = set.master().client();
      c.command({"PUBLISH", "lag-check-test:end", "x"});
    }
    std::vector<std::string> seen;
    for (;;) {
      const Reply m = spy.read_reply();
      REQUIRE(m.elements.size() == 4);
      if (m.elements[2].str == "lag-check-test:end") break;
      seen.push_back(m.elements[2].str + " " + m.elements[3].str);
      channels.push_back(m.elements[2].str);
    }
    INFO("published: " << seen.size());
    REQUIRE(seen.size() == 2);
    CHECK(channels[channels.size() - 1] == channels[channels.size() - 2]);
    CHECK(channels.back().starts_with("__redis-repl:lag:"));
  }
  CHECK(channels.front() != channels.back());
}

SERVER_TEST_CASE(
    "lag_check: --watch 0.2 --count 3 prints three samples and exits with the last status") {
  ReplicaSet set;

  SUBCASE("json: three lines, 0.2 s apart") {
    const LagRun r =
        lag_check(set.master().port(), {"--watch", "0.2", "--count", "3", "--format", "json",
                                        "--probes", "2", "--probe-timeout", "1"});
    INFO(shown(r));
    CHECK(r.code == 0);
    const std::vector<std::string> lines = lines_of(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(r.out.back() == '\n');
    std::int64_t previous = 0;
    for (const std::string& l : lines) {
      const json doc = json::parse(l, nullptr, false);
      REQUIRE_FALSE(doc.is_discarded());
      CHECK(doc["status"] == "OK");
      CHECK(doc["replicas"].size() == 2);
      const std::int64_t t = doc["time_ms"];
      if (previous) CHECK(t - previous >= 100);  // time_ms: when a sample began
      previous = t;
    }
    CHECK(r.seconds >= 0.35);
  }

  SUBCASE("nagios: three status lines") {
    const LagRun r =
        lag_check(set.master().port(), {"--watch", "0.2", "--count", "3", "--format", "nagios",
                                        "--probes", "2", "--probe-timeout", "1"});
    INFO(shown(r));
    CHECK(r.code == 0);
    const std::vector<std::string> lines = lines_of(r.out);
    REQUIRE(lines.size() == 3);
    for (const std::string& l : lines) CHECK(l.starts_with("REDIS REPLICATION OK - "));
  }

  SUBCASE("the exit code is the last sample's, not the worst") {
    // The first sample finds a replica stopped (WARNING: its probe is not delivered); it is
    // resumed as soon as that sample has published its probe, long before the next sample.
    RedisServer& victim = set.replica(1);
    {
      RespClient c = set.master().client();
      REQUIRE(c.command({"CONFIG", "RESETSTAT"}).describe() == "OK");
    }
    SigstopGuard frozen(victim.pid());
    std::atomic<bool> resumed_after_publish{false};
    std::string poll_error;
    {
      std::jthread resumer([&](std::stop_token stop) {
        try {
          RespClient c = set.master().client(milliseconds(2000));
          const auto deadline = Clock::now() + milliseconds(15000);
          while (!stop.stop_requested() && Clock::now() < deadline) {
            if (info_fields(c, "commandstats").count("cmdstat_publish")) {
              frozen.resume();
              resumed_after_publish = true;
              return;
            }
            std::this_thread::sleep_for(milliseconds(5));
          }
        } catch (const std::exception& e) {
          poll_error = e.what();
        }
        frozen.resume();
      });
      const LagRun r =
          lag_check(set.master().port(), {"--watch", "1", "--count", "3", "--format", "json",
                                          "--probes", "1", "--probe-timeout", "0.3"});
      resumer.request_stop();
      resumer.join();
      INFO(shown(r));
      INFO("poll error: " << poll_error);
      REQUIRE(resumed_after_publish);
      const std::vector<std::string> lines = lines_of(r.out);
      REQUIRE(lines.size() == 3);
      std::vector<std::string> statuses;
      for (const std::string& l : lines) {
        const json doc = json::parse(l, nullptr, false);
        REQUIRE_FALSE(doc.is_discarded());
        statuses.push_back(doc["status"].get<std::string>());
      }
      CHECK(statuses == std::vector<std::string>{"WARNING", "OK", "OK"});
      CHECK(r.code == 0);
    }
  }
}
