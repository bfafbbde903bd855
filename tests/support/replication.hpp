// What the tail and dump-rdb tests against real masters share: master arguments, INFO fields,
// bounded polling, a data set with every type, the data set read back from a server as
// canonical text, the same text from redis-repl's JSON key lines, and JSON Lines parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/redis_server.hpp"

namespace redis_repl::test {

// A private temporary directory (under TMPDIR), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  // The names of the files in it, sorted.
  std::vector<std::string> list() const;

 private:
  std::filesystem::path path_;
};

// Arguments for a master: no delay before a diskless fork (the 5 s default makes every full sync
// slow), hz 100 (quick to stop), DEBUG allowed; then `extra`.
std::vector<std::string> master_args(const std::vector<std::string>& extra = {});

// Polls cond every `step` until it is true or the timeout passes; returns its last value.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

// A field of INFO <section>, or "" when absent.
std::string info_field(RespClient& c, const std::string& section, const std::string& name);
std::int64_t master_repl_offset(RespClient& c);
// The offset the master last got in an ACK from replica n (INFO replication slaveN:...offset=),
// or nullopt when there is no such replica.
std::optional<std::int64_t> replica_ack_offset(RespClient& c, int n = 0);
// Sends a command and requires a non-error reply; returns it.
Reply must(RespClient& c, const std::vector<std::string>& args);

// Fills a server with keys of every type and encoding 7.0 writes: int/short/long strings, binary
// keys and values, listpack and quicklist lists, intset and hashtable sets, listpack and
// skiplist zsets, listpack and hashtable hashes, streams with consumer groups, pending entries
// and deleted entries, keys with a TTL, in dbs 0, 1 and 5.
void populate_all_types(RespClient& c);

// The whole data set of a server (dbs 0 to 15): "db:<n> key:<quoted key>" -> canonical text of
// type, expiry and value (sets and hashes sorted; streams: entries, length, last id and groups
// with their PEL and consumers).
std::map<std::string, std::string> server_dataset(RespClient& c);
// The same form from redis-repl's JSON "key" lines.
std::map<std::string, std::string> dataset_from_key_lines(const std::vector<nlohmann::json>& lines);

// "" when equal; else which keys are missing, extra or different (the first few of each).
std::string dataset_diff(const std::map<std::string, std::string>& expected,
                         const std::map<std::string, std::string>& got);

// Bytes of a JSON string or {"base64": ...} as redis-repl writes them.
std::string json_bytes(const nlohmann::json& v);

// Every line parsed as JSON; throws HarnessError naming the first line that is not.
std::vector<nlohmann::json> parse_json_lines(const std::vector<std::string>& lines);
std::vector<nlohmann::json> parse_json_lines(std::string_view text);
// The lines of this "kind".
std::vector<nlohmann::json> of_kind(const std::vector<nlohmann::json>& lines,
                                    std::string_view kind);

// `redis-repl dump-rdb --file <path> --format json`: the lines, parsed. Requires exit 0.
std::vector<nlohmann::json> dump_file_json(const std::filesystem::path& rdb);
// The "key" lines of that output as their JSON text, sorted: for comparing two RDBs.
std::vector<std::string> key_lines_text(const std::vector<nlohmann::json>& lines);

}  // namespace redis_repl::test
