#include "core/rdb_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "core/bytes.hpp"
#include "core/crc64.hpp"
#include "core/lzf.hpp"
#include "core/rdb_cursor.hpp"

namespace redis_repl::core {

namespace {

constexpr std::uint64_t max_field_expire = 0x0000ffffffffffffULL;  // hash field TTLs are 48-bit

std::string num(std::uint64_t v) { return std::to_string(v); }

// Scores stored as text (ZSET v1 string doubles, ziplist/listpack score entries).
bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  if (*b == '+') ++b;  // strtod accepts it; from_chars does not
  auto r = std::from_chars(b, e, out);
  return r.ec == std::errc{} && r.ptr == e;
}

}  // namespace

ModuleInfo decode_module_id(std::uint64_t id, char* name_buf) noexcept {
  static constexpr char charset[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::uint64_t bits = id >> 10;
  for (int i = 8; i >= 0; --i, bits >>= 6) name_buf[i] = charset[bits & 63];
  name_buf[9] = 0;
  return ModuleInfo{id, std::string_view(name_buf, 9), static_cast<std::uint32_t>(id & 1023)};
}

RdbParser::RdbParser(RdbVisitor& visitor, RdbLimits limits) : visitor_(visitor), limits_(limits) {}

// ---- feeding --------------------------------------------------------------------------------

Step RdbParser::feed(std::string_view in) {
  if (state_ == State::failed) return Step::failed;
  if (state_ == State::done) {
    trailing_.append(in);
    return Step::done;
  }
  for (;;) {
    Step s;
    std::size_t used = 0;
    if (head_ < buf_.size()) {
      // Bytes are buffered: top them up with just what the pending item asked for, so that
      // once it is decoded, parsing goes back to running in place over the caller's bytes.
      const std::size_t have = buf_.size() - head_;
      if (want_ > have) {
        const std::size_t add = std::min(in.size(), want_ - have);
        buf_.append(in.data(), add);
        in.remove_prefix(add);
        if (buf_.size() - head_ < want_) return Step::need_more;
      }
      s = run(buf_.data() + head_, buf_.size() - head_, used);
      head_ += used;
      if (head_ == buf_.size()) {
        buf_.clear();
        head_ = 0;
      } else if (head_ > (1u << 20)) {
        buf_.erase(0, head_);
        head_ = 0;
      }
      if (s == Step::need_more) {
        if (in.empty()) return s;
        continue;
      }
    } else {
      buf_.clear();
      head_ = 0;
      if (in.empty()) return Step::need_more;
      s = run(in.data(), in.size(), used);
      in.remove_prefix(used);
      if (s == Step::need_more) {
        buf_.assign(in.data(), in.size());
        return s;
      }
    }
    if (s == Step::done) {
      trailing_.assign(buf_, head_);
      trailing_.append(in);
      buf_.clear();
      head_ = 0;
      return s;
    }
    if (s == Step::stopped) buf_.append(in);
    return s;
  }
}

Step RdbParser::finish() {
  if (state_ == State::done) return Step::done;
  if (state_ == State::failed) return Step::failed;
  std::string what;
  switch (state_) {
    case State::header:
      what = "the header";
      break;
    case State::top:
      what = "the records, before the end-of-file opcode";
      break;
    case State::eof_crc:
      what = "the CRC64 trailer";
      break;
    default:
      what = "the value of key '" + key_.substr(0, 64) + "'";
  }
  fail(Errc::rdb_truncated,
       "input ends at byte " + num(offset_ + (buf_.size() - head_)) + " inside " + what, offset_);
  return Step::failed;
}

Step RdbParser::run(const char* data, std::size_t size, std::size_t& used) {
  used = 0;
  std::size_t crc_from = 0;
  Step result = Step::need_more;
  while (used < size) {
    Cursor c(data + used, size - used);
    step_cursor_ = &c;
    const Status st = step(c);
    step_cursor_ = nullptr;
    if (st == Status::more) {
      want_ = c.need();
      break;
    }
    if (st == Status::fail) {
      state_ = State::failed;
      return Step::failed;
    }
    used += c.used();
    offset_ += c.used();
    want_ = 0;
    if (state_ == State::eof_crc && !crc_closed_) {
      // The checksum covers every byte up to and including the EOF opcode.
      crc_ = crc64(crc_, data + crc_from, used - crc_from);
      crc_from = used;
      crc_closed_ = true;
    }
    if (state_ == State::done) {
      result = Step::done;
      break;
    }
    if (stop_) {
      stop_ = false;
      result = Step::stopped;
      break;
    }
  }
  if (!crc_closed_) crc_ = crc64(crc_, data + crc_from, used - crc_from);
  return result;
}

// ---- errors ---------------------------------------------------------------------------------

RdbParser::Status RdbParser::fail(Errc code, std::string message, std::uint64_t at) {
  error_.code = code;
  error_.message = std::move(message);
  error_.offset = at;
  state_ = State::failed;
  return Status::fail;
}

RdbParser::Status RdbParser::fail_corrupt(const Cursor& c, std::string message) {
  return fail(Errc::rdb_corrupt, std::move(message), offset_ + c.mark());
}

// ---- primitive reads ------------------------------------------------------------------------

RdbParser::Status RdbParser::read_len_special(Cursor& c, std::uint64_t& out, bool& special) {
  c.set_mark();
  std::uint8_t b;
  if (!c.u8(b)) return Status::more;
  special = false;
  switch (b >> 6) {
    case 0:
      out = b & 0x3f;
      return Status::ok;
    case 1: {
      std::uint8_t b2;
      if (!c.u8(b2)) return Status::more;
      out = (static_cast<std::uint64_t>(b & 0x3f) << 8) | b2;
      return Status::ok;
    }
    case 3:
      special = true;
      out = b & 0x3f;
      return Status::ok;
    default:
      break;
  }
  const char* p;
  if (b == 0x80) {
    if (!c.take(4, p)) return Status::more;
    out = load_be32(p);
    return Status::ok;
  }
  if (b == 0x81) {
    if (!c.take(8, p)) return Status::more;
    out = load_be64(p);
    return Status::ok;
  }
  return fail_corrupt(c, "bad length prefix " + hex_byte(b));
}

RdbParser::Status RdbParser::read_len(Cursor& c, std::uint64_t& out) {
  bool special = false;
  Status s = read_len_special(c, out, special);
  if (s != Status::ok) return s;
  if (special) return fail_corrupt(c, "string encoding " + num(out) + " where a length belongs");
  return Status::ok;
}

RdbParser::Status RdbParser::read_count(Cursor& c, std::uint64_t& out,
                                        std::uint64_t min_bytes_each) {
  Status s = read_len(c, out);
  if (s != Status::ok) return s;
  if (limits_.input_size) {
    const std::uint64_t here = offset_ + c.used();
    const std::uint64_t left = limits_.input_size > here ? limits_.input_size - here : 0;
    if (out > left / min_bytes_each)
      return fail_corrupt(c, "element count " + num(out) + " cannot fit in the " + num(left) +
                                 " bytes that follow");
  }
  return Status::ok;
}

RdbParser::Status RdbParser::read_string(Cursor& c, std::string_view& out, int slot) {
  const std::size_t start = c.used();
  std::uint64_t len = 0;
  bool special = false;
  Status s = read_len_special(c, len, special);
  if (s != Status::ok) return s;
  const char* p;
  if (special) {
    std::int64_t v;
    switch (len) {
      case 0:  // RDB_ENC_INT8
        if (!c.take(1, p)) return Status::more;
        v = static_cast<std::int8_t>(*p);
        break;
      case 1:  // RDB_ENC_INT16
        if (!c.take(2, p)) return Status::more;
        v = static_cast<std::int16_t>(load_le16(p));
        break;
      case 2:  // RDB_ENC_INT32
        if (!c.take(4, p)) return Status::more;
        v = static_cast<std::int32_t>(load_le32(p));
        break;
      case 3: {  // RDB_ENC_LZF
        std::uint64_t clen = 0, ulen = 0;
        if ((s = read_len(c, clen)) != Status::ok) return s;
        if ((s = read_len(c, ulen)) != Status::ok) return s;
        c.set_mark(start);
        if (ulen > limits_.max_string || clen > limits_.max_string)
          return fail(Errc::limit_exceeded,
                      "compressed string of " + num(ulen) + " bytes is over the " +
                          num(limits_.max_string) + "-byte limit",
                      offset_ + c.mark());
        if (clen == 0 || (ulen == 0)) return fail_corrupt(c, "LZF string with a zero length");
        if (limits_.input_size &&
            clen > limits_.input_size - std::min(limits_.input_size, offset_ + c.used()))
          return fail_corrupt(c, "LZF string of " + num(clen) + " bytes runs past the input");
        if (!c.take(clen, p)) return Status::more;
        std::string& dst = lzf_[slot];
        if (dst.size() < ulen) dst.resize(ulen);
        if (const char* err = lzf_decompress({p, clen}, dst.data(), ulen))
          return fail_corrupt(c, err);
        out = {dst.data(), ulen};
        return Status::ok;
      }
      default:
        return fail_corrupt(c, "unknown string encoding " + num(len));
    }
    out = format_int(ints_[slot], v);
    return Status::ok;
  }
  if (len > limits_.max_string)
    return fail(
        Errc::limit_exceeded,
        "string of " + num(len) + " bytes is over the " + num(limits_.max_string) + "-byte limit",
        offset_ + c.mark());
  if (limits_.input_size) {
    const std::uint64_t here = offset_ + c.used();
    if (here > limits_.input_size || len > limits_.input_size - here)
      return fail_corrupt(c, "string of " + num(len) + " bytes runs past the end of the input");
  }
  if (!c.take(len, p)) return Status::more;
  out = {p, len};
  return Status::ok;
}

RdbParser::Status RdbParser::read_stream_id(Cursor& c, StreamId& out) {
  Status s = read_len(c, out.ms);
  if (s != Status::ok) return s;
  return read_len(c, out.seq);
}

namespace {
// The length of a packed item as text, without writing it.
std::uint64_t text_length(const PackedItem& item) noexcept {
  if (!item.is_int) return item.str.size();
  std::uint64_t v = item.num < 0 ? 0 - static_cast<std::uint64_t>(item.num)
                                 : static_cast<std::uint64_t>(item.num);
  std::uint64_t n = item.num < 0 ? 2 : 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}
}  // namespace

std::string_view RdbParser::item_text(const PackedItem& item, int slot) noexcept {
  return item.is_int ? format_int(ints_[slot], item.num) : item.str;
}

// ---- the state machine ----------------------------------------------------------------------

RdbParser::Status RdbParser::step(Cursor& c) {
  switch (state_) {
    case State::header: {
      const char* p;
      if (!c.take(9, p)) return Status::more;
      const std::string_view magic(p, 9);
      if (magic.starts_with("VKCS") || magic.starts_with("VCS"))
        return fail(Errc::rdb_unsupported,
                    "this is a Valkey compressed RDB envelope ('" +
                        std::string(magic.substr(0, magic[1] == 'K' ? 4 : 3)) +
                        "', written with rdbcompression lz4); this build does not decompress it: "
                        "save with rdbcompression set to none or decompress it first",
                    0);
      int v = 0;
      if (magic.starts_with("VALKEY")) {
        for (int i = 6; i < 9; ++i) {
          if (p[i] < '0' || p[i] > '9') return fail_corrupt(c, "VALKEY version is not 3 digits");
          v = v * 10 + (p[i] - '0');
        }
        if (v < valkey_version_min || v > valkey_version_max)
          return fail(Errc::rdb_unsupported,
                      "unsupported RDB format 'VALKEY" + std::string(p + 6, 3) +
                          "'; this build reads VALKEY versions " + num(valkey_version_min) +
                          " to " + num(valkey_version_max) + " and REDIS versions " +
                          num(rdb_version_min) + " to " + num(rdb_version_max),
                      6);
        valkey_ = true;
      } else {
        if (!magic.starts_with("REDIS")) return fail_corrupt(c, "not an RDB file (no REDIS magic)");
        for (int i = 5; i < 9; ++i) {
          if (p[i] < '0' || p[i] > '9') return fail_corrupt(c, "RDB version is not 4 digits");
          v = v * 10 + (p[i] - '0');
        }
        if (v < rdb_version_min || v > rdb_version_max)
          return fail(Errc::rdb_unsupported,
                      "unsupported RDB version " + num(static_cast<std::uint64_t>(v)) +
                          "; this build reads versions " + num(rdb_version_min) + " to " +
                          num(rdb_version_max) + " (and VALKEY " + num(valkey_version_min) +
                          " to " + num(valkey_version_max) + ")",
                      5);
      }
      version_ = v;
      state_ = State::top;
      flow(visitor_.on_header(Header{valkey_, v}));
      return Status::ok;
    }
    case State::top:
      return step_top(c);
    case State::eof_crc: {
      const char* p;
      if (!c.take(8, p)) return Status::more;
      const std::uint64_t stored = load_le64(p);
      if (limits_.verify_crc && stored != 0 && stored != crc_)
        return fail(
            Errc::rdb_corrupt,
            "CRC64 mismatch: the file says " + hex64(stored) + ", the data gives " + hex64(crc_),
            offset_);
      state_ = State::done;
      flow(visitor_.on_end(EndInfo{version_, offset_ + 8, true, stored, crc_}));
      return Status::ok;
    }
    case State::stream_nodes:
    case State::stream_meta:
    case State::stream_group:
    case State::stream_pel:
    case State::stream_consumer_count:
    case State::stream_consumer:
    case State::stream_consumer_pel:
      return step_stream(c);
    case State::stream_idmp_config:
    case State::stream_idmp_producer:
    case State::stream_idmp_entry:
    case State::stream_idmp_tail:
    case State::stream_nack_count:
    case State::stream_nack:
      return step_stream(c);
    case State::hash_template_fields:
      return step_hash_template(c);
    case State::tmpl_self_fields:
    case State::tmpl_self_fields_blob:
      return step_template_hash(c);
    case State::module_ops:
      return step_module_op(c);
    case State::key_meta_class:
      return step_key_meta(c);
    case State::string_raw_stream:
    case State::string_lzf_stream:
      return step_string_stream(c);
    case State::done:
    case State::failed:
      return Status::fail;
    default:
      return step_element(c);
  }
}

RdbParser::Status RdbParser::unsupported_type(const Cursor& c, std::uint8_t op) {
  const std::string_view known = unread_type_name(op, valkey_);
  const std::string file = std::string(valkey_ ? "VALKEY" : "RDB") + " version " +
                           num(static_cast<std::uint64_t>(version_));
  if (!known.empty())
    return fail(Errc::rdb_unsupported,
                "object type " + num(op) + " is " + std::string(known) +
                    ", known but not read by this build (its layout is not verified)",
                offset_ + c.mark());
  return fail(Errc::rdb_unsupported, "unknown object type " + num(op) + " for " + file,
              offset_ + c.mark());
}

RdbParser::Status RdbParser::step_top(Cursor& c) {
  c.set_mark();
  std::uint8_t op;
  if (!c.u8(op)) return Status::more;
  Status s;
  const char* p;
  if (meta_pending_ && op >= 0xf2)
    return fail_corrupt(
        c, "key metadata followed by opcode " + hex_byte(op) + " instead of the key's type");
  // The bytes whose meaning depends on the magic (newest-servers.md, collision map).
  if (valkey_) {
    if (op == valkey_opcode_update) return step_update(c);
    if (op == valkey_opcode_slot_import) return step_slot_import(c);
    if (op == valkey_type_hash_2)
      return step_key(c, static_cast<std::uint8_t>(RdbType::valkey_hash_2));
    if (op == valkey_type_path_hash && version_ >= 81)
      return step_key(c, static_cast<std::uint8_t>(RdbType::valkey_path_hash));
    if (op >= valkey_type_hash_2 && op < 0xf2) return unsupported_type(c, op);
  } else if (op == static_cast<std::uint8_t>(Opcode::key_meta) && version_ >= 13) {
    std::uint64_t classes;
    if ((s = read_len(c, classes)) != Status::ok) return s;
    if (classes == 0 || classes > 64)
      return fail_corrupt(c, "key metadata with " + num(classes) + " classes (1 to 64 expected)");
    note_modifier();
    meta_left_ = classes;
    meta_ops_.clear();
    meta_spans_.clear();
    state_ = State::key_meta_class;
    return Status::ok;
  } else if (op == static_cast<std::uint8_t>(Opcode::hash_template) && version_ >= 15) {
    // RDB_OPCODE_HASH_TEMPLATE: the template id, the field count, then the field names
    // (strictly ascending, shorter first, then bytewise). redis/librdb src/lib/parser.c at
    // 1afaa46f, elementHashTemplate / templateStoreField.
    const std::uint64_t at = offset_ + c.mark();
    std::uint64_t id, count;
    if ((s = read_len(c, id)) != Status::ok) return s;
    if ((s = read_count(c, count, 1)) != Status::ok) return s;
    if (count == 0)
      return fail(Errc::rdb_corrupt, "hash template " + num(id) + " has no fields", at);
    if (templates_.count(id))
      return fail(Errc::rdb_corrupt, "hash template id " + num(id) + " repeated", at);
    if (templates_.size() >= limits_.max_hash_templates)
      return fail(Errc::limit_exceeded,
                  "more than " + num(limits_.max_hash_templates) + " hash templates", at);
    tmpl_ = Template{tmpl_fields_.size(), static_cast<std::size_t>(count)};
    templates_.emplace(id, tmpl_);
    tmpl_next_ = 0;
    state_ = State::hash_template_fields;
    return Status::ok;
  }
  if (op < 0xf4 || (op == 0xf4 && version_ < 12)) {
    if (op == static_cast<std::uint8_t>(RdbType::module_pre_ga))
      return fail(Errc::rdb_unsupported,
                  "module value of type 6 (written by a Redis 4.0 release candidate) cannot be "
                  "read without its module",
                  offset_);
    if (valkey_ ? op >= valkey_type_hash_2 || !is_known_type(op, 12) : !is_known_type(op, version_))
      return unsupported_type(c, op);
    return step_key(c, op);
  }
  if (meta_pending_) return fail_corrupt(c, "key metadata not followed by a key");
  switch (static_cast<Opcode>(op)) {
    case Opcode::hash_template:  // read above when this magic and version have them
    case Opcode::key_meta:
      break;
    case Opcode::eof:
      if (meta_pending_)
        return fail_corrupt(c, "end of file after a key's modifiers, before its type");
      if (version_ >= 5) {
        state_ = State::eof_crc;
      } else {
        state_ = State::done;
        flow(visitor_.on_end(EndInfo{version_, offset_ + 1, false, 0, 0}));
      }
      return Status::ok;
    case Opcode::select_db: {
      std::uint64_t db;
      if ((s = read_len(c, db)) != Status::ok) return s;
      db_ = db;
      flow(visitor_.on_select_db(db));
      return Status::ok;
    }
    case Opcode::resize_db: {
      std::uint64_t keys, expires;
      if ((s = read_len(c, keys)) != Status::ok) return s;
      if ((s = read_len(c, expires)) != Status::ok) return s;
      flow(visitor_.on_resize_db(keys, expires));
      return Status::ok;
    }
    case Opcode::expire_ms:
      if (!c.take(8, p)) return Status::more;
      note_modifier();
      info_.expire_ms = static_cast<std::int64_t>(load_le64(p));
      return Status::ok;
    case Opcode::expire_s:
      if (!c.take(4, p)) return Status::more;
      note_modifier();
      info_.expire_ms = static_cast<std::int64_t>(static_cast<std::int32_t>(load_le32(p))) * 1000;
      return Status::ok;
    case Opcode::idle: {
      std::uint64_t idle;
      if ((s = read_len(c, idle)) != Status::ok) return s;
      note_modifier();
      info_.idle_s = idle;
      return Status::ok;
    }
    case Opcode::freq:
      if (!c.take(1, p)) return Status::more;
      note_modifier();
      info_.freq = static_cast<std::uint8_t>(*p);
      return Status::ok;
    case Opcode::aux: {
      std::string_view field, value;
      if ((s = read_string(c, field, 0)) != Status::ok) return s;
      if ((s = read_string(c, value, 1)) != Status::ok) return s;
      flow(visitor_.on_aux(field, value));
      return Status::ok;
    }
    case Opcode::module_aux: {
      std::uint64_t id, marker, when;
      if ((s = read_len(c, id)) != Status::ok) return s;
      if ((s = read_len(c, marker)) != Status::ok) return s;
      if (marker != ModuleOp::uint)
        return fail_corrupt(c, "module aux record without its 'when' field");
      if ((s = read_len(c, when)) != Status::ok) return s;
      ModuleInfo m = decode_module_id(id, module_name_);
      module_in_aux_ = true;
      state_ = State::module_ops;
      flow(visitor_.on_module_aux_begin(m, when));
      return Status::ok;
    }
    case Opcode::function_pre_ga: {
      // Redis 7.0 release candidates: name, engine, optional description, body. Redis 7.0 GA
      // loads it by turning it into the library form; so do we.
      std::string_view name, engine, description, body;
      std::uint64_t has_description;
      if ((s = read_string(c, name, 0)) != Status::ok) return s;
      if ((s = read_string(c, engine, 1)) != Status::ok) return s;
      if ((s = read_len(c, has_description)) != Status::ok) return s;
      if (has_description && (s = read_string(c, description, 2)) != Status::ok) return s;
      if ((s = read_string(c, body, 3)) != Status::ok) return s;
      function_code_.assign("#!");
      function_code_.append(engine);
      function_code_.append(" name=");
      function_code_.append(name);
      function_code_.push_back('\n');
      function_code_.append(body);
      flow(visitor_.on_function(function_code_, description));
      return Status::ok;
    }
    case Opcode::function2: {
      std::string_view code;
      if ((s = read_string(c, code, 0)) != Status::ok) return s;
      flow(visitor_.on_function(code, {}));
      return Status::ok;
    }
    case Opcode::slot_info: {
      std::uint64_t slot, keys, expires;
      if ((s = read_len(c, slot)) != Status::ok) return s;
      if ((s = read_len(c, keys)) != Status::ok) return s;
      if ((s = read_len(c, expires)) != Status::ok) return s;
      flow(visitor_.on_slot_info(slot, keys, expires));
      return Status::ok;
    }
  }
  return fail_corrupt(c, "unknown opcode " + hex_byte(op));
}

// A key record: the type byte (read), the key, and what the value needs up front.
RdbParser::Status RdbParser::step_key(Cursor& c, std::uint8_t type_byte) {
  Status s;
  std::string_view key;
  if ((s = read_string(c, key, 0)) != Status::ok) return s;
  const auto type = static_cast<RdbType>(type_byte);
  std::uint64_t count = 0;
  std::int64_t min_expire = 0;
  const char* p;
  switch (type) {
    case RdbType::string:
      state_ = State::string_value;
      break;
    case RdbType::list:
      if ((s = read_count(c, count, 1)) != Status::ok) return s;
      state_ = State::list_items;
      break;
    case RdbType::set:
      if ((s = read_count(c, count, 1)) != Status::ok) return s;
      state_ = State::set_items;
      break;
    case RdbType::zset:
      if ((s = read_count(c, count, 2)) != Status::ok) return s;
      state_ = State::zset_items;
      break;
    case RdbType::zset_2:
      if ((s = read_count(c, count, 9)) != Status::ok) return s;
      state_ = State::zset2_items;
      break;
    case RdbType::hash:
      if ((s = read_count(c, count, 2)) != Status::ok) return s;
      state_ = State::hash_items;
      break;
    case RdbType::valkey_hash_2:
      if ((s = read_count(c, count, 10)) != Status::ok) return s;
      state_ = State::hash2_items;
      break;
    // VALKEY RDB_TYPE_PATH_HASH (RDB 81), as valkey src/rdb.c at 8c15031e writes and loads it
    // (rdbSaveObject OBJ_PATH_HASH, rdbLoadObject RDB_TYPE_PATH_HASH): the path count (0 is an
    // empty object), then per path its string, a field count (not 0) and the field/value strings.
    case RdbType::valkey_path_hash:
      if ((s = read_count(c, count, 4)) != Status::ok) return s;
      path_hash_have_path_ = false;
      path_hash_fields_ = 0;
      state_ = State::path_hash_paths;
      break;
    case RdbType::hash_metadata:
      if (!c.take(8, p)) return Status::more;
      min_expire = static_cast<std::int64_t>(load_le64(p));
      [[fallthrough]];
    case RdbType::hash_metadata_pre_ga:
      if ((s = read_count(c, count, 3)) != Status::ok) return s;
      state_ = State::hash_meta_items;
      break;
    case RdbType::hash_listpack_ex:
      if (!c.take(8, p)) return Status::more;  // min_expire: a hint we do not need
      state_ = State::blob_value;
      break;
    case RdbType::list_quicklist:
      if ((s = read_count(c, count, 1)) != Status::ok) return s;
      state_ = State::quicklist_nodes;
      break;
    case RdbType::list_quicklist_2:
      if ((s = read_count(c, count, 2)) != Status::ok) return s;
      state_ = State::quicklist2_nodes;
      break;
    case RdbType::stream_listpacks:
    case RdbType::stream_listpacks_2:
    case RdbType::stream_listpacks_3:
    case RdbType::stream_listpacks_4:
    case RdbType::stream_listpacks_5:
      if ((s = read_count(c, count, 2)) != Status::ok) return s;
      state_ = State::stream_nodes;
      break;
    // Template hashes (REDIS 15), as redis/librdb src/lib/parser.c at 1afaa46f reads them:
    // _ARRAY_REF is the template id, then one value string per field of the template;
    // _LP_REF one listpack: the template id (an integer entry), then the values; the
    // self-contained _LP and _ARRAY carry their field names first (a format: 0, one listpack of
    // names; 1, a count and the name strings), then the values as _LP_REF or _ARRAY_REF have
    // them (elementHashTmplArrayRef, elementHashTmplLpRef, elementHashTmplSelfContained).
    case RdbType::hash_tmpl_array_ref: {
      std::uint64_t id;
      if ((s = read_len(c, id)) != Status::ok) return s;
      const auto it = templates_.find(id);
      if (it == templates_.end())
        return fail_corrupt(c, "template hash refers to unknown template id " + num(id));
      tmpl_ = it->second;
      tmpl_next_ = 0;
      count = tmpl_.count;
      state_ = State::tmpl_values;
      break;
    }
    case RdbType::hash_tmpl_lp_ref:
      state_ = State::blob_value;
      break;
    // RDB_TYPE_ARRAY: the element count (not 0), an insert-index flag (0 or 1) and, with 1, the
    // insert index, all lengths; then each element: its index (a length, not 2^64-1), a type tag
    // (a length) and the value by tag: 0 and 3 a string, 1 an 8-byte little-endian signed
    // integer, 2 an 8-byte little-endian double. redis/librdb src/lib/parser.c at 1afaa46f,
    // elementArray, rdbLoadSignedInteger, rdbLoadBinaryDoubleValue; the tags as redis/redis
    // src/sparsearray.h defines them (AR_RDB_TAG_SDS, _INT, _FLOAT, _SMALLSTR).
    case RdbType::array: {
      std::uint64_t flag, insert = 0;
      if ((s = read_count(c, count, 3)) != Status::ok) return s;
      if (count == 0) return fail_corrupt(c, "array with no elements");
      if ((s = read_len(c, flag)) != Status::ok) return s;
      if (flag > 1) return fail_corrupt(c, "array insert-index flag " + num(flag));
      if (flag == 1 && (s = read_len(c, insert)) != Status::ok) return s;
      array_insert_ = flag ? std::optional<std::uint64_t>(insert) : std::nullopt;
      state_ = State::array_items;
      break;
    }
    case RdbType::hash_tmpl_lp:
    case RdbType::hash_tmpl_array: {
      std::uint64_t format;
      if ((s = read_len(c, format)) != Status::ok) return s;
      if (format == 1) {
        if ((s = read_count(c, count, 1)) != Status::ok) return s;
        if (count == 0) return fail_corrupt(c, "template hash with no fields");
        state_ = State::tmpl_self_fields;
      } else if (format == 0) {
        state_ = State::tmpl_self_fields_blob;
      } else {
        return fail_corrupt(c, "template hash field format " + num(format) + " unknown");
      }
      tmpl_ = Template{tmpl_fields_.size(), static_cast<std::size_t>(count)};
      tmpl_self_ = true;
      tmpl_self_names_ = tmpl_names_.size();
      tmpl_self_bytes_ = tmpl_bytes_;
      tmpl_next_ = 0;
      break;
    }
    case RdbType::module_2: {
      std::uint64_t id;
      if ((s = read_len(c, id)) != Status::ok) return s;
      info_.module = decode_module_id(id, module_name_);
      module_in_aux_ = false;
      state_ = State::module_ops;
      break;
    }
    default:  // every other known type is one compact blob
      state_ = State::blob_value;
      break;
  }
  // The whole header is in: commit the key.
  key_.assign(key);
  info_.key = key_;
  info_.db = db_;
  info_.rdb_type = type;
  info_.type = value_type_of(type);
  info_.offset = have_record_start_ ? record_start_ : offset_;
  meta_classes_.clear();
  if (meta_pending_) {
    for (const MetaSpan& m : meta_spans_)
      meta_classes_.push_back(KeyMetaClass{
          m.spec, std::string_view(m.name, 4), static_cast<std::uint8_t>((m.spec >> 3) & 0x1f),
          static_cast<std::uint8_t>(m.spec & 7), std::string_view(meta_ops_).substr(m.at, m.size)});
    meta_pending_ = false;
  }
  info_.meta = meta_classes_;
  left_ = count;
  hash_min_expire_ = min_expire;
  begin_key();
  if (type == RdbType::array && !skip_) flow(visitor_.on_array_meta(count, array_insert_));
  const bool empty_aggregate = state_ != State::string_value && state_ != State::blob_value &&
                               state_ != State::module_ops &&
                               state_ != State::tmpl_self_fields_blob && count == 0;
  if (empty_aggregate) {
    if (state_ == State::stream_nodes) {
      state_ = State::stream_meta;
    } else {
      end_key();
    }
  }
  return Status::ok;
}

void RdbParser::begin_key() {
  const Flow f = visitor_.on_key_begin(info_);
  skip_ = f == Flow::skip;
  facts_ = f == Flow::facts;
  flow(f);
}

void RdbParser::end_key() {
  info_.end_offset = offset_ + (step_cursor_ ? step_cursor_->used() : 0);
  if (!skip_) flow(visitor_.on_key_end(info_));
  skip_ = false;
  facts_ = false;
  have_record_start_ = false;
  info_.expire_ms.reset();
  info_.idle_s.reset();
  info_.freq.reset();
  info_.module = ModuleInfo{};
  info_.meta = {};
  if (tmpl_self_) {  // a self-contained template hash: its names go with it
    tmpl_self_ = false;
    tmpl_fields_.resize(tmpl_.first);
    tmpl_names_.resize(tmpl_self_names_);
    tmpl_bytes_ = tmpl_self_bytes_;
  }
  state_ = State::top;
}

// One element of a plain aggregate, the string value, or a blob.
RdbParser::Status RdbParser::step_element(Cursor& c) {
  Status s;
  std::string_view a, b;
  const char* p;
  switch (state_) {
    case State::string_value: {
      const Cursor start = c;
      bool streamed = false;
      if ((s = begin_string_stream(c, streamed)) != Status::ok) return s;
      if (streamed) return Status::ok;
      c = start;
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_string(a));
      end_key();
      return Status::ok;
    }
    case State::list_items:
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_list_item(a));
      break;
    case State::set_items:
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_set_member(a));
      break;
    case State::zset_items: {  // RDB_TYPE_ZSET: scores as length-prefixed text
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      std::uint8_t n;
      c.set_mark();
      if (!c.u8(n)) return Status::more;
      double score;
      if (n == 253) {
        score = std::numeric_limits<double>::quiet_NaN();
      } else if (n == 254) {
        score = std::numeric_limits<double>::infinity();
      } else if (n == 255) {
        score = -std::numeric_limits<double>::infinity();
      } else {
        if (!c.take(n, p)) return Status::more;
        if (!parse_double({p, n}, score))
          return fail_corrupt(c, "zset score '" + std::string(p, n) + "' is not a number");
      }
      if (!skip_) flow(visitor_.on_zset_member(a, score));
      break;
    }
    case State::zset2_items: {  // RDB_TYPE_ZSET_2: binary little-endian doubles
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if (!c.take(8, p)) return Status::more;
      double score;
      std::memcpy(&score, p, 8);
      if (!skip_) flow(visitor_.on_zset_member(a, score));
      break;
    }
    case State::hash_items:
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if ((s = read_string(c, b, 1)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_hash_field(a, b, no_field_expire));
      break;
    case State::hash2_items: {
      // valkey src/rdb.c rdbLoadObject (RDB_TYPE_HASH_2): field, value, then the expiry as
      // 8 bytes little-endian, written for every field: -1 is none, anything below is corrupt,
      // 0 and other past times are real expiries.
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if ((s = read_string(c, b, 1)) != Status::ok) return s;
      c.set_mark();
      if (!c.take(8, p)) return Status::more;
      const auto expire = static_cast<std::int64_t>(load_le64(p));
      if (expire < no_field_expire)
        return fail_corrupt(c, "hash field expiry " + std::to_string(expire) + " is below -1");
      if (!skip_) flow(visitor_.on_hash_field(a, b, expire));
      break;
    }
    case State::hash_meta_items: {
      std::uint64_t ttl;
      if ((s = read_len(c, ttl)) != Status::ok) return s;
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if ((s = read_string(c, b, 1)) != Status::ok) return s;
      std::uint64_t expire = ttl;
      // HASH_METADATA stores ttl relative to min_expire, plus one so that 0 stays "none".
      if (ttl != 0 && info_.rdb_type == RdbType::hash_metadata)
        expire = ttl + static_cast<std::uint64_t>(hash_min_expire_) - 1;
      if (expire > max_field_expire)
        return fail_corrupt(c, "hash field expiry " + num(expire) + " is out of range");
      if (!skip_)
        flow(visitor_.on_hash_field(
            a, b, expire == 0 ? no_field_expire : static_cast<std::int64_t>(expire)));
      break;
    }
    case State::array_items: {
      std::uint64_t index, tag;
      bool special = false;
      if ((s = read_len_special(c, index, special)) != Status::ok) return s;
      if (special || index == ~0ULL) return fail_corrupt(c, "array index is not a valid index");
      if ((s = read_len(c, tag)) != Status::ok) return s;
      if (tag == 1 || tag == 2) {
        if (!c.take(8, p)) return Status::more;
        if (tag == 1) {
          a = format_int(ints_[0], static_cast<std::int64_t>(load_le64(p)));
        } else {
          double d;
          const std::uint64_t bits = load_le64(p);
          std::memcpy(&d, &bits, 8);
          const auto r = std::to_chars(ints_[0], ints_[0] + sizeof ints_[0], d);
          a = std::string_view(ints_[0], static_cast<std::size_t>(r.ptr - ints_[0]));
        }
      } else if (tag == 0 || tag == 3) {
        if ((s = read_string(c, a, 0)) != Status::ok) return s;
      } else {
        return fail_corrupt(c, "array element type tag " + num(tag) + " unknown");
      }
      if (!skip_) flow(visitor_.on_array_element(index, a));
      break;
    }
    case State::path_hash_paths: {
      // The saver walks the paths in its rax's order, strictly ascending bytewise, so a path
      // not after the one before it is a duplicate (or out of order): checked against the
      // previous path only, which bounds the memory this costs to one path.
      const std::size_t path_at = c.used();
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      std::uint64_t fields;
      if ((s = read_count(c, fields, 2)) != Status::ok) return s;
      if (fields == 0) return fail_corrupt(c, "path hash path with no fields");
      c.set_mark(path_at);
      if (path_hash_have_path_ && a <= std::string_view(path_hash_path_))
        return fail_corrupt(
            c, std::string("path hash path ") +
                   (a == std::string_view(path_hash_path_) ? "repeated" : "out of order") +
                   " (paths are saved in ascending order)");
      path_hash_path_.assign(a);
      path_hash_have_path_ = true;
      path_hash_fields_ = fields;
      if (!skip_) flow(visitor_.on_path_hash_path(path_hash_path_, fields));
      state_ = State::path_hash_fields;
      return Status::ok;
    }
    case State::path_hash_fields:
      // Fields are not checked for duplicates: a path's payload is a hash whose saved order is
      // its iteration order, so a check would need a set of every field of the path.
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if ((s = read_string(c, b, 1)) != Status::ok) return s;
      if (!skip_) flow(visitor_.on_hash_field(a, b, no_field_expire));
      if (--path_hash_fields_ > 0) return Status::ok;
      state_ = State::path_hash_paths;
      break;
    case State::tmpl_values: {
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      const auto [at, size] = tmpl_fields_[tmpl_.first + tmpl_next_++];
      if (!skip_)
        flow(visitor_.on_hash_field(std::string_view(tmpl_names_).substr(at, size), a,
                                    no_field_expire));
      break;
    }
    case State::blob_value: {
      const std::uint64_t at = offset_ + c.used();
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if ((s = decode_blob(a, at)) != Status::ok) return s;
      end_key();
      return Status::ok;
    }
    case State::quicklist_nodes: {
      const std::uint64_t at = offset_ + c.used();
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if ((s = decode_blob(a, at)) != Status::ok) return s;
      break;
    }
    case State::quicklist2_nodes: {
      std::uint64_t container;
      if ((s = read_len(c, container)) != Status::ok) return s;
      const std::uint64_t at = offset_ + c.used();
      if ((s = read_string(c, a, 0)) != Status::ok) return s;
      if (container == 1) {  // QUICKLIST_NODE_CONTAINER_PLAIN: one raw element
        if (!skip_ && !facts_) flow(visitor_.on_list_item(a));
        if (!skip_) flow(visitor_.on_blob(BlobFacts{a.size(), 1, a.size(), true}));
      } else if (container == 2) {  // QUICKLIST_NODE_CONTAINER_PACKED: a listpack
        if ((s = decode_blob(a, at)) != Status::ok) return s;
      } else {
        return fail(Errc::rdb_corrupt, "quicklist node container " + num(container) + " unknown",
                    at);
      }
      break;
    }
    default:
      return fail_corrupt(c, "internal: no decoder for this state");
  }
  if (--left_ == 0) end_key();
  return Status::ok;
}

