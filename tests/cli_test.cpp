// The command line as a user meets it: every flag is in the man page and in the three
// completion files, each failure ends with its documented exit code, and `| head` is a success.
//
// The flag check walks the real CLI::App built by register_all(), so a flag added to a
// subcommand without documentation fails here. The files are read from REDIS_REPL_SOURCE_DIR;
// the pipe test runs the built binary (REDIS_REPL_BINARY) under bash.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "support/fake_master.hpp"
#include "support/fixtures.hpp"
#include "support/redis_server.hpp"
#include "support/replica_set.hpp"

extern char** environ;

namespace {

using redis_repl::cli::ExitCode;

const std::string source_dir = REDIS_REPL_SOURCE_DIR;
// The shared fixtures live next to the repository checkout.
const std::string big_fixture =
    source_dir + "/../shared/fixtures/rdb/public/redis-port/list_decode.rdb";
const std::string small_fixture =
    source_dir + "/../shared/fixtures/rdb/generated/redis-7.4.1/mixed.rdb";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// roff writes the hyphens of a flag as "\-"; the man page is searched with them undone.
std::string unroff(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '-') continue;
    out.push_back(text[i]);
  }
  return out;
}

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// True when name occurs in text and is not the start of a longer name ("--db" in "--dbs").
bool mentions(std::string_view text, std::string_view name) {
  for (std::size_t at = text.find(name); at != std::string_view::npos;
       at = text.find(name, at + 1)) {
    const std::size_t end = at + name.size();
    if (end == text.size() || !word_char(text[end])) return true;
  }
  return false;
}

// fish names a long flag as `-l name` (or `--long-option name`), never as "--name".
bool fish_mentions(std::string_view text, std::string_view long_flag) {
  const std::string_view name = long_flag.substr(2);
  for (const char* prefix : {"-l ", "--long-option ", "--long-option="}) {
    if (mentions(text, std::string(prefix) + std::string(name))) return true;
  }
  return false;
}

// One command of the program: the subcommand names leading to it (none for the program
// itself), the subcommands under it, and its long options as "--name".
struct Command {
  std::vector<std::string> path;
  std::vector<std::string> subcommands;
  std::vector<std::string> long_flags;
};

void collect(CLI::App& app, std::vector<std::string> path, std::vector<Command>& out) {
  Command c;
  c.path = path;
  for (CLI::Option* opt : app.get_options()) {
    for (const std::string& name : opt->get_lnames()) c.long_flags.push_back("--" + name);
  }
  const std::vector<CLI::App*> subs = app.get_subcommands({});
  for (CLI::App* sub : subs) c.subcommands.push_back(sub->get_name());
  out.push_back(c);
  for (CLI::App* sub : subs) {
    path.push_back(sub->get_name());
    collect(*sub, path, out);
    path.pop_back();
  }
}

// The real command line, built by the same register_all() that run_main() uses.
std::vector<Command> program_commands() {
  CLI::App app{"redis-repl", "redis-repl"};
  redis_repl::cli::Runner runner;
  redis_repl::cli::register_all(app, runner);
  std::vector<Command> commands;
  collect(app, {}, commands);
  return commands;
}

enum class Syntax { plain, fish };

std::vector<std::string> missing_from(std::string_view text, const std::vector<std::string>& flags,
                                      Syntax syntax) {
  std::vector<std::string> missing;
  for (const std::string& flag : flags) {
    const bool found = syntax == Syntax::fish ? fish_mentions(text, flag) : mentions(text, flag);
    if (!found) missing.push_back(flag);
  }
  return missing;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// Runs run_main with standard output and error sent to /dev/null (--help and errors print).
int run_quietly(std::initializer_list<const char*> args) {
  const std::vector<const char*> argv(args);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_out = ::dup(STDOUT_FILENO);
  const int saved_err = ::dup(STDERR_FILENO);
  const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  REQUIRE(saved_out >= 0);
  REQUIRE(saved_err >= 0);
  REQUIRE(null >= 0);
  ::dup2(null, STDOUT_FILENO);
  ::dup2(null, STDERR_FILENO);
  ::close(null);
  const int code = redis_repl::cli::run_main(static_cast<int>(argv.size()), argv.data());
  std::cout.flush();
  std::cerr.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(saved_out, STDOUT_FILENO);
  ::dup2(saved_err, STDERR_FILENO);
  ::close(saved_out);
  ::close(saved_err);
  return code;
}

struct Finished {
  int status = -1;  // from waitpid
  std::string output;
};

// Runs `bash -c script bash args...` with SIGPIPE at its default (as in a user's shell, even
// though run_main has set it to ignored in this process) and returns what it wrote to stdout.
Finished run_bash(const std::string& script, const std::vector<std::string>& args) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> words = {"bash", "-c", script, "bash"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, "bash", &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  Finished f;
  if (rc != 0) {
    ::close(fds[0]);
    FAIL("cannot run bash: " << rc);
    return f;
  }
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      f.output.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  while (::waitpid(pid, &f.status, 0) < 0 && errno == EINTR) {
  }
  return f;
}

int code(ExitCode c) { return static_cast<int>(c); }

}  // namespace

