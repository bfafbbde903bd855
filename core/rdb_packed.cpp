#include "core/rdb_packed.hpp"

#include "core/bytes.hpp"

namespace redis_repl::core {
namespace {

inline std::uint8_t byte_at(std::string_view s, std::size_t i) {
  return static_cast<std::uint8_t>(s[i]);
}

// Size of a listpack entry's backlen field for an encoding+data size of n bytes.
inline std::size_t backlen_size(std::size_t n) {
  if (n <= 127) return 1;
  if (n < 16383) return 2;
  if (n < 2097151) return 3;
  if (n < 268435455) return 4;
  return 5;
}

}  // namespace

// ---- listpack -------------------------------------------------------------------------------

const char* ListpackReader::open(std::string_view blob) noexcept {
  blob_ = blob;
  pos_ = 6;
  seen_ = 0;
  if (blob.size() < 7) return "listpack shorter than its header";
  if (load_le32(blob.data()) != blob.size()) return "listpack total size does not match its length";
  if (byte_at(blob, blob.size() - 1) != 0xff) return "listpack does not end with 0xff";
  declared_ = load_le16(blob.data() + 4);
  return nullptr;
}

Next ListpackReader::next(PackedItem& out) noexcept {
  const std::size_t size = blob_.size();
  if (pos_ >= size) return fail("listpack entry runs past the blob");
  const char* p = blob_.data() + pos_;
  const std::size_t avail = size - pos_ - 1;  // bytes before the final 0xff
  const std::uint8_t b = static_cast<std::uint8_t>(*p);
  std::size_t enc = 0;  // encoding + data bytes
  out.is_int = true;
  if (b == 0xff) {
    if (pos_ != size - 1) return fail("listpack end marker before the end of the blob");
    if (declared_ != 65535 && declared_ != seen_) return fail("listpack element count mismatch");
    return Next::end;
  }
  if ((b & 0x80) == 0) {  // 7-bit unsigned
    out.num = b & 0x7f;
    enc = 1;
  } else if ((b & 0xc0) == 0x80) {  // 6-bit string length
    std::size_t len = b & 0x3f;
    if (avail < 1 + len) return fail("listpack string runs past the blob");
    out.is_int = false;
    out.str = {p + 1, len};
    enc = 1 + len;
  } else if ((b & 0xe0) == 0xc0) {  // 13-bit signed
    if (avail < 2) return fail("listpack integer runs past the blob");
    std::int64_t v = ((b & 0x1f) << 8) | static_cast<std::uint8_t>(p[1]);
    out.num = v >= 4096 ? v - 8192 : v;
    enc = 2;
  } else if ((b & 0xf0) == 0xe0) {  // 12-bit string length, high nibble first
    if (avail < 2) return fail("listpack string runs past the blob");
    std::size_t len = (static_cast<std::size_t>(b & 0x0f) << 8) | static_cast<std::uint8_t>(p[1]);
    if (avail < 2 + len) return fail("listpack string runs past the blob");
    out.is_int = false;
    out.str = {p + 2, len};
    enc = 2 + len;
  } else {
    switch (b) {
      case 0xf0: {  // 32-bit string length, little-endian
        if (avail < 5) return fail("listpack string runs past the blob");
        std::size_t len = load_le32(p + 1);
        if (avail - 5 < len) return fail("listpack string runs past the blob");
        out.is_int = false;
        out.str = {p + 5, len};
        enc = 5 + len;
        break;
      }
      case 0xf1:
        if (avail < 3) return fail("listpack integer runs past the blob");
        out.num = static_cast<std::int16_t>(load_le16(p + 1));
        enc = 3;
        break;
      case 0xf2: {
        if (avail < 4) return fail("listpack integer runs past the blob");
        std::uint32_t u = static_cast<std::uint8_t>(p[1]) |
                          (static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[2])) << 8) |
                          (static_cast<std::uint32_t>(static_cast<std::uint8_t>(p[3])) << 16);
        out.num = static_cast<std::int32_t>(u << 8) >> 8;
        enc = 4;
        break;
      }
      case 0xf3:
        if (avail < 5) return fail("listpack integer runs past the blob");
        out.num = static_cast<std::int32_t>(load_le32(p + 1));
        enc = 5;
        break;
      case 0xf4:
        if (avail < 9) return fail("listpack integer runs past the blob");
        out.num = static_cast<std::int64_t>(load_le64(p + 1));
        enc = 9;
        break;
      default:
        return fail("listpack entry has an invalid encoding byte");
    }
  }
  const std::size_t bl = backlen_size(enc);
  if (avail < enc + bl) return fail("listpack entry backlen runs past the blob");
  // The backlen must encode enc: first byte has bit 7 clear, the rest have it set.
  const char* q = p + enc;
  std::size_t v = static_cast<std::uint8_t>(q[0]);
  if (v & 0x80) return fail("listpack entry has a bad backlen");
  for (std::size_t i = 1; i < bl; ++i) {
    auto c = static_cast<std::uint8_t>(q[i]);
    if (!(c & 0x80)) return fail("listpack entry has a bad backlen");
    v = (v << 7) | (c & 0x7f);
  }
  if (v != enc) return fail("listpack entry has a bad backlen");
  pos_ += enc + bl;
  ++seen_;
  return Next::item;
}

