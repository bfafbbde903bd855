// The ways to reach a server, against real redis-server processes: a Unix socket (-s, unix://)
// and TLS (--tls, rediss://, client certificates, and every way verification must fail: another
// CA, another name, an expired certificate, a server that does not speak TLS), for tail,
// dump-rdb -o and lag-check. The certificates are made here with the openssl command.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/background_process.hpp"
#include "support/redis_server.hpp"
#include "support/replication.hpp"
#include "support/server_test.hpp"

namespace redis_repl::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

const std::string binary = REDIS_REPL_BINARY;

// A throw-away PKI: a CA, certificates it signs (a server's for 127.0.0.1 and localhost, a
// client's, an expired one, one for another name) and a second, unrelated CA.
class Pki {
 public:
  Pki() {
    make_ca("ca");
    make_ca("other-ca");
    sign("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost", "365");
    sign("client", "ca", "extendedKeyUsage=clientAuth", "365");
    sign("expired", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-1");
    sign("elsewhere", "ca", "subjectAltName=DNS:elsewhere.example", "365");
    sign("stranger", "other-ca", "subjectAltName=IP:127.0.0.1,DNS:localhost", "365");
  }
  fs::path crt(const std::string& name) const { return dir_ / (name + ".crt"); }
  fs::path key(const std::string& name) const { return dir_ / (name + ".key"); }
  // A TLS port serving this certificate; clients are checked against the first CA.
  TlsFiles server_files(const std::string& name, bool auth_clients = false) const {
    return TlsFiles{crt(name), key(name), crt("ca"), auth_clients, false};
  }

 private:
  void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    const ProgramResult r = run_program(args, 30s);
    if (r.exit_code != 0) throw HarnessError("openssl " + args.at(1) + " failed: " + r.err);
  }
  void new_key(const std::string& name) {
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
             key(name).string()});
  }
  void make_ca(const std::string& name) {
    new_key(name);
    openssl({"req", "-x509", "-new", "-key", key(name).string(), "-out", crt(name).string(),
             "-days", "365", "-subj", "/CN=redis-repl test " + name});
  }
  void sign(const std::string& name, const std::string& ca, const std::string& extension,
            const std::string& days) {
    new_key(name);
    const fs::path csr = dir_ / (name + ".csr"), ext = dir_ / (name + ".ext");
    std::ofstream(ext) << extension << "\n";
    openssl(
        {"req", "-new", "-key", key(name).string(), "-out", csr.string(), "-subj", "/CN=" + name});
    // -days -1: valid until yesterday, so already expired.
    openssl({"x509", "-req", "-in", csr.string(), "-CA", crt(ca).string(), "-CAkey",
             key(ca).string(), "-CAcreateserial", "-out", crt(name).string(), "-days", days,
             "-extfile", ext.string()});
  }

  TempDir dir_;
};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::size_t lines_in(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// tail until two commands are printed, while a key is written now and then; the commands' keys.
std::vector<std::string> tail_two(RedisServer& m, const std::vector<std::string>& how) {
  BackgroundProcess t(with({binary, "tail"}, with(how, {"--count", "2"})));
  RespClient c = m.client();
  std::vector<std::string> keys;
  for (int i = 0; i < 200 && !t.exit_code(); ++i) {
    must(c, {"SET", "k" + std::to_string(i), "v"});
    const auto printed = [&] {
      std::size_t n = 0;
      for (const std::string& l : t.lines()) n += l.find("\"kind\":\"command\"") != l.npos;
      return n >= 2;
    };
    if (wait_until(printed, 50ms)) break;
  }
  const int code = t.wait(20s);
  INFO(t.describe());
  CHECK(code == 0);
  for (const json& l : parse_json_lines(t.out()))
    if (l.value("kind", "") == "command") keys.push_back(json_bytes(l.at("args").at(0)));
  CHECK(keys.size() == 2);
  return keys;
}

// dump-rdb -o: the RDB as sent, which starts with its magic.
void dump_to_file(const std::vector<std::string>& how) {
  TempDir out;
  const fs::path file = out / "dump.rdb";
  const ProgramResult r =
      run_program(with({binary, "dump-rdb", "-q"}, with(how, {"-o", file.string()})), 60s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(file, std::ios::binary);
  std::string head(5, '\0');
  in.read(head.data(), 5);
  CHECK(head == "REDIS");
}

// lag-check --self: our own link is measured, so the whole link (handshake, feed, probes) works.
json lag_self(const std::vector<std::string>& how, int expect = 0) {
  const ProgramResult r = run_program(
      with({binary, "lag-check"},
           with(how, {"--self", "--min-replicas", "0", "--format", "json", "--probes", "2"})),
      60s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == expect);
  const json doc = json::parse(r.out);
  REQUIRE(doc["replicas"].size() >= 1);
  return doc;
}

// One line on stderr, exit 11, nothing on stdout.
void tls_refused(const std::vector<std::string>& args, const std::string& reason) {
  const ProgramResult r = run_program(args, 30s);
  INFO(r.err);
  CHECK(r.exit_code == 11);
  CHECK(lines_in(r.err) == 1);
  CHECK(r.err.starts_with("redis-repl: error: TLS: "));
  CHECK(r.err.find(reason) != std::string::npos);
  CHECK(r.out.empty());
}

}  // namespace

SERVER_TEST_CASE("connections: tail, dump-rdb -o and lag-check over a Unix socket (-s, unix://)") {
  ServerOptions options{.extra_args = master_args()};
  options.unix_socket = true;
  RedisServer m(options);
  const std::string sock = m.unix_socket().string();
  // A port that nothing listens on: only the socket can serve.
  const std::vector<std::string> over_socket = {"-p", "1", "-s", sock};
  CHECK(tail_two(m, over_socket).size() == 2);
  CHECK(tail_two(m, {"-u", "unix://" + sock}).size() == 2);
  dump_to_file(over_socket);
  const json doc = lag_self(over_socket);
  CHECK(doc["master"]["address"] == sock);
  CHECK(doc["replicas"].back()["probes"]["delivered"] == 2);

  // A socket that is not there: cannot connect, exit 3, one line naming it.
  const ProgramResult r =
      run_program({binary, "dump-rdb", "-q", "-s", sock + ".missing", "-o", "-"}, 30s);
  CHECK(r.exit_code == 3);
  CHECK(lines_in(r.err) == 1);
  CHECK(r.err.find(sock + ".missing: ") != std::string::npos);
}

SERVER_TEST_CASE("connections: tail, dump-rdb -o and lag-check over TLS, verified") {
  const Pki pki;
  ServerOptions options{.extra_args = master_args()};
  options.tls = pki.server_files("server");
  RedisServer m(options);
  const std::string port = std::to_string(m.tls_port());
  const std::string ca = pki.crt("ca").string();
  const std::vector<std::string> tls = {"-p", port, "--tls", "--cacert", ca};

  CHECK(tail_two(m, tls).size() == 2);
  // By name: localhost is in the certificate too.
  CHECK(tail_two(m, {"-h", "localhost", "-p", port, "--tls", "--cacert", ca}).size() == 2);
  CHECK(tail_two(m, {"-u", "rediss://127.0.0.1:" + port, "--cacert", ca}).size() == 2);
  dump_to_file(tls);
  dump_to_file({"-u", "rediss://127.0.0.1:" + port + "/0", "--cacertdir",
                pki.crt("ca").parent_path().string(), "--cacert", ca});
  const json doc = lag_self(tls);
  CHECK(doc["replicas"].back()["probes"]["delivered"] == 2);
  // Only TLS 1.3 suites, or only TLS 1.2 ciphers: both still connect.
  dump_to_file(with(tls, {"--tls-ciphersuites", "TLS_AES_128_GCM_SHA256"}));
  dump_to_file(with(tls, {"--tls-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"}));
}

SERVER_TEST_CASE("connections: TLS with client certificates (tls-auth-clients yes)") {
  const Pki pki;
  ServerOptions options{.extra_args = master_args()};
  options.tls = pki.server_files("server", true);
  RedisServer m(options);
  const std::vector<std::string> tls = {"-p",
                                        std::to_string(m.tls_port()),
                                        "--tls",
                                        "--cacert",
                                        pki.crt("ca").string(),
                                        "--cert",
                                        pki.crt("client").string(),
                                        "--key",
                                        pki.key("client").string()};
  CHECK(tail_two(m, tls).size() == 2);
  dump_to_file(tls);
  lag_self(tls);

  // Without a certificate: the server refuses after the handshake (TLS 1.3), with an alert.
  for (const char* sub : {"tail", "dump-rdb"}) {
    CAPTURE(sub);
    std::vector<std::string> a = {binary,
                                  sub,
                                  "-p",
                                  std::to_string(m.tls_port()),
                                  "--tls",
                                  "--cacert",
                                  pki.crt("ca").string()};
    if (std::string(sub) == "dump-rdb") a.insert(a.end(), {"-q", "-o", "-"});
    tls_refused(a, "certificate required (SSL routines) (the server wants a client certificate");
  }
}

SERVER_TEST_CASE("connections: a certificate that does not verify is exit 11 with one line") {
  const Pki pki;
  auto serving = [&](const std::string& cert) {
    ServerOptions options{.extra_args = master_args()};
    options.tls = pki.server_files(cert);
    return options;
  };
  const std::string ca = pki.crt("ca").string();
  RedisServer stranger(serving("stranger"));
  RedisServer expired(serving("expired"));
  RedisServer elsewhere(serving("elsewhere"));
  auto args = [&](const char* sub, const RedisServer& s, std::vector<std::string> more = {}) {
    std::vector<std::string> a = {binary,  sub,        "-p", std::to_string(s.tls_port()),
                                  "--tls", "--cacert", ca};
    if (std::string(sub) == "dump-rdb") a.insert(a.end(), {"-q", "-o", "-"});
    if (std::string(sub) == "tail") a.insert(a.end(), {"--count", "1"});
    return with(a, more);
  };
  const std::string at = "127.0.0.1:";
  for (const char* sub : {"tail", "dump-rdb"}) {
    CAPTURE(sub);
    // Signed by a CA we were not told to trust.
    tls_refused(args(sub, stranger), "certificate verify failed for " + at +
                                         std::to_string(stranger.tls_port()) +
                                         ": unable to get local issuer certificate");
    tls_refused(args(sub, expired), "certificate has expired");
    // A certificate for elsewhere.example, reached as 127.0.0.1 or as localhost.
    tls_refused(args(sub, elsewhere), "IP address mismatch");
    tls_refused(with(args(sub, elsewhere), {"-h", "localhost"}), "hostname mismatch");
    // --sni names another host: verified against that name.
    tls_refused(args(sub, expired, {"--sni", "elsewhere.example"}), "certificate verify failed");
  }
  // lag-check: UNKNOWN, with the reason.
  const ProgramResult r = run_program(args("lag-check", stranger), 30s);
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("unable to get local issuer certificate") != std::string::npos);

  // The weaker checks, asked for: the name alone not checked, or nothing at all.
  dump_to_file({"-p", std::to_string(elsewhere.tls_port()), "--tls", "--cacert", ca,
                "--tls-no-verify-name"});
  dump_to_file({"-p", std::to_string(elsewhere.tls_port()), "--tls", "--cacert", ca, "--sni",
                "elsewhere.example"});
  dump_to_file({"-p", std::to_string(stranger.tls_port()), "--tls", "--insecure"});
  dump_to_file({"-p", std::to_string(expired.tls_port()), "--tls", "--insecure"});
  // --tls-no-verify-name still checks the chain.
  tls_refused(args("dump-rdb", stranger, {"--tls-no-verify-name"}), "certificate verify failed");
}