TEST_CASE("cli: every long flag is in the man page and in each completion file") {
  const std::vector<Command> commands = program_commands();
  std::vector<std::string> flags, subcommands;
  for (const Command& c : commands) {
    flags.insert(flags.end(), c.long_flags.begin(), c.long_flags.end());
    subcommands.insert(subcommands.end(), c.subcommands.begin(), c.subcommands.end());
  }
  REQUIRE_FALSE(subcommands.empty());
  REQUIRE(mentions(join(flags), "--help"));
  REQUIRE(mentions(join(flags), "--version"));
  REQUIRE(mentions(join(flags), "--file"));  // one of dump-rdb's: the walk goes into subcommands

  struct Doc {
    std::string path;
    Syntax syntax;
  };
  for (const Doc& doc :
       {Doc{"man/redis-repl.1", Syntax::plain}, Doc{"completions/redis-repl.bash", Syntax::plain},
        Doc{"completions/_redis-repl", Syntax::plain},
        Doc{"completions/redis-repl.fish", Syntax::fish}}) {
    const std::string text = unroff(read_file(source_dir + "/" + doc.path));
    const std::vector<std::string> missing_flags = missing_from(text, flags, doc.syntax);
    CHECK_MESSAGE(missing_flags.empty(),
                  "flags missing from " << doc.path << ": " << join(missing_flags));
    const std::vector<std::string> missing_subcommands =
        missing_from(text, subcommands, Syntax::plain);
    CHECK_MESSAGE(missing_subcommands.empty(),
                  "subcommands missing from " << doc.path << ": " << join(missing_subcommands));
  }
}

TEST_CASE("cli: the bash completion offers every subcommand and long flag") {
  // Sources the completion file, finds the function it registers for redis-repl, and calls it
  // on "redis-repl <path...> " (the program) or "redis-repl <path...> --" (a subcommand).
  const std::string script =
      "source \"$1\" || exit 1\n"
      "[[ $(complete -p redis-repl) =~ -F\\ ([^ ]+) ]] || exit 1\n"
      "fn=${BASH_REMATCH[1]}\n"
      "shift\n"
      "COMP_WORDS=(redis-repl \"$@\")\n"
      "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
      "COMP_LINE=\"${COMP_WORDS[*]}\"\n"
      "COMP_POINT=${#COMP_LINE}\n"
      "COMPREPLY=()\n"
      "\"$fn\" redis-repl \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD - 1]}\"\n"
      "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  const std::string file = source_dir + "/completions/redis-repl.bash";
  for (const Command& c : program_commands()) {
    std::vector<std::string> args = {file};
    args.insert(args.end(), c.path.begin(), c.path.end());
    args.push_back(c.path.empty() ? "" : "--");
    std::vector<std::string> expected = c.long_flags;
    if (c.path.empty()) expected.insert(expected.end(), c.subcommands.begin(), c.subcommands.end());

    const Finished f = run_bash(script, args);
    CAPTURE(f.output);
    REQUIRE(WIFEXITED(f.status));
    REQUIRE(WEXITSTATUS(f.status) == 0);
    std::vector<std::string> missing;
    for (const std::string& word : expected) {
      if (f.output.find("\n" + word + "\n") == std::string::npos &&
          !f.output.starts_with(word + "\n"))
        missing.push_back(word);
    }
    std::string line = "redis-repl";
    for (const std::string& p : c.path) line += " " + p;
    CHECK_MESSAGE(missing.empty(),
                  "completing \"" << line << " \" does not offer " << join(missing));
  }
}

TEST_CASE("cli: the documentation check notices a missing flag") {
  const std::vector<std::string> flags = {"--db", "--type"};
  CHECK(missing_from("use --dbs and --types", flags, Syntax::plain) == flags);
  CHECK(missing_from(unroff(".B \\-\\-db\n.BR \\-\\-type ,"), flags, Syntax::plain).empty());
  CHECK(missing_from("complete -c x -l db\ncomplete -c x -l typed", flags, Syntax::fish) ==
        std::vector<std::string>{"--type"});
}