// ---- ziplist --------------------------------------------------------------------------------

const char* ZiplistReader::open(std::string_view blob) noexcept {
  blob_ = blob;
  pos_ = 10;
  prev_size_ = 0;
  seen_ = 0;
  if (blob.size() < 11) return "ziplist shorter than its header";
  if (load_le32(blob.data()) != blob.size()) return "ziplist total size does not match its length";
  if (load_le32(blob.data() + 4) >= blob.size()) return "ziplist tail offset out of range";
  if (byte_at(blob, blob.size() - 1) != 0xff) return "ziplist does not end with 0xff";
  declared_ = load_le16(blob.data() + 8);
  return nullptr;
}

Next ZiplistReader::next(PackedItem& out) noexcept {
  const std::size_t size = blob_.size();
  if (pos_ >= size) return fail("ziplist entry runs past the blob");
  const char* const start = blob_.data() + pos_;
  const char* p = start;
  std::size_t avail = size - pos_ - 1;  // before the final 0xff
  if (static_cast<std::uint8_t>(*p) == 0xff) {
    if (pos_ != size - 1) return fail("ziplist end marker before the end of the blob");
    if (declared_ != 65535 && declared_ != seen_) return fail("ziplist entry count mismatch");
    return Next::end;
  }
  // prevlen: the raw size of the previous entry.
  std::size_t prevlen = static_cast<std::uint8_t>(*p);
  std::size_t hdr = 1;
  if (prevlen == 0xfe) {
    if (avail < 5) return fail("ziplist entry runs past the blob");
    prevlen = load_le32(p + 1);
    hdr = 5;
  } else if (prevlen == 0xff) {
    return fail("ziplist entry has an invalid prevlen");
  }
  if (prevlen != prev_size_) return fail("ziplist entry prevlen does not match the previous entry");
  p += hdr;
  avail -= hdr;
  if (avail < 1) return fail("ziplist entry runs past the blob");
  const std::uint8_t b = static_cast<std::uint8_t>(*p);
  std::size_t data = 0;
  out.is_int = true;
  switch (b >> 6) {
    case 0:
      data = b & 0x3f;
      hdr = 1;
      out.is_int = false;
      break;
    case 1:
      if (avail < 2) return fail("ziplist entry runs past the blob");
      data = (static_cast<std::size_t>(b & 0x3f) << 8) | static_cast<std::uint8_t>(p[1]);
      hdr = 2;
      out.is_int = false;
      break;
    case 2:
      if (b != 0x80) return fail("ziplist entry has an invalid encoding byte");
      if (avail < 5) return fail("ziplist entry runs past the blob");
      data = load_be32(p + 1);
      hdr = 5;
      out.is_int = false;
      break;
    default:
      hdr = 1;
      switch (b) {
        case 0xc0:
          data = 2;
          break;
        case 0xd0:
          data = 4;
          break;
        case 0xe0:
          data = 8;
          break;
        case 0xf0:
          data = 3;
          break;
        case 0xfe:
          data = 1;
          break;
        default:
          if (b >= 0xf1 && b <= 0xfd) {
            data = 0;
            out.num = (b & 0x0f) - 1;
          } else {
            return fail("ziplist entry has an invalid encoding byte");
          }
      }
  }
  if (hdr > avail || avail - hdr < data) return fail("ziplist entry runs past the blob");
  const char* d = p + hdr;
  if (!out.is_int) {
    out.str = {d, data};
  } else {
    switch (b) {
      case 0xc0:
        out.num = static_cast<std::int16_t>(load_le16(d));
        break;
      case 0xd0:
        out.num = static_cast<std::int32_t>(load_le32(d));
        break;
      case 0xe0:
        out.num = static_cast<std::int64_t>(load_le64(d));
        break;
      case 0xf0: {
        std::uint32_t u = static_cast<std::uint8_t>(d[0]) |
                          (static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[1])) << 8) |
                          (static_cast<std::uint32_t>(static_cast<std::uint8_t>(d[2])) << 16);
        out.num = static_cast<std::int32_t>(u << 8) >> 8;
        break;
      }
      case 0xfe:
        out.num = static_cast<std::int8_t>(d[0]);
        break;
      default:
        break;  // immediate, already set
    }
  }
  const std::size_t total = static_cast<std::size_t>(d - start) + data;
  prev_size_ = total;
  pos_ += total;
  ++seen_;
  return Next::item;
}

