// Long string values in bounded memory: the LZF window decoder, the parser handing a value out
// in pieces, the piecewise UTF-8 check and base64, and every format writing such a value exactly
// as it writes a short one.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/lzf.hpp"
#include "core/rdb_filter.hpp"
#include "core/rdb_parser.hpp"
#include "formats/sink.hpp"
#include "formats/text_encoding.hpp"
#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"

namespace redis_repl::test {
namespace {

using core::RdbLimits;
using core::Step;

// Bytes that compress in every way LZF can: long runs (references far longer than the 8 KiB
// history, overlapping themselves), repeats at every distance, and incompressible stretches.
std::string compressible(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) {
    switch (rng() % 4) {
      case 0:
        s.append(rng() % 5000, static_cast<char>(rng()));
        break;
      case 1:
        for (std::size_t i = rng() % 300; i > 0; --i) s.push_back(static_cast<char>(rng()));
        break;
      default:
        if (!s.empty()) {
          const std::size_t back = 1 + rng() % std::min<std::size_t>(s.size(), 9000);
          const std::size_t len = rng() % 600;
          for (std::size_t i = 0; i < len; ++i) s.push_back(s[s.size() - back]);
        }
    }
  }
  s.resize(n);
  return s;
}

// Decodes packed with LzfStream, pieces cut by rng, the window small so that it turns over often.
std::string stream_decode(std::string_view packed, std::size_t out_size, std::mt19937_64& rng,
                          const char*& error) {
  core::LzfStream z(512);
  z.reset(out_size);
  std::string out, held;
  std::size_t at = 0;
  error = nullptr;
  while (at < packed.size() || !held.empty()) {
    const std::size_t piece = std::min<std::size_t>(packed.size() - at, 1 + rng() % 97);
    held.append(packed.substr(at, piece));
    at += piece;
    const std::size_t used = z.decode(held);
    out.append(z.take());
    if ((error = z.error())) return out;
    held.erase(0, used);
    if (used == 0 && at == packed.size() && z.need() > held.size()) break;  // cut token
    if (used == 0 && at == packed.size() && held.empty()) break;
  }
  if (!z.complete() && !error) error = "incomplete";
  return out;
}

}  // namespace

TEST_CASE("lzf: the window decoder gives what the whole decoder gives, cut anywhere") {
  std::mt19937_64 rng(7);
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const std::string data = compressible(seed == 1 ? 600'000 : 40'000 + seed * 3001, seed);
    const std::string packed = lzf_compress(data);
    REQUIRE(packed.size() < data.size());
    std::string whole(data.size(), '\0');
    REQUIRE(core::lzf_decompress(packed, whole.data(), whole.size()) == nullptr);
    REQUIRE(whole == data);  // the test compressor is right
    const char* error = nullptr;
    CHECK(stream_decode(packed, data.size(), rng, error) == data);
    CHECK(error == nullptr);
  }
}