TEST_CASE("cli: usage errors exit with 2") {
  SUBCASE("an unknown flag") {
    CHECK(run_quietly({"redis-repl", "dump-rdb", "--file", small_fixture.c_str(), "--bogus"}) ==
          code(ExitCode::usage));
    CHECK(run_quietly({"redis-repl", "--bogus", "dump-rdb", "--file", small_fixture.c_str()}) ==
          code(ExitCode::usage));
  }
  SUBCASE("flags that exclude each other") {
    // -o writes what a master sends; --file reads a file; -o and --format both say what to write.
    CHECK(run_quietly({"redis-repl", "dump-rdb", "--file", small_fixture.c_str(), "-o", "x.rdb"}) ==
          code(ExitCode::usage));
    CHECK(run_quietly({"redis-repl", "dump-rdb", "-p", "1", "-o", "x.rdb", "--format", "json"}) ==
          code(ExitCode::usage));
    CHECK(run_quietly({"redis-repl", "tail", "--state", "a", "--from-rdb", "b"}) ==
          code(ExitCode::usage));
  }
  SUBCASE("no subcommand") { CHECK(run_quietly({"redis-repl"}) == code(ExitCode::usage)); }
  SUBCASE("a value outside the choices") {
    CHECK(run_quietly({"redis-repl", "dump-rdb", "--file", small_fixture.c_str(), "--format",
                       "xml"}) == code(ExitCode::usage));
    CHECK(run_quietly({"redis-repl", "dump-rdb", "--file", small_fixture.c_str(), "--type",
                       "bitmap"}) == code(ExitCode::usage));
  }
}

TEST_CASE("cli: --help and --version exit with 0") {
  CHECK(run_quietly({"redis-repl", "--help"}) == code(ExitCode::ok));
  CHECK(run_quietly({"redis-repl", "dump-rdb", "--help"}) == code(ExitCode::ok));
  CHECK(run_quietly({"redis-repl", "--version"}) == code(ExitCode::ok));
}

TEST_CASE("cli: a file that cannot be opened exits with 10") {
  const std::string missing = source_dir + "/tests/no-such-file.rdb";
  CHECK(run_quietly({"redis-repl", "dump-rdb", "--file", missing.c_str()}) == code(ExitCode::io));
}

TEST_CASE("cli: standard output closed by the reader is a success") {
  SKIP_WITHOUT_CORPUS();
  struct stat st {};
  REQUIRE_MESSAGE(::stat(big_fixture.c_str(), &st) == 0, "missing fixture " << big_fixture);
  REQUIRE(st.st_size > (1 << 20));  // far more output than a pipe buffer holds

  // redis-repl's stderr goes to fd 3 (the captured stdout), its stdout into head; the status
  // of redis-repl itself comes from PIPESTATUS, so a death by SIGPIPE would show as 141.
  const std::string script =
      "exec 3>&1\n"
      "\"$1\" dump-rdb --quiet --file \"$2\" $3 2>&3 | head -c 10 >/dev/null\n"
      "echo \"exit=${PIPESTATUS[0]}\"\n";
  for (const char* format : {"--format=json", "--format=human", "--format=resp"}) {
    CAPTURE(format);
    const Finished f = run_bash(script, {REDIS_REPL_BINARY, big_fixture, format});
    REQUIRE(WIFEXITED(f.status));
    CHECK(WEXITSTATUS(f.status) == 0);
    CHECK(f.output == "exit=0\n");
  }
}

