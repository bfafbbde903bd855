// VkcsInput: Valkey 9.2's compressed RDB envelope ("VKCS", rdbcompression lz4), as described in
// valkey src/compression_stream.h at 21ee8c45 (8-byte envelope: magic, version 1, codec 1 = LZ4,
// flags bit 0 = block checksums, stream kind 0 = RDB) and src/compression_lz4.c (one LZ4 frame,
// 64 KiB independent blocks, block checksums per the flag). The frames here are made with
// liblz4's own encoder around a real Valkey 9.0.1 file and hand-made RDBs.
#include "core/codec/vkcs.hpp"

#include <doctest/doctest.h>
#include <lz4frame.h>

#include <string>
#include <vector>

#include "support/fixtures.hpp"
#include "support/rdb_builder.hpp"

namespace redis_repl::test {
namespace {

using core::Step;

std::string lz4_frame(std::string_view data, bool block_checksum,
                      LZ4F_blockSizeID_t block = LZ4F_max64KB) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = block;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.blockChecksumFlag =
      block_checksum ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
  std::string out(LZ4F_compressFrameBound(data.size(), &prefs), '\0');
  const std::size_t n =
      LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
  REQUIRE(!LZ4F_isError(n));
  out.resize(n);
  return out;
}

std::string envelope(std::string_view rdb, bool block_checksum = true) {
  std::string out = "VKCS";
  out.push_back(1);                       // version
  out.push_back(1);                       // LZ4
  out.push_back(block_checksum ? 1 : 0);  // flags
  out.push_back(0);                       // RDB
  return out + lz4_frame(rdb, block_checksum);
}

struct Result {
  Step step = Step::need_more;
  Error error;
  std::string log;
  std::string trailing;
};

// Feeds data in chunks (0: whole), going on after every stop, then finishes.
Result run(std::string_view data, std::size_t chunk) {
  RecordingVisitor v;
  core::RdbParser p(v);
  core::VkcsInput in(p);
  Result r;
  std::size_t pos = 0;
  while (pos < data.size() && r.step != Step::failed) {
    const std::size_t n = chunk ? std::min(chunk, data.size() - pos) : data.size();
    r.step = in.feed(data.substr(pos, n));
    while (r.step == Step::stopped) r.step = in.feed({});
    pos += n;
  }
  if (r.step != Step::failed) r.step = in.finish();
  r.error = in.error();
  r.log = v.log;
  r.trailing = std::string(p.trailing()) + std::string(in.trailing());
  return r;
}

}  // namespace

TEST_CASE("vkcs: a compressed Valkey file gives the events of the plain one, split anywhere") {
  SKIP_WITHOUT_CORPUS();
  const std::string plain =
      read_file(fixtures_dir() + "/public/hdt3213-rdb/valkey_hash2_with_hfe.rdb");
  const Result want = run(plain, 0);
  REQUIRE_MESSAGE(want.step == Step::done, want.error.message);
  for (const bool sums : {true, false}) {
    const std::string packed = envelope(plain, sums);
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
      CAPTURE(chunk);
      const Result r = run(packed, chunk);
      CHECK_MESSAGE(r.step == Step::done, r.error.message);
      CHECK(r.log == want.log);
      CHECK(r.trailing.empty());
    }
    for (std::size_t at = 1; at < packed.size(); ++at) {
      RecordingVisitor v;
      core::RdbParser p(v);
      core::VkcsInput in(p);
      Step s = in.feed(std::string_view(packed).substr(0, at));
      if (s != Step::failed) s = in.feed(std::string_view(packed).substr(at));
      if (s != Step::failed) s = in.finish();
      if (s != Step::done || v.log != want.log) {
        FAIL_CHECK("split at " << at << " differs");
        break;
      }
    }
  }
}

TEST_CASE("vkcs: plain input passes through unchanged, split anywhere") {
  const std::string plain = RdbBuilder(12).byte(0).str("k").str("v").finish();
  const Result want = run(plain, 0);
  REQUIRE(want.step == Step::done);
  for (std::size_t chunk = 1; chunk < plain.size(); ++chunk)
    CHECK(run(plain, chunk).log == want.log);
  // Shorter than the envelope: still the parser's own verdict.
  const Result tiny = run("VKC", 1);
  CHECK(tiny.step == Step::failed);
  CHECK(tiny.error.code == Errc::rdb_truncated);
  const Result other = run("REDIS00", 2);
  CHECK(other.error.code == Errc::rdb_truncated);
}

