#include "formats/summary.hpp"

#include <algorithm>

#include "core/bytes.hpp"

namespace redis_repl::formats {

Summary::Db& Summary::db(std::uint64_t n) {
  if (last_ < dbs_.size() && dbs_[last_].db == n) return dbs_[last_];
  auto it = std::lower_bound(dbs_.begin(), dbs_.end(), n,
                             [](const Db& d, std::uint64_t v) { return d.db < v; });
  if (it == dbs_.end() || it->db != n) it = dbs_.insert(it, Db{n});
  last_ = static_cast<std::size_t>(it - dbs_.begin());
  return *it;
}

void Summary::key(const core::KeyInfo& k) {
  Db& d = db(k.db);
  ++d.keys;
  ++keys_;
  ++d.types[static_cast<std::size_t>(k.type)];
  if (k.expire_ms) {
    ++d.expires;
    ++expires_;
  }
}

const char* Summary::checksum_verdict() const noexcept {
  if (!end_.has_checksum) return "absent";
  return end_.stored_crc == 0 ? "disabled" : "ok";
}

void Summary::write_json(JsonWriter& w) const {
  w.key("rdb_version");
  w.number(version_);
  w.key("bytes");
  w.unsigned_number(end_.bytes);
  w.key("keys");
  w.unsigned_number(keys_);
  w.key("expires");
  w.unsigned_number(expires_);
  w.key("functions");
  w.unsigned_number(functions_);
  w.key("module_aux");
  w.unsigned_number(module_aux_);
  w.key("dbs");
  w.begin_array();
  for (const Db& d : dbs_) {
    w.begin_object();
    w.key("db");
    w.unsigned_number(d.db);
    w.key("keys");
    w.unsigned_number(d.keys);
    w.key("expires");
    w.unsigned_number(d.expires);
    w.key("types");
    w.begin_object();
    for (int t = 0; t < core::value_type_count; ++t) {
      if (!d.types[static_cast<std::size_t>(t)]) continue;
      w.key(core::type_name(static_cast<core::ValueType>(t)));
      w.unsigned_number(d.types[static_cast<std::size_t>(t)]);
    }
    w.end();
    w.end();
  }
  w.end();
  w.key("checksum");
  w.ascii(checksum_verdict());
  w.key("crc64");  // of the whole file; RDB before version 5 carries none
  if (end_.has_checksum) {
    w.ascii(core::hex64(end_.computed_crc));
  } else {
    w.null();
  }
}

void Summary::write_human(std::string& out) const {
  out.append(valkey_ ? "VALKEY RDB version " : "RDB version ");
  append_int(out, version_);
  out.append(", ");
  append_uint(out, end_.bytes);
  out.append(" bytes, ");
  append_uint(out, keys_);
  out.append(keys_ == 1 ? " key" : " keys");
  out.append(" (");
  append_uint(out, expires_);
  out.append(" with expiry)");
  if (functions_) {
    out.append(", ");
    append_uint(out, functions_);
    out.append(functions_ == 1 ? " function library" : " function libraries");
  }
  if (module_aux_) {
    out.append(", ");
    append_uint(out, module_aux_);
    out.append(module_aux_ == 1 ? " module aux record" : " module aux records");
  }
  out.push_back('\n');
  for (const Db& d : dbs_) {
    out.append("db ");
    append_uint(out, d.db);
    out.append(": ");
    append_uint(out, d.keys);
    out.append(d.keys == 1 ? " key, " : " keys, ");
    append_uint(out, d.expires);
    out.append(" with expiry;");
    for (int t = 0; t < core::value_type_count; ++t) {
      if (!d.types[static_cast<std::size_t>(t)]) continue;
      out.push_back(' ');
      out.append(core::type_name(static_cast<core::ValueType>(t)));
      out.push_back('=');
      append_uint(out, d.types[static_cast<std::size_t>(t)]);
    }
    out.push_back('\n');
  }
  out.append("checksum: ");
  out.append(checksum_verdict());
  if (end_.has_checksum) {
    out.append(" (crc64 ");
    out.append(core::hex64(end_.computed_crc));
    out.push_back(')');
  }
  out.push_back('\n');
}

}  // namespace redis_repl::formats