// Every numeric flag of the three subcommands, and -u, are checked before anything connects: a
// bad value is one line naming the flag and what it accepts, exit 2 (lag-check: 3, as any error
// there). A scripted master on the port given counts the connections: none may come.
TEST_CASE("cli: bad numbers, ports and URIs are usage errors, found before connecting") {
  redis_repl::test::FakeMaster master([](redis_repl::test::FakeMaster::Link&) {});
  const std::string port = std::to_string(master.port());
  const std::string at = "127.0.0.1:" + port;
  struct Case {
    std::vector<std::string> args;  // after the subcommand and -p PORT
    std::string message;            // the error line, after "redis-repl: error: "
  };
  const std::string seconds = "wants seconds from 0.001 to 86400, not ";
  const std::string db = "--db: wants a database number from 0 to 2147483646, not ";
  const std::string uri_form =
      " (redis[s]://[[user]:password@]host[:port][/db], unix://[[user]:password@]/path/to/socket)";
  const std::vector<std::pair<std::string, std::vector<Case>>> by_command = {
      {"tail",
       {
           {{"--timeout", "nan"}, "--timeout: " + seconds + "'nan'"},
           {{"--timeout", "1e10"}, "--timeout: " + seconds + "'1e10'"},
           {{"--timeout", "1e300"}, "--timeout: " + seconds + "'1e300'"},
           {{"--timeout", "inf"}, "--timeout: " + seconds + "'inf'"},
           {{"--timeout", "0"}, "--timeout: " + seconds + "'0'"},
           {{"--timeout", "-1"}, "--timeout: " + seconds + "'-1'"},
           {{"--db", "-1"}, db + "'-1'"},
           {{"--db", "2147483647"}, db + "'2147483647'"},
           {{"--db", "1x"}, db + "'1x'"},
           {{"-p", "0"}, "--port: wants a port from 1 to 65535, not '0'"},
           {{"-p", "65536"}, "--port: wants a port from 1 to 65535, not '65536'"},
           {{"--count", "0"}, "--count: wants a count from 1 to 4611686018427387904, not '0'"},
           {{"--duration", "nan"}, "--duration: wants seconds from 0.001 to 1000000000, not 'nan'"},
           {{"--announce-port", "-1"}, "--announce-port: wants a port from 0 to 65535, not '-1'"},
           {{"-h", ""}, "-h/--host: the host name is empty"},
           {{"-u", ""}, "-u/--uri: the URI is empty" + uri_form},
           {{"-u", "redis://[::1"}, "-u/--uri: '[' without ']' around the host" + uri_form},
           {{"-u", "redis://::1"},
            "-u/--uri: an IPv6 host goes in brackets, as redis://[::1]:6379" + uri_form},
           {{"-u", "redis://u:p%zz@" + at},
            "-u/--uri: a '%' in the password is not followed by two hex digits" + uri_form},
           {{"-u", "redis://u%4:p@" + at},
            "-u/--uri: a '%' in the user is not followed by two hex digits" + uri_form},
           {{"-u", "redis://" + at + "/zero"},
            "-u/--uri: the database after '/' is not a number" + uri_form},
           // The URI is not repeated: it may hold a password.
           {{"-u", "redis://u:hunter2@127.0.0.1:0"},
            "-u/--uri: the port is not a number from 1 to 65535" + uri_form},
       }},
      {"dump-rdb",
       {
           {{"--timeout", "0"}, "--timeout: " + seconds + "'0'"},
           {{"--db", "-1"}, db + "'-1'"},
           {{"-u", "redis://[::1]x"}, "-u/--uri: unexpected text after ']'" + uri_form},
           {{"-u", "http://" + at},
            "-u/--uri: not a redis://, rediss:// or unix:// URI" + uri_form},
           {{"-u", "unix://u:p@sock"}, "-u/--uri: the socket's path is not absolute" + uri_form},
           {{"-u", "redis://" + at + "/2147483647"},
            "-u/--uri: the database after '/' is not a number" + uri_form},
           {{"-n", "2147483647"},
            "--dbnum: wants a database number from 0 to 2147483646, not '2147483647'"},
           {{"-s", ""}, "-s/--socket: the path is empty"},
           // TLS flags that would be ignored, and ones that go together.
           {{"--insecure"}, "--insecure needs --tls (or a rediss:// URI)"},
           {{"--sni", "x"}, "--sni needs --tls (or a rediss:// URI)"},
           {{"--tls", "--cert", REDIS_REPL_BINARY}, "--cert and --key go together"},
           {{"--tls", "-s", "/tmp/x.sock"}, "--tls is for TCP connections, not a Unix socket (-s)"},
       }},
      {"lag-check",
       {
           {{"--timeout", "nan"}, "--timeout: " + seconds + "'nan'"},
           {{"--watch", "0"}, "--watch: " + seconds + "'0'"},
           {{"--probe-timeout", "1e300"}, "--probe-timeout: " + seconds + "'1e300'"},
           {{"--warn-bytes", "-5"},
            "--warn-bytes: wants bytes from 0 to 4611686018427387904, not '-5'"},
           {{"--crit-seconds", "nan"}, "--crit-seconds: wants seconds from 0 to 86400, not 'nan'"},
           {{"--min-replicas", "-1"}, "--min-replicas: wants a count from 0 to 1000000, not '-1'"},
           {{"--replica", "127.0.0.1:12x"},
            "--replica wants HOST:PORT with a port from 1 to 65535, not '127.0.0.1:12x'"},
           {{"-u", "rediss://" + at, "--tls-ciphers", "x", "--key", REDIS_REPL_BINARY},
            "--cert and --key go together"},
       }},
  };
  for (const auto& [command, cases] : by_command) {
    const int usage = command == "lag-check" ? 3 : code(ExitCode::usage);
    for (const Case& c : cases) {
      std::vector<std::string> argv = {REDIS_REPL_BINARY, command, "-p", port};
      argv.insert(argv.end(), c.args.begin(), c.args.end());
      std::string shown = command;
      for (const std::string& a : c.args) shown += " '" + a + "'";
      CAPTURE(shown);
      const redis_repl::test::ProgramResult r =
          redis_repl::test::run_program(argv, std::chrono::milliseconds(20000));
      CAPTURE(r.err);
      CHECK(r.exit_code == usage);
      CHECK(r.err.starts_with("redis-repl: error: " + c.message + "\n"));
      CHECK(r.err.find("hunter2") == std::string::npos);
      CHECK(r.out.empty());
    }
  }
  CHECK(master.connections() == 0);
}