// Redis reads our ClientHello as an inline command: if its random bytes hold a newline, it
// answers an error at once (not TLS: exit 11); if not, it waits for the rest of the line, and
// the handshake times out (exit 3). Either way one line says what it looks like.
SERVER_TEST_CASE(
    "connections: --tls to a server that does not speak TLS is exit 11 or 3, one line") {
  RedisServer plain(ServerOptions{.extra_args = master_args()});
  for (const char* sub : {"tail", "dump-rdb"}) {
    for (int i = 0; i < 3; ++i) {
      CAPTURE(sub);
      std::vector<std::string> a = {
          binary, sub, "-p", std::to_string(plain.port()), "--tls", "--insecure", "--timeout", "1"};
      if (std::string(sub) == "dump-rdb") a.insert(a.end(), {"-q", "-o", "-"});
      const ProgramResult r = run_program(a, 30s);
      INFO(r.err);
      CHECK((r.exit_code == 11 || r.exit_code == 3));
      CHECK(lines_in(r.err) == 1);
      CHECK(r.err.find("does the server speak TLS on this port?") != std::string::npos);
      CHECK(r.out.empty());
    }
  }
}

SERVER_TEST_CASE("connections: a replica linked to its master over TLS is measured over TLS") {
  const Pki pki;
  ServerOptions mo{.extra_args = master_args()};
  mo.tls = pki.server_files("server");
  RedisServer m(mo);
  ServerOptions ro{.extra_args = master_args()};
  ro.tls = pki.server_files("server");
  ro.tls->replication = true;  // its link to the master is TLS; it announces its TLS port
  RedisServer r(ro);
  RespClient rc = r.client();
  must(rc, {"REPLICAOF", "127.0.0.1", std::to_string(m.tls_port())});
  REQUIRE(
      wait_until([&] { return info_field(rc, "replication", "master_link_status") == "up"; }, 20s));
  const ProgramResult lag =
      run_program({binary, "lag-check", "-p", std::to_string(m.tls_port()), "--tls", "--cacert",
                   pki.crt("ca").string(), "--format", "json", "--probes", "2"},
                  60s);
  INFO(lag.out << lag.err);
  CHECK(lag.exit_code == 0);
  const json doc = json::parse(lag.out);
  REQUIRE(doc["replicas"].size() == 1);
  CHECK(doc["replicas"][0]["address"] == "127.0.0.1:" + std::to_string(r.tls_port()));
  CHECK(doc["replicas"][0]["probes"]["delivered"] == 2);
}

}  // namespace redis_repl::test

