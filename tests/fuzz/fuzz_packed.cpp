// Fuzz target: the compact blob readers (listpack, ziplist, intset, zipmap). The first byte picks
// the reader; the rest is the blob, so it ends exactly where the fuzzer's buffer ends and any read
// past it is caught. Every entry a reader hands out must lie inside the blob, and a walk must
// end (each entry takes at least one byte).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/rdb_packed.hpp"
#include "fuzz_support.hpp"

namespace {

using redis_repl::core::Next;
using redis_repl::core::PackedItem;
namespace fz = redis_repl::fuzz;

volatile std::uint64_t sink;

template <class Reader>
void walk(std::string_view blob) {
  Reader reader;
  if (const char* e = reader.open(blob)) {
    FUZZ_CHECK(*e != '\0');
    return;
  }
  std::size_t items = 0;
  std::uint64_t h = 0;
  for (;;) {
    PackedItem item;
    const Next n = reader.next(item);
    if (n == Next::end) break;
    if (n == Next::error) {
      FUZZ_CHECK(reader.error() != nullptr && *reader.error() != '\0');
      return;
    }
    ++items;
    FUZZ_CHECK(items <= blob.size());
    if (!item.is_int) {
      // The view must lie within the blob; reading it all lets the sanitizer check the bytes.
      FUZZ_CHECK(item.str.data() >= blob.data() && item.str.size() <= blob.size() &&
                 item.str.data() - blob.data() <=
                     static_cast<std::ptrdiff_t>(blob.size() - item.str.size()));
      h ^= fz::hash_bytes(item.str);
    } else {
      h ^= static_cast<std::uint64_t>(item.num);
    }
  }
  if constexpr (requires { reader.count(); }) FUZZ_CHECK(reader.count() == items);
  sink = h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view blob(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] & 3) {
    case 0:
      walk<redis_repl::core::ListpackReader>(blob);
      break;
    case 1:
      walk<redis_repl::core::ZiplistReader>(blob);
      break;
    case 2:
      walk<redis_repl::core::IntsetReader>(blob);
      break;
    default:
      walk<redis_repl::core::ZipmapReader>(blob);
      break;
  }
  return 0;
}
