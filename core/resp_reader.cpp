#include "core/resp_reader.hpp"

#include <algorithm>
#include <cstring>

#include "core/bytes.hpp"

namespace redis_repl::core {
namespace {

constexpr std::size_t max_line = 64 * 1024;  // status/error/header lines

// A signed decimal that fills s exactly.
bool parse_int(std::string_view s, std::int64_t& out) { return parse_decimal(s, out); }

// For messages: at most 60 bytes, the line's own CR/LF dropped, anything unprintable as '?'.
std::string printable(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  std::string out;
  for (char c : s.substr(0, 60)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

// ---- RespReader -----------------------------------------------------------------------------

ReadStatus RespReader::fail(std::string message) {
  failed_ = true;
  error_ = Error{Errc::protocol, std::move(message), offset_};
  return ReadStatus::failed;
}

// What was consumed is dropped before more is added, so a peer sending line after line (keep-alive
// newlines) costs no memory however long it goes on.
void RespReader::feed(std::string_view bytes) {
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  } else if (head_ > max_line) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  buf_.append(bytes);
}

ReadStatus RespReader::next(Reply& out) {
  if (failed_) return ReadStatus::failed;
  std::size_t pos = head_;
  const ReadStatus s = parse(pos, out, 0);
  if (s != ReadStatus::ok) return s;
  out.size = pos - head_;
  offset_ += out.size;
  head_ = pos;
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  }
  return ReadStatus::ok;
}

ReadStatus RespReader::next_line(std::string& out, std::uint64_t& size) {
  if (failed_) return ReadStatus::failed;
  const std::size_t nl = buf_.find('\n', head_);
  if (nl == std::string::npos) {
    if (buf_.size() - head_ > max_line) return fail("reply line longer than 64 KB");
    return ReadStatus::need_more;
  }
  // The same limit whether the line came whole or in pieces.
  if (nl - head_ > max_line) return fail("reply line longer than 64 KB");
  std::size_t end = nl;
  if (end > head_ && buf_[end - 1] == '\r') --end;
  out.assign(buf_, head_, end - head_);
  size = nl + 1 - head_;
  offset_ += size;
  head_ = nl + 1;
  return ReadStatus::ok;
}

std::string RespReader::take_buffered() {
  std::string rest = buf_.substr(head_);
  buf_.clear();
  head_ = 0;
  return rest;
}

ReadStatus RespReader::parse(std::size_t& pos, Reply& out, int depth) {
  if (depth > limits_.max_depth)
    return fail("reply nested deeper than " + std::to_string(limits_.max_depth));
  const std::size_t nl = buf_.find('\n', pos);
  if (nl == std::string::npos) {
    if (buf_.size() - pos > max_line) return fail("reply line longer than 64 KB");
    return ReadStatus::need_more;
  }
  if (nl - pos > max_line) return fail("reply line longer than 64 KB");
  if (nl == pos || buf_[nl - 1] != '\r') return fail("reply line does not end with CRLF");
  const char type = buf_[pos];
  const std::string_view line(buf_.data() + pos + 1, nl - 1 - pos - 1);
  std::size_t after = nl + 1;
  std::int64_t n = 0;
  out.elements.clear();
  out.str.clear();
  switch (type) {
    case '+':
    case '-':
      out.type = type == '+' ? Reply::Type::status : Reply::Type::error;
      out.str.assign(line);
      break;
    case ':':
      if (!parse_int(line, n)) return fail("bad integer reply '" + printable(line) + "'");
      out.type = Reply::Type::integer;
      out.integer = n;
      break;
    case '$':
      if (!parse_int(line, n) || n < -1) return fail("bad bulk length '" + printable(line) + "'");
      if (n == -1) {
        out.type = Reply::Type::nil;
        break;
      }
      if (static_cast<std::uint64_t>(n) > limits_.max_bulk)
        return fail("bulk string of " + std::to_string(n) + " bytes is over the limit");
      if (buf_.size() - after < static_cast<std::size_t>(n) + 2) return ReadStatus::need_more;
      if (buf_.compare(after + static_cast<std::size_t>(n), 2, "\r\n") != 0)
        return fail("bulk string not followed by CRLF");
      out.type = Reply::Type::bulk;
      out.str.assign(buf_, after, static_cast<std::size_t>(n));
      after += static_cast<std::size_t>(n) + 2;
      break;
    case '*': {
      if (!parse_int(line, n) || n < -1) return fail("bad array length '" + printable(line) + "'");
      if (n == -1) {
        out.type = Reply::Type::nil;
        break;
      }
      if (static_cast<std::uint64_t>(n) > limits_.max_elements)
        return fail("array of " + std::to_string(n) + " elements is over the limit");
      out.type = Reply::Type::array;
      // Grown element by element: a header alone ("*16777216") must not allocate for all of
      // them. Each element takes at least 3 bytes, so the bytes at hand bound the reservation.
      out.elements.reserve(std::min(static_cast<std::size_t>(n), (buf_.size() - after) / 3));
      for (std::int64_t i = 0; i < n; ++i) {
        const ReadStatus s = parse(after, out.elements.emplace_back(), depth + 1);
        if (s != ReadStatus::ok) return s;
      }
      break;
    }
    default:
      return fail("unexpected reply '" + printable(std::string_view(buf_).substr(pos, nl - pos)) +
                  "'");
  }
  pos = after;
  return ReadStatus::ok;
}

// ---- CommandReader --------------------------------------------------------------------------

void CommandReader::feed(std::string_view bytes) {
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  } else if (head_ > (1u << 20) && head_ > buf_.size() / 2) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  buf_.append(bytes);
}

ReadStatus CommandReader::fail(std::string message, std::size_t at) {
  failed_ = true;
  error_ = Error{Errc::protocol, std::move(message), consumed_ + (at - head_)};
  return ReadStatus::failed;
}

ReadStatus CommandReader::next(StreamCommand& out) {
  if (failed_) return ReadStatus::failed;
  const std::size_t have = buf_.size() - head_;
  if (have == 0 || have < want_) return ReadStatus::need_more;
  out.args.clear();
  const char* const base = buf_.data();
  std::size_t pos = head_;
  // A bare newline: a master may send them, they count in the offset like any byte.
  if (base[pos] == '\n' || base[pos] == '\r') {
    if (base[pos] == '\r') {
      if (have < 2) return ReadStatus::need_more;
      if (base[pos + 1] != '\n')
        return fail("stray carriage return in the replication stream", pos);
      out.size = 2;
    } else {
      out.size = 1;
    }
    head_ += out.size;
    consumed_ += out.size;
    want_ = 0;
    return ReadStatus::ok;
  }
  if (base[pos] != '*') {
    const std::size_t nl = buf_.find('\n', pos);
    return fail(
        "inline data in the replication stream (desync?): '" +
            printable(std::string_view(buf_).substr(pos, nl == std::string::npos ? 40 : nl - pos)) +
            "'",
        pos);
  }
  // Reads "<prefix><int>\r\n" at pos.
  auto header = [&](char prefix, std::int64_t& n) -> ReadStatus {
    const char* nl = static_cast<const char*>(std::memchr(base + pos, '\n', buf_.size() - pos));
    if (!nl) {
      if (buf_.size() - pos > 32) return fail("length line too long", pos);
      want_ = buf_.size() - head_ + 1;
      return ReadStatus::need_more;
    }
    const std::size_t end = static_cast<std::size_t>(nl - base);
    // The same limit whether the line came whole or in pieces.
    if (end - pos > 32) return fail("length line too long", pos);
    if (base[pos] != prefix || end < pos + 2 || base[end - 1] != '\r' ||
        !parse_int(std::string_view(base + pos + 1, end - 1 - pos - 1), n))
      return fail(std::string("bad ") + (prefix == '*' ? "array" : "bulk") + " header '" +
                      printable(std::string_view(base + pos, end - pos)) + "'",
                  pos);
    pos = end + 1;
    return ReadStatus::ok;
  };
  std::int64_t count = 0;
  ReadStatus s = header('*', count);
  if (s != ReadStatus::ok) return s;
  if (count < 1 || static_cast<std::uint64_t>(count) > limits_.max_elements)
    return fail("command with " + std::to_string(count) + " arguments", head_);
  for (std::int64_t i = 0; i < count; ++i) {
    if (pos >= buf_.size()) {
      want_ = pos - head_ + 1;
      return ReadStatus::need_more;
    }
    const std::size_t at = pos;
    std::int64_t len = 0;
    if ((s = header('$', len)) != ReadStatus::ok) return s;
    if (len < 0 || static_cast<std::uint64_t>(len) > limits_.max_bulk)
      return fail("argument of " + std::to_string(len) + " bytes", at);
    const std::size_t ulen = static_cast<std::size_t>(len);
    if (buf_.size() - pos < ulen + 2) {
      want_ = pos - head_ + ulen + 2;
      return ReadStatus::need_more;
    }
    if (base[pos + ulen] != '\r' || base[pos + ulen + 1] != '\n')
      return fail("argument not followed by CRLF", pos + ulen);
    out.args.emplace_back(base + pos, ulen);
    pos += ulen + 2;
  }
  out.size = pos - head_;
  consumed_ += out.size;
  head_ = pos;
  want_ = 0;
  return ReadStatus::ok;
}

}  // namespace redis_repl::core