TEST_CASE("lzf: the window decoder rejects what the whole decoder rejects") {
  std::mt19937_64 rng(11);
  const std::string data = compressible(30'000, 3);
  const std::string packed = lzf_compress(data);
  int rejected = 0;
  for (int round = 0; round < 400; ++round) {
    std::string bad = packed;
    std::size_t out_size = data.size();
    switch (round % 3) {
      case 0:
        bad[rng() % bad.size()] = static_cast<char>(rng());
        break;
      case 1:
        bad.resize(rng() % bad.size());
        break;
      default:
        if (rng() % 2) {
          out_size += 1 + rng() % 40;
        } else {
          out_size -= 1 + rng() % 40;
        }
    }
    std::string whole(out_size, '\0');
    const char* whole_error = core::lzf_decompress(bad, whole.data(), out_size);
    const char* stream_error = nullptr;
    const std::string streamed = stream_decode(bad, out_size, rng, stream_error);
    CAPTURE(round);
    CHECK((whole_error == nullptr) == (stream_error == nullptr));
    if (!whole_error && !stream_error) CHECK(streamed == whole);
    rejected += whole_error != nullptr;
  }
  CHECK(rejected > 250);
}

TEST_CASE("text: UTF-8 checked piece by piece agrees with the whole check at every cut") {
  const std::vector<std::string> cases = {
      "plain ascii",
      "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e end",
      "\xc3",
      "ab\xe2\x82",
      "\xed\xa0\x80",
      "\xf4\x90\x80\x80",
      "\xc0\x80",
      "\x80\x61\x62",
      "\xe2\x82\xac\xe2\x82",
      "\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e",
      "x\xff",
      "\xe2\x28\xa1",
  };
  for (const std::string& s : cases) {
    CAPTURE(s);
    const bool expect = formats::utf8_valid(s);
    for (std::size_t a = 0; a <= s.size(); ++a) {
      for (std::size_t b = a; b <= s.size(); ++b) {
        formats::Utf8Checker c;
        c.feed(s.substr(0, a));
        c.feed(s.substr(a, b - a));
        c.feed(s.substr(b));
        CHECK(c.valid() == expect);
      }
    }
  }
}

TEST_CASE("text: base64 piece by piece is the same text at every cut") {
  const std::string s = "\x00\x01\x02 any bytes \xff\xfe at all, 31 of them";
  std::string expect;
  formats::append_base64(expect, s);
  for (std::size_t a = 0; a <= s.size(); ++a) {
    for (std::size_t b = a; b <= s.size(); ++b) {
      std::string out;
      formats::Base64Stream b64;
      b64.add(out, s.substr(0, a));
      b64.add(out, s.substr(a, b - a));
      b64.add(out, s.substr(b));
      b64.finish(out);
      CHECK(out == expect);
    }
  }
}

TEST_CASE("rdb_parser: values handed out in pieces log as whole values, at every split point") {
  SKIP_WITHOUT_CORPUS();
  RdbLimits streaming;
  streaming.stream_string_over = 0;  // every string value that is not an integer
  std::uint64_t streamed = 0;
  int files = 0;
  for (const std::string& f : all_rdb_fixtures()) {
    const std::string data = read_file(fixtures_dir() + "/" + f);
    if (data.size() > 65536) continue;
    CAPTURE(f);
    ++files;
    const ParseResult whole = parse_split(data, {});
    const ParseResult r = parse_chunked(data, 1, streaming);
    CHECK(r.log == whole.log);
    CHECK(r.error.message == whole.error.message);
    streamed += r.streamed;
    if (data.size() > 700) continue;
    for (std::size_t at = 1; at < data.size(); ++at) {
      const ParseResult s = parse_split(data, {at}, streaming);
      if (s.log != whole.log || s.step != whole.step) {
        FAIL_CHECK("split at " << at << " differs");
        break;
      }
    }
  }
  if (files == 0) {
    MESSAGE("skipped: no RDB corpus beside this checkout");
    return;
  }
  CHECK(streamed > 300);
}

namespace {

// An RDB with long values: raw and LZF, text (with characters JSON escapes) and binary.
struct LongValues {
  std::string text, binary, packed_text, packed_binary, rdb;
};

LongValues long_values() {
  LongValues v;
  std::mt19937_64 rng(5);
  const std::string piece = "caf\xc3\xa9 \"quoted\" \\ line\n \xe2\x82\xac\xf0\x9d\x84\x9e\t";
  while (v.text.size() < 1'500'000) v.text += piece + std::to_string(rng() % 1000);
  for (int i = 0; i < 1'200'000; ++i) v.binary.push_back(static_cast<char>(rng()));
  v.packed_text = v.text.substr(0, 1'300'000) + "tail";
  v.packed_binary = compressible(2'100'000, 9);
  v.rdb = RdbBuilder(10)
              .byte(0)
              .str("text")
              .str(v.text)
              .byte(0)
              .str("binary")
              .str(v.binary)
              .byte(0)
              .str("packed_text")
              .lzf_str(v.packed_text)
              .byte(0)
              .str("packed_binary")
              .lzf_str(v.packed_binary)
              .finish();
  return v;
}

std::string render(std::string_view data, formats::Format f, std::size_t chunk,
                   const core::KeyFilter& filter = {}) {
  std::string out;
  formats::OutBuffer buf(&out);
  auto sink = formats::make_sink(f, buf);
  core::FilterVisitor fv(filter, *sink);
  core::RdbParser p(fv);
  Step step = Step::need_more;
  for (std::size_t at = 0; at < data.size() && step == Step::need_more; at += chunk)
    step = p.feed(data.substr(at, chunk));
  REQUIRE(step == Step::done);
  buf.flush();
  return out;
}

}  // namespace

TEST_CASE("rdb_parser: a long value never sits in the parser's buffer, and skipping it is free") {
  const LongValues v = long_values();
  struct Sizes : RecordingVisitor {
    std::size_t biggest_piece = 0;
    core::Flow on_string_chunk(std::string_view part) override {
      biggest_piece = std::max(biggest_piece, part.size());
      return RecordingVisitor::on_string_chunk(part);
    }
  } rec;
  core::RdbParser p(rec);
  std::size_t max_buffered = 0;
  for (std::size_t at = 0; at < v.rdb.size(); at += 65536) {
    const Step s = p.feed(std::string_view(v.rdb).substr(at, 65536));
    max_buffered = std::max(max_buffered, p.buffered());
    if (s == Step::done) break;
  }
  CHECK(p.feed({}) == Step::done);
  CHECK(rec.streamed_strings == 4);
  CHECK(max_buffered < 64);             // an LZF token at most; never the value
  CHECK(rec.biggest_piece <= 280'000);  // the decoder's window, never the value
  CHECK(rec.log.find("STREAMED STRING SIZE") == std::string::npos);
  CHECK(rec.log == parse_split(v.rdb, {},
                               [] {
                                 RdbLimits l;
                                 l.stream_string_over = ~0ULL;  // the same values handed out whole
                                 return l;
                               }())
                       .log);

  // A key the filter rejects gets no pieces at all.
  struct Counter : core::RdbVisitor {
    int pieces = 0;
    core::Flow on_string_chunk(std::string_view) override {
      ++pieces;
      return core::Flow::next;
    }
  } counter;
  core::KeyFilter none;
  none.globs = {"no-such-key"};
  core::FilterVisitor fv(none, counter);
  core::RdbParser q(fv);
  CHECK(q.feed(v.rdb) == Step::done);
  CHECK(counter.pieces == 0);
}

TEST_CASE("rdb_parser: a long value cut short or corrupt is a clean error with its offset") {
  const std::string data = long_values().rdb;
  // Cut inside the raw value, then inside the compressed one.
  for (std::size_t cut : {std::size_t{700'000}, data.size() - 400'000}) {
    const ParseResult r = parse_chunked(std::string_view(data).substr(0, cut), 65536);
    CHECK(r.step == Step::failed);
    CHECK(r.error.code == Errc::rdb_truncated);
  }
  // A back reference before the start of the compressed output.
  const std::string bad = RdbBuilder(10)
                              .byte(0)
                              .str("k")
                              .byte(0xc3)
                              .len(3)
                              .len(2'000'000)
                              .raw(std::string("\x20\x05\x00", 3))
                              .finish();
  const ParseResult r = parse_chunked(bad, 2);
  CHECK(r.step == Step::failed);
  CHECK(r.error.code == Errc::rdb_corrupt);
  CHECK(r.error.message == "LZF back reference before the start of the output");
  CHECK(r.error.offset == 9 + 1 + 2 + 1 + 1 + 5);  // header, type, key, 0xc3, clen, ulen
  // Compressed bytes that end before the declared length.
  const std::string shorter =
      RdbBuilder(10).byte(0).str("k").byte(0xc3).len(3).len(2'000'000).raw("\x01xy").finish();
  const ParseResult s = parse_chunked(shorter, 1);
  CHECK(s.error.message == "LZF output shorter than declared");
}

TEST_CASE("formats: a long value is written exactly as a short one would be") {
  const LongValues v = long_values();
  for (std::size_t chunk : {std::size_t{4096}, std::size_t{1} << 20}) {
    CAPTURE(chunk);
    // JSON: the same string, or base64 of the same bytes, parsed back.
    const std::vector<std::string> lines = [&] {
      std::vector<std::string> out;
      const std::string all = render(v.rdb, formats::Format::json, chunk);
      for (std::size_t at = 0; at < all.size();) {
        const std::size_t nl = all.find('\n', at);
        out.push_back(all.substr(at, nl - at));
        at = nl + 1;
      }
      return out;
    }();
    std::map<std::string, nlohmann::json> keys;
    for (const std::string& l : lines) {
      const auto j = nlohmann::json::parse(l);
      if (j["kind"] == "key") keys[j["key"].get<std::string>()] = j["value"];
    }
    REQUIRE(keys.size() == 4);
    CHECK(keys["text"].get<std::string>() == v.text);
    CHECK(keys["packed_text"].get<std::string>() == v.packed_text);
    CHECK(base64_decode(keys["binary"]["base64"].get<std::string>()) == v.binary);
    CHECK(base64_decode(keys["packed_binary"]["base64"].get<std::string>()) == v.packed_binary);
    // The text itself: what the writer gives for the same value held whole.
    std::string expect;
    formats::append_json_quoted(expect, v.text);
    CHECK(lines[1].find(expect) != std::string::npos);

    // RESP: SET with the whole value as one bulk string.
    const std::string resp = render(v.rdb, formats::Format::resp, chunk);
    for (const auto& [key, value] : {std::pair{std::string("text"), v.text},
                                     {"binary", v.binary},
                                     {"packed_text", v.packed_text},
                                     {"packed_binary", v.packed_binary}}) {
      const std::string set = "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key +
                              "\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
      CHECK(resp.find(set) != std::string::npos);
    }

    // Human: redis-cli quoting of the whole value.
    const std::string human = render(v.rdb, formats::Format::human, chunk);
    std::string quoted;
    formats::append_repr(quoted, v.packed_binary);
    CHECK(human.find(quoted) != std::string::npos);
  }
}

}  // namespace redis_repl::test