// A string value over limits_.stream_string_over: its header is read here, then its bytes go
// out piece by piece (step_string_stream), raw or decompressed on the fly. Anything shorter, or
// an integer encoding, is left to read_string (streamed stays false).
RdbParser::Status RdbParser::begin_string_stream(Cursor& c, bool& streamed) {
  const std::size_t start = c.used();
  std::uint64_t len = 0, clen = 0;
  bool special = false;
  Status s = read_len_special(c, len, special);
  if (s != Status::ok) return s;
  const bool compressed = special && len == 3;  // RDB_ENC_LZF
  if (special && !compressed) return Status::ok;
  if (compressed) {
    clen = 0;
    if ((s = read_len(c, clen)) != Status::ok) return s;
    if ((s = read_len(c, len)) != Status::ok) return s;
  }
  if (len <= limits_.stream_string_over) return Status::ok;
  c.set_mark(start);
  const std::uint64_t stored = compressed ? clen : len;
  if (len > limits_.max_string || stored > limits_.max_string)
    return fail(Errc::limit_exceeded,
                std::string(compressed ? "compressed " : "") + "string of " + num(len) +
                    " bytes is over the " + num(limits_.max_string) + "-byte limit",
                offset_ + c.mark());
  if (compressed && clen == 0) return fail_corrupt(c, "LZF string with a zero length");
  if (limits_.input_size) {
    const std::uint64_t here = offset_ + c.used();
    if (here > limits_.input_size || stored > limits_.input_size - here)
      return fail_corrupt(c, "string of " + num(stored) + " bytes runs past the end of the input");
  }
  stream_left_ = stored;
  if (compressed) {
    if (!lzf_stream_) lzf_stream_.emplace();
    lzf_stream_->reset(len);
    state_ = State::string_lzf_stream;
  } else {
    state_ = State::string_raw_stream;
  }
  if (!skip_) flow(visitor_.on_string_begin(len));
  streamed = true;
  return Status::ok;
}

