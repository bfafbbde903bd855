// `redis-repl lag-check` as monitoring systems use it, against real servers: a master with three
// real replicas (one of them frozen with SIGSTOP) and two replication clients that announce no
// port (`redis-cli --replica` and `redis-repl tail`), the "inspectors".
//
// What is checked:
// 1. Prometheus text, read as a textfile collector reads it: every family has HELP and TYPE once,
//    no series repeats, no series for a port-less client, the inspectors counted in one series,
//    the replicas in another; exit 0 although the check is not OK (the status is in the metrics);
//    --output writes the same text to a file, replaced whole, and a file it cannot write is
//    exit 3.
// 2. Nagios: no perfdata label repeats, no label for a port-less client, the inspectors as a
//    count, the replica count with its critical range, the exit code the status.
// 3. --min-replicas: a master with no replica, or with inspectors only, is CRITICAL by default;
//    --min-replicas 0 accepts it; --min-replicas 2 with one replica is CRITICAL.
// 4. Thresholds printed as given (0.00001, never 1e-05), and a WARNING on a sub-millisecond
//    threshold never reads "0.000 s behind".
// 5. --self on a master with the default 5 s diskless delay completes, saying why it waits.
// 6. --timeout bounds each query: a frozen replica holds the check that long, not longer.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/background_process.hpp"
#include "support/redis_server.hpp"
#include "support/replica_set.hpp"
#include "support/server_test.hpp"

namespace {

using json = nlohmann::ordered_json;
using redis_repl::test::BackgroundProcess;
using redis_repl::test::info_fields;
using redis_repl::test::RedisServer;
using redis_repl::test::ReplicaSet;
using redis_repl::test::RespClient;
using redis_repl::test::run_program;
using redis_repl::test::SigstopGuard;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Run {
  int code = -1;
  std::string out, err;
  double seconds = 0;
};

std::string shown(const Run& r) {
  return "exit " + std::to_string(r.code) + " after " + std::to_string(r.seconds) +
         " s\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

Run lag_check(int port, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {REDIS_REPL_BINARY, "lag-check", "-h",
                                   "127.0.0.1",       "-p",        std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto started = Clock::now();
  const auto p = run_program(argv, milliseconds(60000));
  return Run{p.exit_code, p.out, p.err,
             std::chrono::duration<double>(Clock::now() - started).count()};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A program found in PATH (BackgroundProcess wants a path), or the bare name when it is not.
std::string in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');) {
    const std::filesystem::path p = std::filesystem::path(d.empty() ? "." : d) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return name;
}

// How many replication clients the master lists with port 0.
int portless_listed(RedisServer& master) {
  RespClient c = master.client();
  int n = 0;
  for (const auto& [k, v] : info_fields(c, "replication"))
    if (k.starts_with("slave") && v.find(",port=0,") != std::string::npos) ++n;
  return n;
}

// Two port-less replication clients on the master: `redis-cli --replica` and `redis-repl tail`.
struct Inspectors {
  std::unique_ptr<BackgroundProcess> cli, tail;
  explicit Inspectors(RedisServer& master) {
    const std::string port = std::to_string(master.port());
    cli = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{in_path(std::string(redis_repl::test::current_server_kind().cli)),
                                 "-h", "127.0.0.1", "-p", port, "--replica"});
    tail = std::make_unique<BackgroundProcess>(std::vector<std::string>{
        REDIS_REPL_BINARY, "tail", "-h", "127.0.0.1", "-p", port, "--format", "json"});
    const auto deadline = Clock::now() + milliseconds(20000);
    while (portless_listed(master) < 2) {
      REQUIRE_MESSAGE(Clock::now() < deadline, "the master does not list two port-less clients\n"
                                                   << cli->describe() << "\n"
                                                   << tail->describe());
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
};

// Prometheus text read as node_exporter's textfile collector reads it: each family's HELP and
// TYPE once and before its samples, no sample (name and labels) twice. Returns the samples.
std::map<std::string, double> read_textfile(const std::string& text) {
  INFO("prometheus text:\n" << text);
  static const std::regex help_re(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  static const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) gauge)");
  static const std::regex sample_re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\}) (\S+))");
  std::set<std::string> helped, typed;
  std::map<std::string, double> samples;
  std::string family;
  for (const std::string& l : lines_of(text)) {
    std::smatch m;
    if (std::regex_match(l, m, help_re)) {
      CHECK_MESSAGE(helped.insert(m[1]).second, "HELP twice: " << l);
      family = m[1];
    } else if (std::regex_match(l, m, type_re)) {
      CHECK_MESSAGE(typed.insert(m[1]).second, "TYPE twice: " << l);
      CHECK(m[1] == family);
    } else if (std::regex_match(l, m, sample_re)) {
      CHECK_MESSAGE(m[1] == family, "sample outside its family: " << l);
      CHECK_MESSAGE(samples.count(m[1].str() + m[2].str()) == 0, "series repeated: " << l);
      char* end = nullptr;
      const std::string v = m[3];
      samples[m[1].str() + m[2].str()] = std::strtod(v.c_str(), &end);
      CHECK_MESSAGE(end == v.c_str() + v.size(), "value does not parse: " << l);
    } else {
      FAIL_CHECK("not a line of the text format: '" << l << "'");
    }
  }
  return samples;
}