TEST_CASE("vkcs: large values are decompressed in pieces, and damage is a clean error") {
  // A 3 MB value in 64 KiB blocks, split into many reads.
  std::string big(3 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  const std::string plain = RdbBuilder::valkey(81).byte(0).str("big").str(big).finish();
  const std::string packed = envelope(plain);
  const Result r = run(packed, 4096);
  REQUIRE_MESSAGE(r.step == Step::done, r.error.message);
  CHECK(r.log == run(plain, 4096).log);  // the same events as the plain file
  CHECK(r.log.find("STREAMED STRING SIZE") == std::string::npos);
  CHECK(r.log.size() > big.size());

  // 4 MiB blocks (the largest LZ4 has; Valkey writes 64 KiB ones), linked, with a content
  // checksum: a block is handed out in several pieces, whole or in small reads.
  LZ4F_preferences_t big_blocks{};
  big_blocks.frameInfo.blockSizeID = LZ4F_max4MB;
  big_blocks.frameInfo.blockMode = LZ4F_blockLinked;
  big_blocks.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  std::string framed(LZ4F_compressFrameBound(plain.size(), &big_blocks), '\0');
  const std::size_t fn =
      LZ4F_compressFrame(framed.data(), framed.size(), plain.data(), plain.size(), &big_blocks);
  REQUIRE(!LZ4F_isError(fn));
  framed.resize(fn);
  const std::string packed4 = std::string("VKCS\x01\x01\x00\x00", 8) + framed;
  for (std::size_t chunk : {std::size_t{0}, std::size_t{4096}, std::size_t{100000}}) {
    CAPTURE(chunk);
    const Result r4 = run(packed4, chunk);
    CHECK_MESSAGE(r4.step == Step::done, r4.error.message);
    CHECK(r4.log == r.log);
  }

  // Cut short: inside the RDB, or after it but inside the frame.
  const Result cut = run(std::string_view(packed).substr(0, packed.size() / 2), 1000);
  CHECK(cut.step == Step::failed);
  CHECK(cut.error.code == Errc::rdb_truncated);
  const Result end_cut = run(std::string_view(packed).substr(0, packed.size() - 2), 1000);
  CHECK(end_cut.step == Step::failed);
  CHECK(end_cut.error.code == Errc::rdb_truncated);

  // A flipped byte in a block with checksums: the frame says so.
  std::string bad = packed;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x40);
  const Result flipped = run(bad, 4096);
  CHECK(flipped.step == Step::failed);
  CHECK((flipped.error.code == Errc::rdb_corrupt));

  // Bytes after the frame are trailing, not data.
  const Result extra = run(envelope(RdbBuilder::valkey(80).finish()) + "junk", 5);
  CHECK(extra.step == Step::done);
  CHECK(extra.trailing == "junk");
}

TEST_CASE("vkcs: envelopes this build does not read are refused, with the byte") {
  struct Case {
    std::string bytes;
    Errc code;
    std::string message;
    std::uint64_t offset;
  };
  const Case cases[] = {
      {std::string("VKCS\x02\x01\x00\x00", 8), Errc::rdb_unsupported,
       "compressed RDB envelope version 2 (1 is read)", 4},
      {std::string("VKCS\x01\x02\x00\x00", 8), Errc::rdb_unsupported,
       "compressed RDB envelope with codec 2 (1, LZ4, is read)", 5},
      {std::string("VKCS\x01\x01\x04\x00", 8), Errc::rdb_unsupported,
       "compressed RDB envelope with unknown flags 4", 6},
      {std::string("VKCS\x01\x01\x00\x01", 8), Errc::rdb_unsupported,
       "compressed envelope of stream kind 1, not an RDB (kind 0)", 7},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    const Result r = run(c.bytes, 1);
    CHECK(r.step == Step::failed);
    CHECK(r.error.code == c.code);
    CHECK(r.error.message == c.message);
    CHECK(r.error.offset == c.offset);
  }
  const Result garbage = run(std::string("VKCS\x01\x01\x00\x00", 8) + "not an lz4 frame", 3);
  CHECK(garbage.step == Step::failed);
  CHECK(garbage.error.code == Errc::rdb_corrupt);
  CHECK(garbage.error.message.starts_with("LZ4 frame: "));
}

}  // namespace redis_repl::test