// One piece of a streamed string value: whatever has arrived of it.
RdbParser::Status RdbParser::step_string_stream(Cursor& c) {
  c.set_mark();
  std::string_view in = c.rest();
  if (in.size() > stream_left_) in = in.substr(0, static_cast<std::size_t>(stream_left_));
  const char* p;
  std::string_view out;
  if (state_ == State::string_raw_stream) {
    c.take(in.size(), p);
    out = in;
    stream_left_ -= in.size();
  } else {
    LzfStream& z = *lzf_stream_;
    const std::size_t used = z.decode(in);
    if (z.error()) return fail(Errc::rdb_corrupt, z.error(), offset_ + used);
    c.take(used, p);
    stream_left_ -= used;
    out = z.take();
    if (used == 0 && out.empty()) {
      // A token cut by the end of what has arrived: wait for all of it.
      if (z.need() > stream_left_) return fail_corrupt(c, "LZF token runs past the input");
      c.take(z.need(), p);
      return Status::more;
    }
    if (stream_left_ == 0 && !z.complete())
      return fail(Errc::rdb_corrupt, "LZF output shorter than declared", offset_ + c.used());
  }
  if (!out.empty() && !skip_) flow(visitor_.on_string_chunk(out));
  if (stream_left_ == 0) {
    if (!skip_) flow(visitor_.on_string_end());
    end_key();
  }
  return Status::ok;
}

