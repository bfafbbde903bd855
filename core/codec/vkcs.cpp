#include "core/codec/vkcs.hpp"

#include <lz4frame.h>

#include <algorithm>

namespace redis_repl::core {
namespace {

constexpr std::size_t envelope_size = 8;
constexpr std::size_t piece = 64 * 1024;

LZ4F_dctx* dctx_of(void* p) { return static_cast<LZ4F_dctx*>(p); }

}  // namespace

VkcsInput::VkcsInput(RdbParser& parser) : parser_(parser) {}

VkcsInput::~VkcsInput() {
  if (dctx_) LZ4F_freeDecompressionContext(dctx_of(dctx_));
}

Step VkcsInput::fail(Errc code, std::string message) {
  failed_ = true;
  error_.code = code;
  error_.message = std::move(message);
  error_.offset = in_offset_;
  return Step::failed;
}

Step VkcsInput::feed(std::string_view in) {
  if (failed_) return Step::failed;
  if (mode_ == Mode::plain) return parser_.feed(in);
  if (mode_ == Mode::lz4) return feed_lz4(in);

  // Probe: the envelope is told apart by its first 4 bytes and read whole (8 bytes).
  const std::size_t take = std::min(in.size(), envelope_size - probe_.size());
  probe_.append(in.data(), take);
  in.remove_prefix(take);
  const std::string_view magic = "VKCS";
  const std::size_t n = std::min<std::size_t>(probe_.size(), 4);
  if (std::string_view(probe_).substr(0, n) != magic.substr(0, n)) {
    mode_ = Mode::plain;
    std::string first = std::move(probe_);
    probe_.clear();
    first.append(in);
    return parser_.feed(first);
  }
  if (probe_.size() < envelope_size) return Step::need_more;
  const auto version = static_cast<std::uint8_t>(probe_[4]);
  const auto codec = static_cast<std::uint8_t>(probe_[5]);
  const auto flags = static_cast<std::uint8_t>(probe_[6]);
  const auto kind = static_cast<std::uint8_t>(probe_[7]);
  in_offset_ = 4;
  if (version != 1)
    return fail(Errc::rdb_unsupported,
                "compressed RDB envelope version " + std::to_string(version) + " (1 is read)");
  ++in_offset_;
  if (codec != 1)
    return fail(Errc::rdb_unsupported, "compressed RDB envelope with codec " +
                                           std::to_string(codec) + " (1, LZ4, is read)");
  ++in_offset_;
  if (flags & ~1u)
    return fail(Errc::rdb_unsupported,
                "compressed RDB envelope with unknown flags " + std::to_string(flags));
  ++in_offset_;
  if (kind != 0)
    return fail(Errc::rdb_unsupported, "compressed envelope of stream kind " +
                                           std::to_string(kind) + ", not an RDB (kind 0)");
  in_offset_ = envelope_size;
  LZ4F_dctx* d = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
    return fail(Errc::limit_exceeded, "cannot create an LZ4 decompression context");
  dctx_ = d;
  out_.resize(piece);
  mode_ = Mode::lz4;
  parser_.forget_input_size();  // lengths inside are checked against the decompressed data
  return feed_lz4(in);
}

Step VkcsInput::feed_lz4(std::string_view in) {
  if (frame_done_) {
    trailing_.append(in);
    return parser_done_ ? Step::done : Step::need_more;
  }
  pending_.append(in);
  // A parser stopped by its visitor goes on with what it holds first.
  Step s = parser_.feed({});
  if (s == Step::failed || s == Step::stopped) return s;
  if (s == Step::done) parser_done_ = true;
  std::size_t at = 0;
  for (;;) {
    std::size_t dst = out_.size();
    std::size_t src = pending_.size() - at;
    const std::size_t r =
        LZ4F_decompress(dctx_of(dctx_), out_.data(), &dst, pending_.data() + at, &src, nullptr);
    if (LZ4F_isError(r))
      return fail(Errc::rdb_corrupt, std::string("LZ4 frame: ") + LZ4F_getErrorName(r));
    at += src;
    in_offset_ += src;
    if (dst > 0) {
      s = parser_.feed({out_.data(), dst});
      if (s == Step::failed) return s;
      if (s == Step::done) parser_done_ = true;
      if (s == Step::stopped) {
        pending_.erase(0, at);
        return s;
      }
    }
    if (r == 0) {  // the frame is complete
      frame_done_ = true;
      trailing_.append(pending_, at);
      at = pending_.size();
      break;
    }
    // A full piece may leave decoded bytes inside the decoder (a block larger than the piece):
    // call again until it gives less than a piece with all the input used.
    if (dst < out_.size() && at == pending_.size()) break;
    if (src == 0 && dst == 0) break;
  }
  pending_.erase(0, at);
  if (parser_done_) return frame_done_ ? Step::done : Step::need_more;
  return Step::need_more;
}

Step VkcsInput::finish() {
  if (failed_) return Step::failed;
  if (mode_ == Mode::probe) {
    mode_ = Mode::plain;
    if (!probe_.empty()) {
      const Step s = parser_.feed(probe_);
      probe_.clear();
      if (s == Step::failed) return s;
    }
  }
  if (mode_ == Mode::plain) return parser_.finish();
  if (parser_done_ && frame_done_) return Step::done;
  if (parser_done_)
    return fail(Errc::rdb_truncated, "input ends at byte " + std::to_string(in_offset_) +
                                         " inside the LZ4 frame, after the RDB it holds");
  if (parser_.finish() != Step::failed) return Step::done;
  return fail(parser_.error().code, "input ends at byte " + std::to_string(in_offset_) +
                                        " inside the LZ4 frame (in the decompressed RDB: " +
                                        parser_.error().message + ")");
}

}  // namespace redis_repl::core
