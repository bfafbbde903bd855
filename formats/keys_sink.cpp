// --format keys: one key per line, as `redis-cli --scan` prints them. A key that is not plain
// printable text (control bytes, invalid UTF-8, or a leading double quote) is written quoted in
// redis-cli's style, so every line still stands for exactly one key.
#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

using core::Flow;

bool plain(std::string_view key) {
  if (!key.empty() && key.front() == '"') return false;
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return utf8_valid(key);
}

class KeysSink final : public CountingSink {
 public:
  explicit KeysSink(OutBuffer& out) : CountingSink(out) {}

  Flow on_key_begin(const core::KeyInfo& k) override {
    summary_.key(k);
    std::string& b = out_.buffer();
    if (plain(k.key)) {
      b.append(k.key);
    } else {
      append_repr(b, k.key);
    }
    b.push_back('\n');
    return line_done() == Flow::stop ? Flow::stop : Flow::skip;
  }
  void abort() override { out_.flush(); }
};

// --check: count and verify everything, skip every element callback.
class CheckSink final : public CountingSink {
 public:
  explicit CheckSink(OutBuffer& out) : CountingSink(out) {}

  Flow on_key_begin(const core::KeyInfo& k) override {
    summary_.key(k);
    return Flow::skip;
  }
};

}  // namespace

std::unique_ptr<Sink> make_keys_sink(OutBuffer& out) { return std::make_unique<KeysSink>(out); }
std::unique_ptr<Sink> make_check_sink(OutBuffer& out) { return std::make_unique<CheckSink>(out); }

}  // namespace redis_repl::formats