// The opcode stream of a MODULE_2 value or a MODULE_AUX record, one op per item.
RdbParser::Status RdbParser::step_module_op(Cursor& c) {
  Status s;
  std::uint64_t code;
  if ((s = read_len(c, code)) != Status::ok) return s;
  if (code == 0) {  // RDB_MODULE_OPCODE_EOF
    if (module_in_meta_) {
      module_in_meta_ = false;
      meta_spans_.back().size = meta_ops_.size() - meta_spans_.back().at;
      if (--meta_left_ > 0) {
        state_ = State::key_meta_class;
      } else {
        meta_pending_ = true;
        state_ = State::top;
      }
    } else if (module_in_aux_) {
      flow(visitor_.on_module_aux_end());
      state_ = State::top;
    } else {
      end_key();
    }
    return Status::ok;
  }
  ModuleOp op;
  const char* p;
  switch (code) {
    case 1:
    case 2:
      if ((s = read_len(c, op.u)) != Status::ok) return s;
      break;
    case 3: {
      if (!c.take(4, p)) return Status::more;
      float f;
      std::memcpy(&f, p, 4);
      op.d = f;
      break;
    }
    case 4:
      if (!c.take(8, p)) return Status::more;
      std::memcpy(&op.d, p, 8);
      break;
    case 5:
      if ((s = read_string(c, op.str, 0)) != Status::ok) return s;
      break;
    default:
      return fail_corrupt(c, "unknown module opcode " + num(code));
  }
  op.kind = static_cast<ModuleOp::Kind>(code);
  op.raw = c.consumed();
  if (module_in_meta_) {
    if (meta_ops_.size() + op.raw.size() > (1u << 20))
      return fail(Errc::limit_exceeded, "key metadata over 1 MiB", offset_);
    meta_ops_.append(op.raw);
    return Status::ok;
  }
  if (module_in_aux_ || !skip_) flow(visitor_.on_module_op(op));
  return Status::ok;
}

