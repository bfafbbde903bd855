// tests/support/rdb_builder.hpp — hand-made RDB bytes for cases no server file has: every
// length and integer form, each packed encoding, corruptions with exact offsets.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace redis_repl::test {

class RdbBuilder {
 public:
  explicit RdbBuilder(int version = 10);
  // A file with the "VALKEY" magic and a 3-digit version (80, 81).
  static RdbBuilder valkey(int version);
  RdbBuilder& byte(std::uint8_t b);
  RdbBuilder& raw(std::string_view bytes);
  RdbBuilder& len(std::uint64_t n);  // the shortest length form
  RdbBuilder& len32(std::uint32_t n);
  RdbBuilder& len64(std::uint64_t n);
  RdbBuilder& str(std::string_view s);      // length-prefixed, plain
  RdbBuilder& lzf_str(std::string_view s);  // RDB_ENC_LZF, compressed with lzf_compress()
  RdbBuilder& le32(std::uint32_t v);
  RdbBuilder& le64(std::uint64_t v);
  RdbBuilder& be64(std::uint64_t v);
  // EOF opcode and, for RDB 5 and later, the CRC64 (or zero).
  std::string finish(bool with_crc = true);
  std::string bytes() const { return out_; }
  std::size_t size() const { return out_.size(); }

 private:
  std::string out_;
  int version_;
};

// LZF as liblzf writes it (literal runs of up to 32 bytes, back references of 3 to 264 bytes
// up to 8 KiB back), from a simple greedy matcher: input for the decoders, not a fast compressor.
std::string lzf_compress(std::string_view in);

// One packed entry: a string or an integer.
using PackedEntry = std::variant<std::string, std::int64_t>;
// A listpack with each integer in its smallest encoding and each string in its smallest form.
std::string listpack(std::initializer_list<PackedEntry> entries);
// A ziplist likewise (RDB 6+ integer encodings).
std::string ziplist(std::initializer_list<PackedEntry> entries);

}  // namespace redis_repl::test