double sample_of(const std::map<std::string, double>& samples, const std::string& series) {
  const auto it = samples.find(series);
  REQUIRE_MESSAGE(it != samples.end(), "no series " << series);
  return it->second;
}

// The perfdata labels of a Nagios line, in order.
std::vector<std::string> perf_labels(const std::string& line) {
  std::vector<std::string> labels;
  static const std::regex item_re(R"('([^']*)'=)");
  const std::size_t bar = line.find(" | ");
  if (bar == std::string::npos) return labels;
  const std::string perf = line.substr(bar + 3);
  for (std::sregex_iterator it(perf.begin(), perf.end(), item_re), end; it != end; ++it)
    labels.push_back((*it)[1]);
  return labels;
}

}  // namespace

SERVER_TEST_CASE(
    "lag_check monitoring: inspectors are counted once, never a series, a frozen replica") {
  ReplicaSet set(3);
  const int master = set.master().port();
  Inspectors inspectors(set.master());
  SigstopGuard frozen(set.replica(2).pid());
  const std::string stopped = "127.0.0.1:" + std::to_string(set.replica(2).port());
  const std::vector<std::string> quick = {"--probes", "2", "--probe-timeout", "0.5"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = quick;
    a.insert(a.end(), extra.begin(), extra.end());
    return lag_check(master, a);
  };

  // 1. Prometheus, to stdout and with --output.
  const Run p = with({"--format", "prometheus"});
  {
    INFO(shown(p));
    CHECK(p.code == 0);  // not OK (a frozen replica), but the metrics were written
    CHECK(p.out.find("127.0.0.1:0") == std::string::npos);
    const auto samples = read_textfile(p.out);
    const std::string m = "{master=\"127.0.0.1:" + std::to_string(master) + "\"}";
    CHECK(sample_of(samples, "redis_repl_up" + m) == 1);
    CHECK(sample_of(samples, "redis_repl_connected_inspectors" + m) == 2);
    CHECK(sample_of(samples, "redis_repl_connected_replicas" + m) == 3);
    CHECK(sample_of(samples, "redis_repl_lag_check_status" + m) >= 1);
    CHECK(sample_of(samples, "redis_repl_check_duration_seconds" + m) > 0);
    const double t = sample_of(samples, "redis_repl_last_sample_timestamp_seconds" + m);
    CHECK(std::abs(t - static_cast<double>(std::time(nullptr))) < 120);
    CHECK(sample_of(samples, "redis_repl_replica_status{master=\"127.0.0.1:" +
                                 std::to_string(master) + "\",replica=\"" + stopped + "\"}") >= 1);
    int replica_status_series = 0;
    for (const auto& [k, v] : samples)
      replica_status_series += k.starts_with("redis_repl_replica_status{");
    CHECK(replica_status_series == 3);
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("lag-monitoring-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    const std::string file = (dir / "redis.prom").string();
    {
      std::ofstream old(file);
      old << "stale\n";
    }
    const Run f = with({"--format", "prometheus", "--output", file});
    INFO(shown(f));
    CHECK(f.code == 0);
    CHECK(f.out.empty());
    std::ifstream in(file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find("stale") == std::string::npos);
    CHECK(read_textfile(text).size() == read_textfile(p.out).size());
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
    CHECK(entries == 1);  // no temporary file left beside it
    const Run bad =
        with({"--format", "prometheus", "--output", (dir / "no-such-dir" / "x.prom").string()});
    INFO(shown(bad));
    CHECK(bad.code == 3);
    CHECK(bad.err.starts_with("redis-repl: "));
    // A symbolic link is never written through (its target stays as it was): it is replaced.
    const std::filesystem::path target = dir / "target";
    {
      std::ofstream t(target);
      t << "keep\n";
    }
    const std::filesystem::path link = dir / "link.prom";
    std::filesystem::create_symlink(target, link);
    const Run l = with({"--format", "prometheus", "--output", link.string()});
    INFO(shown(l));
    CHECK(l.code == 0);
    CHECK_FALSE(std::filesystem::is_symlink(link));
    std::ifstream kept(target);
    const std::string k((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
    CHECK(k == "keep\n");
    // A directory is refused before anything is measured.
    const Run d = with({"--format", "prometheus", "--output", dir.string()});
    INFO(shown(d));
    CHECK(d.code == 3);
    CHECK(d.err.find("output file") != std::string::npos);
  }
  std::filesystem::remove_all(dir);

  // 2. Nagios: labels unique, the inspectors one count, the exit code the status.
  const Run n = with({"--format", "nagios", "--warn-seconds", "0.00001"});
  {
    INFO(shown(n));
    CHECK(n.code >= 1);
    CHECK(n.code <= 2);
    REQUIRE(lines_of(n.out).size() == 1);
    const std::vector<std::string> labels = perf_labels(n.out);
    CHECK(std::set<std::string>(labels.begin(), labels.end()).size() == labels.size());
    CHECK(n.out.find("127.0.0.1:0") == std::string::npos);
    CHECK(n.out.find("'inspectors'=2;;;0;") != std::string::npos);
    CHECK(n.out.find("'replicas'=3;;1:;0;") != std::string::npos);
    CHECK(n.out.find(";0.00001;") != std::string::npos);
    CHECK(n.out.find("e-") == std::string::npos);
    CHECK(n.out.find("0.000 s behind") == std::string::npos);
    CHECK(n.out.find("'" + stopped + " seconds'=") != std::string::npos);
  }

  // JSON: the inspectors as a count, never as replicas.
  const Run j = with({"--format", "json"});
  {
    INFO(shown(j));
    const json doc = json::parse(j.out, nullptr, false);
    REQUIRE(doc.is_object());
    CHECK(doc["inspectors"] == 2);
    CHECK(doc["replicas"].size() == 3);
    for (const json& x : doc["replicas"]) CHECK(x["address"] != "127.0.0.1:0");
  }

  // 6. --timeout: the frozen replica takes the connection and answers nothing; the query waits
  // --timeout (1.5 s), where without it the probe timeout (0.5 s) bounds it.
  const Run slow = with({"--format", "json", "--timeout", "1.5"});
  {
    INFO(shown(slow));
    CHECK(slow.seconds >= 1.5);
    const Run fast = with({"--format", "json"});
    INFO(shown(fast));
    CHECK(fast.seconds < slow.seconds - 0.5);
  }
}

SERVER_TEST_CASE(
    "lag_check monitoring: missing replicas are CRITICAL, --min-replicas 0 accepts none") {
  RedisServer alone;
  Inspectors inspectors(alone);  // replication clients, but no replica
  const std::vector<std::string> quick = {"--probes", "1", "--probe-timeout", "0.5"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = quick;
    a.insert(a.end(), extra.begin(), extra.end());
    return lag_check(alone.port(), a);
  };
  const Run none = with({"--format", "nagios"});
  {
    INFO(shown(none));
    CHECK(none.code == 2);
    CHECK(
        none.out.starts_with("REDIS REPLICATION CRITICAL - 0 replicas, --min-replicas asks for 1"));
    CHECK(none.out.find("'inspectors'=2;;;0;") != std::string::npos);
    CHECK(none.out.find("'replicas'=0;;1:;0;") != std::string::npos);
  }
  const Run accepted = with({"--format", "nagios", "--min-replicas", "0"});
  {
    INFO(shown(accepted));
    CHECK(accepted.code == 0);
    CHECK(
        accepted.out.starts_with("REDIS REPLICATION OK - 0 replicas in step (2 replication "
                                 "clients without a port, not measured)"));
  }
  const Run prom = with({"--format", "prometheus"});
  {
    INFO(shown(prom));
    CHECK(prom.code == 0);
    const auto samples = read_textfile(prom.out);
    const std::string m = "{master=\"127.0.0.1:" + std::to_string(alone.port()) + "\"}";
    CHECK(sample_of(samples, "redis_repl_lag_check_status" + m) == 2);
    CHECK(sample_of(samples, "redis_repl_connected_replicas" + m) == 0);
    CHECK(sample_of(samples, "redis_repl_min_replicas" + m) == 1);
  }

  ReplicaSet one(1);
  const Run two = lag_check(one.master().port(), {"--probes", "1", "--probe-timeout", "0.5",
                                                  "--format", "json", "--min-replicas", "2"});
  INFO(shown(two));
  CHECK(two.code == 2);
  const json doc = json::parse(two.out, nullptr, false);
  REQUIRE(doc.is_object());
  CHECK(doc["status"] == "CRITICAL");
  CHECK(doc["summary"] == "1 replica, --min-replicas asks for 2");
}

SERVER_TEST_CASE(
    "lag_check monitoring: --self waits out a default master's diskless delay, and says so") {
  // The master keeps Redis's default repl-diskless-sync-delay of 5 s (the replicas are already
  // in sync when it is set).
  ReplicaSet set(1);
  {
    RespClient c = set.master().client();
    REQUIRE(c.command({"CONFIG", "SET", "repl-diskless-sync-delay", "5"}).describe() == "OK");
  }
  const Run r = lag_check(set.master().port(), {"--self", "--probes", "2", "--format", "json"});
  INFO(shown(r));
  CHECK(r.code == 0);
  CHECK(r.err.find("repl-diskless-sync-delay (5 s)") != std::string::npos);
  const json doc = json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_object());
  REQUIRE(doc["replicas"].size() == 2);
  const json& self = doc["replicas"][1];
  CHECK(self["address"] == "redis-repl (self)");
  CHECK(self["status"] == "OK");
  CHECK(self["probes"]["delivered"] == 2);
  CHECK(doc["summary"] == "2 replicas in step");
}
