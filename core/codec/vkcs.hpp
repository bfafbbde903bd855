// core/codec/vkcs.hpp — Valkey's compressed RDB envelope, decoded in front of an RdbParser.
//
// Valkey 9.2 writes an RDB as "VKCS" (4 bytes), a version (1), a codec (1: LZ4), flags (bit 0:
// the codec's block checksums are on) and a stream kind (0: RDB), then one LZ4 frame holding a
// plain VALKEY08x RDB (valkey src/compression_stream.h at 21ee8c45, src/compression_lz4.c).
// VkcsInput takes the file's bytes in chunks of any size; input without the envelope goes to
// the parser as it is. The frame is decompressed in 64 KiB pieces, so memory stays bounded by
// the LZ4 block size (at most 4 MiB) plus one piece, whatever the file. The parser's offsets
// then count decompressed bytes. This is the one place that uses liblz4.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/rdb_parser.hpp"

namespace redis_repl::core {

class VkcsInput {
 public:
  explicit VkcsInput(RdbParser& parser);
  ~VkcsInput();
  VkcsInput(const VkcsInput&) = delete;
  VkcsInput& operator=(const VkcsInput&) = delete;

  // As RdbParser::feed and finish.
  Step feed(std::string_view in);
  Step finish();

  // The envelope's error if it failed, else the parser's.
  const Error& error() const noexcept { return failed_ ? error_ : parser_.error(); }
  bool compressed() const noexcept { return mode_ == Mode::lz4; }
  // Compressed bytes after the LZ4 frame ended (the parser's trailing() has those after the
  // RDB's end inside the frame).
  std::string_view trailing() const noexcept { return trailing_; }

 private:
  enum class Mode : std::uint8_t { probe, plain, lz4 };
  Step feed_lz4(std::string_view in);
  Step fail(Errc code, std::string message);

  RdbParser& parser_;
  Mode mode_ = Mode::probe;
  std::string probe_;    // the first bytes, until the envelope is told apart
  std::string pending_;  // compressed input held while the parser is stopped
  std::string out_;      // one decompressed piece
  std::string trailing_;
  void* dctx_ = nullptr;  // LZ4F_dctx
  bool frame_done_ = false;
  bool parser_done_ = false;
  bool failed_ = false;
  std::uint64_t in_offset_ = 0;  // compressed bytes consumed, envelope included
  Error error_;
};

}  // namespace redis_repl::core
