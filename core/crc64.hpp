// core/crc64.hpp — CRC-64/Jones as Redis uses it for the RDB trailer and DUMP payloads.
//
// Reflected polynomial 0x95ac9329ac4bc9b5, initial value 0, no final xor; check value for
// "123456789" is 0xe9c6d914c4b8d9ca. Eight-table slicing, so a gigabyte costs well under a second.
#pragma once
#include <cstddef>
#include <cstdint>

namespace redis_repl::core {

std::uint64_t crc64(std::uint64_t crc, const void* data, std::size_t size) noexcept;

}  // namespace redis_repl::core