TEST_CASE("cli: mistakes get hints: the nearest subcommand or flag, --file for a file name") {
  using redis_repl::test::run_program;
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"taill"}, 2, "'taill' is not a subcommand; did you mean 'tail'?"},
      {{"dumprdb"}, 2, "did you mean 'dump-rdb'?"},
      {{"lag-chek"}, 2, "did you mean 'lag-check'?"},
      {{"frobnicate"}, 2, "'frobnicate' is not a subcommand (tail, dump-rdb or lag-check)"},
      {{"dump-rdb", "dump.rdb"}, 2, "to read the RDB file 'dump.rdb', use --file dump.rdb"},
      {{"dump-rdb", "--format", "json", "backups/x"}, 2, "use --file backups/x"},
      {{"tail", "--formt", "json"}, 2, "unknown option '--formt'; did you mean '--format'?"},
      {{"dump-rdb", "--fiel", "x.rdb"}, 2, "did you mean '--file'?"},
      {{"lag-check", "--crit-byte", "10"}, 3, "did you mean '--crit-bytes'?"},
      {{"tail", "--zzzzzzzz"}, 2, "unknown option '--zzzzzzzz'; see redis-repl tail --help"},
      // Nothing listening: the connection error says where, and that --file reads a file.
      {{"dump-rdb", "-p", "1", "--timeout", "2"},
       3,
       "127.0.0.1:1: Connection refused (no server there; to read an RDB file instead: --file "
       "PATH)"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {REDIS_REPL_BINARY};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = run_program(argv);
    CAPTURE(c.args[0]);
    CAPTURE(r.err);
    CHECK(r.exit_code == c.code);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.out.empty());
  }
  // A bad value of a known flag keeps its own message (no guess about files).
  const auto v = run_program({REDIS_REPL_BINARY, "dump-rdb", "--file", "x.rdb", "--db", "-1"});
  CHECK(v.exit_code == 2);
  CHECK(v.err.find("--db") != std::string::npos);
  CHECK(v.err.find("use --file") == std::string::npos);
}

TEST_CASE("cli: --help is wrapped to the terminal's width, or $COLUMNS") {
  for (const char* sub : {"tail", "dump-rdb", "lag-check"}) {
    for (const int width : {60, 100, 160}) {
      const auto r = redis_repl::test::run_program(
          {"env", "COLUMNS=" + std::to_string(width), REDIS_REPL_BINARY, sub, "--help"});
      CAPTURE(sub);
      CAPTURE(width);
      REQUIRE(r.exit_code == 0);
      std::istringstream in(r.out);
      std::size_t longest = 0;
      for (std::string line; std::getline(in, line);) {
        // Only a word longer than the room (a URI template) may stand past the width alone.
        const std::size_t text = line.find_first_not_of(' ');
        const bool one_word =
            text != std::string::npos && line.find(' ', text) == std::string::npos;
        if (!one_word) CHECK_MESSAGE(line.size() <= static_cast<std::size_t>(width), line);
        longest = std::max(longest, line.size());
      }
      // The room is used: a wide terminal gets longer lines than a narrow one.
      if (width == 160) CHECK(longest > 100);
    }
  }
}