// RDB_OPCODE_KEY_META (REDIS 13): per class a 32-bit class spec (little-endian: 3 flag bits,
// 5 version bits, then 4 name characters of 6 bits, the first one highest), then the class's
// value as module ops up to RDB_MODULE_OPCODE_EOF. Read in redis/redis src/keymeta.c
// (rdbLoadKeyMetadata, keyMetaClassDecode) at 39518acb.
RdbParser::Status RdbParser::step_key_meta(Cursor& c) {
  c.set_mark();
  const char* p;
  if (!c.take(4, p)) return Status::more;
  static constexpr char charset[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  MetaSpan m{};
  m.spec = load_le32(p);
  std::uint32_t bits = m.spec >> 8;
  for (int i = 3; i >= 0; --i, bits >>= 6) m.name[i] = charset[bits & 63];
  m.at = meta_ops_.size();
  meta_spans_.push_back(m);
  module_in_meta_ = true;
  state_ = State::module_ops;
  return Status::ok;
}

// VALKEY RDB_OPCODE_SLOT_IMPORT: the job name (a string), the number of ranges, then each
// range's first and last slot (len-enc), 0 <= start <= end < 16384. Layout as in valkey's
// tests/integration/rdb-slot-import.tcl (c76dd873), which crafts these records.
RdbParser::Status RdbParser::step_slot_import(Cursor& c) {
  Status s;
  std::string_view job;
  std::uint64_t n;
  if ((s = read_string(c, job, 0)) != Status::ok) return s;
  if ((s = read_len(c, n)) != Status::ok) return s;
  if (n > 16384) return fail_corrupt(c, "slot import with " + num(n) + " ranges");
  slot_ranges_.clear();
  for (std::uint64_t i = 0; i < n; ++i) {
    RdbSlotRange r;
    if ((s = read_len(c, r.start)) != Status::ok) return s;
    if ((s = read_len(c, r.end)) != Status::ok) return s;
    if (r.start > r.end || r.end >= 16384)
      return fail_corrupt(c,
                          "slot import range " + num(r.start) + "-" + num(r.end) + " is invalid");
    slot_ranges_.push_back(r);
  }
  flow(visitor_.on_slot_import(job, slot_ranges_));
  return Status::ok;
}

// A hash template's next field name, kept in the registry (or with the self-contained key that
// holds it): within the byte cap, and after the name before it (shorter first, then bytewise).
RdbParser::Status RdbParser::store_template_field(std::string_view field, std::uint64_t at) {
  constexpr std::uint64_t overhead = 2 * sizeof(std::size_t);
  if (tmpl_bytes_ + field.size() + overhead > limits_.max_hash_template_bytes)
    return fail(Errc::limit_exceeded,
                "hash template field names over the " + num(limits_.max_hash_template_bytes) +
                    "-byte limit",
                at);
  if (tmpl_next_ > 0) {
    const auto [pat, psize] = tmpl_fields_.back();
    const std::string_view prev = std::string_view(tmpl_names_).substr(pat, psize);
    if (prev.size() > field.size() || (prev.size() == field.size() && prev >= field))
      return fail(Errc::rdb_corrupt, "hash template field names not in order", at);
  }
  tmpl_fields_.emplace_back(tmpl_names_.size(), field.size());
  tmpl_names_.append(field);
  tmpl_bytes_ += field.size() + overhead;
  ++tmpl_next_;
  return Status::ok;
}

// RDB_OPCODE_HASH_TEMPLATE: one field name at a time, into the registry.
RdbParser::Status RdbParser::step_hash_template(Cursor& c) {
  Status s;
  std::string_view field;
  const std::uint64_t at = offset_ + c.used();
  if ((s = read_string(c, field, 0)) != Status::ok) return s;
  if ((s = store_template_field(field, at)) != Status::ok) return s;
  if (tmpl_next_ == tmpl_.count) state_ = State::top;
  return Status::ok;
}

// A self-contained template hash's field names: one string at a time, or one listpack.
RdbParser::Status RdbParser::step_template_hash(Cursor& c) {
  Status s;
  std::string_view a;
  const std::uint64_t at = offset_ + c.used();
  if ((s = read_string(c, a, 0)) != Status::ok) return s;
  if (state_ == State::tmpl_self_fields) {
    if ((s = store_template_field(a, at)) != Status::ok) return s;
    if (tmpl_next_ < tmpl_.count) return Status::ok;
  } else {
    ListpackReader r;
    if (const char* err = r.open(a))
      return fail(Errc::rdb_corrupt, std::string(err) + " (key '" + key_.substr(0, 64) + "')", at);
    PackedItem x;
    for (;;) {
      const Next n = r.next(x);
      if (n == Next::end) break;
      if (n == Next::error)
        return fail(Errc::rdb_corrupt,
                    std::string(r.error()) + " (key '" + key_.substr(0, 64) + "')", at);
      if ((s = store_template_field(item_text(x, 1), at)) != Status::ok) return s;
    }
    if (tmpl_next_ == 0) return fail(Errc::rdb_corrupt, "template hash with no fields", at);
    tmpl_.count = static_cast<std::size_t>(tmpl_next_);
  }
  tmpl_next_ = 0;
  left_ = tmpl_.count;
  state_ = info_.rdb_type == RdbType::hash_tmpl_lp ? State::blob_value : State::tmpl_values;
  return Status::ok;
}

// The values listpack of a template hash (_LP_REF, or a self-contained _LP): the template id,
// then one value per field of the template, no more and no less.
RdbParser::Status RdbParser::template_values_blob(std::string_view blob, std::uint64_t at) {
  auto bad = [&](const std::string& what) {
    return fail(Errc::rdb_corrupt, what + " (key '" + key_.substr(0, 64) + "')", at);
  };
  ListpackReader r;
  if (const char* err = r.open(blob)) return bad(err);
  PackedItem x;
  Next n = r.next(x);
  if (n == Next::error) return bad(r.error());
  if (n != Next::item || !x.is_int || x.num < 0)
    return bad("template hash listpack without its template id");
  if (info_.rdb_type == RdbType::hash_tmpl_lp_ref) {
    const auto it = templates_.find(static_cast<std::uint64_t>(x.num));
    if (it == templates_.end())
      return bad("template hash refers to unknown template id " +
                 num(static_cast<std::uint64_t>(x.num)));
    tmpl_ = it->second;
  }
  for (std::size_t i = 0; i < tmpl_.count; ++i) {
    n = r.next(x);
    if (n == Next::error) return bad(r.error());
    if (n == Next::end) return bad("template hash with fewer values than its template's fields");
    const auto [fat, fsize] = tmpl_fields_[tmpl_.first + i];
    if (!skip_)
      flow(visitor_.on_hash_field(std::string_view(tmpl_names_).substr(fat, fsize), item_text(x, 0),
                                  no_field_expire));
  }
  n = r.next(x);
  if (n == Next::error) return bad(r.error());
  if (n != Next::end) return bad("template hash with more values than its template's fields");
  return Status::ok;
}

// One "<prefix><decimal>\r\n" line of a RESP multi-bulk.
RdbParser::Status RdbParser::read_resp_number(Cursor& c, char prefix, std::uint64_t& out) {
  c.set_mark();
  std::uint8_t b;
  if (!c.u8(b)) return Status::more;
  if (b != static_cast<std::uint8_t>(prefix))
    return fail_corrupt(
        c, std::string("inline command: '") + prefix + "' expected, got " + hex_byte(b));
  out = 0;
  int digits = 0;
  for (;;) {
    if (!c.u8(b)) return Status::more;
    if (b == '\r') break;
    if (b < '0' || b > '9' || ++digits > 18)
      return fail_corrupt(c, "inline command: bad number after '" + std::string(1, prefix) + "'");
    out = out * 10 + (b - '0');
  }
  if (digits == 0) return fail_corrupt(c, "inline command: empty number");
  if (!c.u8(b)) return Status::more;
  if (b != '\n') return fail_corrupt(c, "inline command: CR without LF");
  return Status::ok;
}

// VALKEY RDB_OPCODE_UPDATE: a command as a RESP multi-bulk, written by a forkless save
// (valkey writeReplicationData: "*<argc>\r\n" then "$<len>\r\n<bytes>\r\n" per argument).
RdbParser::Status RdbParser::step_update(Cursor& c) {
  Status s;
  std::uint64_t argc;
  if ((s = read_resp_number(c, '*', argc)) != Status::ok) return s;
  if (argc == 0 || argc > (1u << 20))
    return fail_corrupt(c, "inline command with " + num(argc) + " arguments");
  command_args_.clear();
  const char* p;
  for (std::uint64_t i = 0; i < argc; ++i) {
    std::uint64_t len;
    if ((s = read_resp_number(c, '$', len)) != Status::ok) return s;
    if (len > limits_.max_string || c.used() + len > limits_.max_string)
      return fail(Errc::limit_exceeded,
                  "inline command over the " + num(limits_.max_string) + "-byte limit",
                  offset_ + c.mark());
    if (limits_.input_size && offset_ + c.used() + len + 2 > limits_.input_size)
      return fail_corrupt(c, "inline command argument runs past the end of the input");
    if (!c.take(len, p)) return Status::more;
    command_args_.emplace_back(p, len);
    c.set_mark();
    if (!c.take(2, p)) return Status::more;
    if (p[0] != '\r' || p[1] != '\n')
      return fail_corrupt(c, "inline command: argument without CRLF");
  }
  flow(visitor_.on_rdb_command(db_, command_args_));
  return Status::ok;
}

// Decodes one complete compact blob of the current key's type.
RdbParser::Status RdbParser::decode_blob(std::string_view blob, std::uint64_t at) {
  const RdbType type = info_.rdb_type;
  const char* err = nullptr;
  PackedItem x, y, z;
  auto bad = [&](const char* what) {
    return fail(Errc::rdb_corrupt, std::string(what) + " (key '" + key_.substr(0, 64) + "')", at);
  };
  // Blobs the server keeps as they are: their facts go out after (or, with Flow::facts, instead
  // of) their elements.
  const bool verbatim =
      !skip_ && (type == RdbType::list_quicklist_2 || type == RdbType::set_listpack ||
                 type == RdbType::zset_listpack || type == RdbType::hash_listpack ||
                 type == RdbType::set_intset);
  const bool elements = !skip_ && !(facts_ && verbatim);
  BlobFacts facts{blob.size(), 0, 0, false};
  auto pairs = [&](auto& reader, int arity) -> Status {
    for (;;) {
      Next n = reader.next(x);
      if (n == Next::end) {
        if (verbatim) flow(visitor_.on_blob(facts));
        return Status::ok;
      }
      if (n == Next::error) return bad(reader.error());
      if (arity >= 2 && (n = reader.next(y)) != Next::item)
        return bad(n == Next::error ? reader.error() : "odd number of entries in a paired blob");
      if (arity == 3 && (n = reader.next(z)) != Next::item)
        return bad(n == Next::error ? reader.error()
                                    : "hash entries not in field/value/ttl triples");
      // Checked whether or not the key is reported: --check and a filter reject exactly
      // what the formats reject.
      double score = 0;
      std::int64_t expire = no_field_expire;
      if (info_.type == ValueType::zset) {
        if (y.is_int) {
          score = static_cast<double>(y.num);
        } else if (!parse_double(y.str, score)) {
          return bad("zset score is not a number");
        }
      } else if (info_.type == ValueType::hash && arity == 3) {
        if (!z.is_int || z.num < 0 || static_cast<std::uint64_t>(z.num) > max_field_expire)
          return bad("hash field expiry is not a valid time");
        if (z.num != 0) expire = z.num;  // 0: no expiry (HASH_LP_NO_TTL)
      }
      if (verbatim) {
        ++facts.records;
        facts.max_len = std::max(facts.max_len, text_length(x));
        if (info_.type == ValueType::hash) facts.max_len = std::max(facts.max_len, text_length(y));
      }
      if (!elements) continue;
      switch (info_.type) {
        case ValueType::list:
          flow(visitor_.on_list_item(item_text(x, 0)));
          break;
        case ValueType::set:
          flow(visitor_.on_set_member(item_text(x, 0)));
          break;
        case ValueType::zset:
          flow(visitor_.on_zset_member(item_text(x, 0), score));
          break;
        case ValueType::hash:
          flow(visitor_.on_hash_field(item_text(x, 0), item_text(y, 1), expire));
          break;
        default:
          return bad("internal: blob for a type without one");
      }
    }
  };
  switch (type) {
    case RdbType::list_ziplist:
    case RdbType::list_quicklist:
    case RdbType::zset_ziplist:
    case RdbType::hash_ziplist: {
      ZiplistReader r;
      if ((err = r.open(blob))) return bad(err);
      return pairs(r, info_.type == ValueType::list ? 1 : 2);
    }
    case RdbType::list_quicklist_2:
    case RdbType::set_listpack:
    case RdbType::zset_listpack:
    case RdbType::hash_listpack:
    case RdbType::hash_listpack_ex_pre_ga:
    case RdbType::hash_listpack_ex: {
      ListpackReader r;
      if ((err = r.open(blob))) return bad(err);
      const int arity =
          info_.type == ValueType::list || info_.type == ValueType::set                     ? 1
          : (type == RdbType::hash_listpack_ex || type == RdbType::hash_listpack_ex_pre_ga) ? 3
                                                                                            : 2;
      return pairs(r, arity);
    }
    case RdbType::set_intset: {
      IntsetReader r;
      if ((err = r.open(blob))) return bad(err);
      return pairs(r, 1);
    }
    case RdbType::hash_zipmap: {
      ZipmapReader r;
      if ((err = r.open(blob))) return bad(err);
      return pairs(r, 2);
    }
    case RdbType::hash_tmpl_lp:
    case RdbType::hash_tmpl_lp_ref:
      return template_values_blob(blob, at);
    default:
      return bad("internal: no blob decoder for this type");
  }
}

}  // namespace redis_repl::core
