// --format memory: one CSV row per key, with the columns people's scripts already read from
// redis-rdb-tools' memory report:
//   database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry
// size_in_bytes is the estimated server memory (core/key_size.hpp), encoding the server's name
// for it, expiry ISO 8601 UTC or empty. A key that is not plain printable text is written
// escaped as redis-cli quotes it; a field holding a comma or a double quote is quoted (RFC 4180).
// With a limit, only the largest keys are kept (a bounded heap) and written largest first.
#include <algorithm>
#include <vector>

#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"

namespace redis_repl::formats {
namespace {

using core::Flow;

bool plain(std::string_view key) {
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return utf8_valid(key);
}

void append_csv_key(std::string& out, std::string_view key) {
  std::string text;
  if (plain(key)) {
    text.assign(key);
  } else {
    append_repr_body(text, key);
  }
  if (text.find_first_of(",\"") == std::string::npos && !text.empty() && text.front() != ' ' &&
      text.back() != ' ') {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

class MemorySink final : public CountingSink {
 public:
  MemorySink(OutBuffer& out, std::uint64_t largest) : CountingSink(out), largest_(largest) {}

  Flow on_header(const core::Header& h) override {
    summary_.header(h);
    out_.buffer().append(
        "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n");
    return line_done();
  }
  Flow on_key_begin(const core::KeyInfo& k) override {
    summary_.key(k);
    return Flow::facts;  // sizes, not contents: the sized sink gathers them
  }
  void on_key_size(const core::KeySize& s) override { size_ = s; }
  Flow on_key_end(const core::KeyInfo& k) override {
    std::string row;
    append_uint(row, k.db);
    row.push_back(',');
    row.append(core::type_name(k.type));
    row.push_back(',');
    append_csv_key(row, k.key);
    row.push_back(',');
    append_uint(row, size_.memory);
    row.push_back(',');
    row.append(size_.encoding);
    row.push_back(',');
    append_uint(row, size_.len);
    row.push_back(',');
    append_uint(row, size_.max_element);
    row.push_back(',');
    if (k.expire_ms) append_time_ms(row, *k.expire_ms);
    row.push_back('\n');
    if (!largest_) {
      out_.buffer().append(row);
      return line_done();
    }
    // Keep the largest: a min-heap of at most `largest_` rows, ties kept in file order.
    const Kept kept{size_.memory, seq_++, std::move(row)};
    if (heap_.size() < largest_) {
      heap_.push_back(kept);
      std::push_heap(heap_.begin(), heap_.end(), smaller_first);
    } else if (smaller_first(kept, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), smaller_first);
      heap_.back() = kept;
      std::push_heap(heap_.begin(), heap_.end(), smaller_first);
    }
    return Flow::next;
  }
  Flow on_end(const core::EndInfo& e) override {
    summary_.end(e);
    std::sort(heap_.begin(), heap_.end(), smaller_first);  // largest first
    for (const Kept& k : heap_) {
      out_.buffer().append(k.row);
      if (line_done() == Flow::stop) return Flow::stop;
    }
    heap_.clear();
    return Flow::next;
  }
  void abort() override { out_.flush(); }

 private:
  struct Kept {
    std::uint64_t memory;
    std::uint64_t seq;
    std::string row;
  };
  // "a before b" when a is larger (or as large and earlier): a heap on it keeps the smallest on
  // top, and sorting on it puts the largest first.
  static bool smaller_first(const Kept& a, const Kept& b) {
    return a.memory != b.memory ? a.memory > b.memory : a.seq < b.seq;
  }

  std::uint64_t largest_;
  std::uint64_t seq_ = 0;
  std::vector<Kept> heap_;
  core::KeySize size_;
};

}  // namespace

std::unique_ptr<Sink> make_memory_sink(OutBuffer& out, std::uint64_t largest) {
  return make_sized_sink(std::make_unique<MemorySink>(out, largest), out);
}

}  // namespace redis_repl::formats