// ---- intset ---------------------------------------------------------------------------------

const char* IntsetReader::open(std::string_view blob) noexcept {
  blob_ = blob;
  pos_ = 8;
  have_prev_ = false;
  if (blob.size() < 8) return "intset shorter than its header";
  width_ = load_le32(blob.data());
  if (width_ != 2 && width_ != 4 && width_ != 8) return "intset has an invalid encoding";
  left_ = load_le32(blob.data() + 4);
  if ((blob.size() - 8) / width_ != left_ || (blob.size() - 8) % width_ != 0)
    return "intset length does not match its size";
  return nullptr;
}

Next IntsetReader::next(PackedItem& out) noexcept {
  if (left_ == 0) return Next::end;
  const char* p = blob_.data() + pos_;
  std::int64_t v = width_ == 2   ? static_cast<std::int16_t>(load_le16(p))
                   : width_ == 4 ? static_cast<std::int32_t>(load_le32(p))
                                 : static_cast<std::int64_t>(load_le64(p));
  if (have_prev_ && v <= prev_) {
    error_ = "intset is not sorted or has duplicates";
    return Next::error;
  }
  have_prev_ = true;
  prev_ = v;
  pos_ += width_;
  --left_;
  out.is_int = true;
  out.num = v;
  return Next::item;
}

// ---- zipmap ---------------------------------------------------------------------------------

const char* ZipmapReader::open(std::string_view blob) noexcept {
  blob_ = blob;
  pos_ = 1;
  pairs_ = 0;
  want_value_ = false;
  if (blob.size() < 2) return "zipmap shorter than its header";
  if (byte_at(blob, blob.size() - 1) != 0xff) return "zipmap does not end with 0xff";
  return nullptr;
}

bool ZipmapReader::read_len(std::size_t& len) noexcept {
  std::uint8_t b = byte_at(blob_, pos_);
  if (b < 254) {
    len = b;
    pos_ += 1;
    return true;
  }
  // Five bytes of length, and the end marker still after them.
  if (b == 255 || blob_.size() - pos_ < 6) return false;
  len = load_le32(blob_.data() + pos_ + 1);
  pos_ += 5;
  return true;
}

Next ZipmapReader::next(PackedItem& out) noexcept {
  out.is_int = false;
  if (pos_ >= blob_.size()) return fail("zipmap entry runs past the blob");
  if (!want_value_ && byte_at(blob_, pos_) == 0xff) {
    if (pos_ != blob_.size() - 1) return fail("zipmap end marker before the end of the blob");
    // The header count is exact below 254; 254 means "count by walking".
    std::uint8_t declared = byte_at(blob_, 0);
    if (pairs_ == 0) return fail("zipmap is empty");
    if (declared != 254 && declared != pairs_) return fail("zipmap entry count mismatch");
    return Next::end;
  }
  std::size_t len = 0;
  if (!read_len(len)) return fail("zipmap entry has an invalid length");
  std::size_t free = 0;
  if (want_value_) {
    if (pos_ >= blob_.size() - 1) return fail("zipmap entry runs past the blob");
    free = byte_at(blob_, pos_);
    pos_ += 1;
  }
  if (blob_.size() - 1 - pos_ < len || blob_.size() - 1 - pos_ - len < free)
    return fail("zipmap entry runs past the blob");
  out.str = {blob_.data() + pos_, len};
  pos_ += len + free;
  if (want_value_) ++pairs_;
  want_value_ = !want_value_;
  return Next::item;
}

}  // namespace redis_repl::core
