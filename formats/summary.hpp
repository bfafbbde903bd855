// formats/summary.hpp — totals of a parse: keys and expiries per db and type, the checksum verdict.
//
// Every output format keeps one; it ends the JSON output, and it is all --check prints.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rdb_visitor.hpp"
#include "formats/json_writer.hpp"

namespace redis_repl::formats {

class Summary {
 public:
  struct Db {
    std::uint64_t db = 0;
    std::uint64_t keys = 0;
    std::uint64_t expires = 0;
    std::array<std::uint64_t, core::value_type_count> types{};
  };

  void header(const core::Header& h) {
    version_ = h.version;
    valkey_ = h.valkey;
  }
  void key(const core::KeyInfo& k);
  void function() { ++functions_; }
  void module_aux() { ++module_aux_; }
  void end(const core::EndInfo& e) {
    end_ = e;
    complete_ = true;
  }

  std::uint64_t keys() const noexcept { return keys_; }
  bool complete() const noexcept { return complete_; }
  // "ok", "disabled" (stored as 0), "absent" (RDB before version 5)
  const char* checksum_verdict() const noexcept;

  // The fields of the final JSON line (inside an open object).
  void write_json(JsonWriter& w) const;
  // The --check report, for people.
  void write_human(std::string& out) const;

 private:
  Db& db(std::uint64_t n);

  int version_ = 0;
  bool valkey_ = false;
  std::vector<Db> dbs_;
  std::size_t last_ = 0;
  std::uint64_t keys_ = 0;
  std::uint64_t expires_ = 0;
  std::uint64_t functions_ = 0;
  std::uint64_t module_aux_ = 0;
  core::EndInfo end_;
  bool complete_ = false;
};

}  // namespace redis_repl::formats
