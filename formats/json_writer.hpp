// formats/json_writer.hpp — a streaming JSON writer over a string, with byte-safe strings.
//
// Values are appended as they come, so a value of any size never has to be held whole; the
// writer only remembers its nesting (one byte per level) to place commas and to close whatever is
// still open when output must end early. A Redis byte string is a JSON string when it is valid
// UTF-8 and {"base64": "..."} otherwise, so the output is always valid JSON and lossless.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/text_encoding.hpp"

namespace redis_repl::formats {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(&out) {}
  void retarget(std::string& out) noexcept { out_ = &out; }

  void begin_object() {
    value_prefix();
    out_->push_back('{');
    push(true);
  }
  void begin_array() {
    value_prefix();
    out_->push_back('[');
    push(false);
  }
  void end() {
    const char top = stack_.back();
    stack_.pop_back();
    out_->push_back((top & is_object) ? '}' : ']');
  }
  // An object key; k is plain ASCII known not to need escaping.
  void key(std::string_view k) {
    comma();
    out_->push_back('"');
    out_->append(k);
    out_->append("\":", 2);
    after_key_ = true;
  }
  void bytes(std::string_view s) {
    value_prefix();
    if (utf8_valid(s)) {
      append_json_quoted(*out_, s);
    } else {
      out_->append("{\"base64\":\"");
      append_base64(*out_, s);
      out_->append("\"}");
    }
  }
  // Where a value's text is about to be appended by hand (a long string, piece by piece).
  void raw_value() { value_prefix(); }
  // A string known to be ASCII without characters that need escaping.
  void ascii(std::string_view s) {
    value_prefix();
    out_->push_back('"');
    out_->append(s);
    out_->push_back('"');
  }
  void number(std::int64_t v) {
    value_prefix();
    append_int(*out_, v);
  }
  void unsigned_number(std::uint64_t v) {
    value_prefix();
    append_uint(*out_, v);
  }
  // Finite doubles as numbers; "inf", "-inf" and "nan" as strings (JSON has no such numbers).
  void real(double d) {
    if (std::isfinite(d)) {
      value_prefix();
      append_double(*out_, d);
      return;
    }
    value_prefix();
    out_->push_back('"');
    append_double(*out_, d);
    out_->push_back('"');
  }
  void null() {
    value_prefix();
    out_->append("null");
  }
  void boolean(bool b) {
    value_prefix();
    out_->append(b ? "true" : "false");
  }
  void stream_id(std::uint64_t ms, std::uint64_t seq) {
    value_prefix();
    out_->push_back('"');
    append_uint(*out_, ms);
    out_->push_back('-');
    append_uint(*out_, seq);
    out_->push_back('"');
  }

  std::size_t depth() const noexcept { return stack_.size(); }
  // A key was written and its value has not been.
  bool awaiting_value() const noexcept { return after_key_; }
  // Closes levels until depth() == level.
  void close_to(std::size_t level) {
    while (stack_.size() > level) end();
  }

 private:
  static constexpr char is_object = 1;
  static constexpr char has_items = 2;
  void push(bool object) { stack_.push_back(object ? is_object : 0); }
  void comma() {
    if (stack_.empty()) return;
    char& top = stack_.back();
    if (top & has_items) out_->push_back(',');
    top = static_cast<char>(top | has_items);
  }
  void value_prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    comma();
  }

  std::string* out_;
  std::string stack_;
  bool after_key_ = false;
};

}  // namespace redis_repl::formats