namespace redis_repl::test {

// A URI's user, its password with escapes (@ : / % in it), and its db, which like -n is the
// default for --db; --db given wins.
SERVER_TEST_CASE("connections: URI credentials with escapes, and the db of -n or a URI as --db") {
  RedisServer m(ServerOptions{.extra_args = master_args()});
  RespClient c = m.client();
  must(c, {"ACL", "SETUSER", "reader", "on", ">p@ss:w/rd%", "~*", "&*", "+@all"});
  for (const char* db : {"0", "1", "3"}) {
    must(c, {"SELECT", db});
    must(c, {"SET", std::string("in-db-") + db, "v"});
  }
  must(c, {"CONFIG", "SET", "requirepass", "secret"});
  const std::string at = "127.0.0.1:" + std::to_string(m.port());
  const std::string uri = "redis://reader:p%40ss%3Aw%2Frd%25@" + at;
  auto keys_of = [&](const std::vector<std::string>& how) {
    const ProgramResult r =
        run_program(with({binary, "dump-rdb", "-q", "--format", "keys"}, how), 30s);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    return r.out;
  };
  CHECK(keys_of({"-u", uri + "/3"}) == "in-db-3\n");
  CHECK(keys_of({"-u", uri, "-n", "1"}) == "in-db-1\n");
  CHECK(keys_of({"-u", uri + "/3", "--db", "0"}) == "in-db-0\n");
  CHECK(keys_of({"-p", std::to_string(m.port()), "--user", "reader", "-a", "p@ss:w/rd%",
                 "--no-auth-warning", "-n", "3"}) == "in-db-3\n");
  // A wrong escape of the right password is the wrong password: exit 4.
  const ProgramResult bad = run_program(
      {binary, "dump-rdb", "-q", "--format", "keys", "-u", "redis://reader:p%40ss@" + at}, 30s);
  CHECK(bad.exit_code == 4);
  CHECK(bad.err.find("p@ss") == std::string::npos);

  // tail -n 3: of two writes, only the one in db 3 is printed.
  BackgroundProcess t({binary, "tail", "-u", uri, "-n", "3", "--count", "1"});
  REQUIRE(wait_until([&] { return t.lines().size() >= 1; }, 20s));  // the sync line: joined
  must(c, {"AUTH", "secret"});
  must(c, {"SELECT", "0"});
  must(c, {"SET", "later-0", "v"});
  must(c, {"SELECT", "3"});
  must(c, {"SET", "later-3", "v"});
  CHECK(t.wait(20s) == 0);
  const auto lines = parse_json_lines(t.out());
  const auto commands = of_kind(lines, "command");
  REQUIRE(commands.size() == 1);
  CHECK(json_bytes(commands[0].at("args").at(0)) == "later-3");
  CHECK(commands[0].at("db") == 3);
}

}  // namespace redis_repl::test
