// RocksDB's CRC32C on the CPU's crc32 instruction (rocks_crc32c.cc says why and how).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rpfs::store {

// RPFS_CRC32C=rocksdb keeps the library's own (for comparisons, or should a RocksDB ever
// give Extend another meaning).
inline constexpr char kCrc32cEnv[] = "RPFS_CRC32C";

// Chooses the CRC32C every RocksDB checksum in this process runs on, once, before the first
// store opens (RocksStore::OpenRocks calls it; a call before it chooses on the spot).
// Returns its name: "sse4.2" (ours), or "rocksdb" (the library's own, where the CPU lacks
// SSE 4.2, the machine is not x86-64, or RPFS_CRC32C=rocksdb).
const char* InstallFastCrc32c();

// CRC32C of data extended from `crc` exactly as rocksdb::crc32c::Extend defines it (the
// Castagnoli polynomial, pre- and post-inverted), through whichever implementation
// InstallFastCrc32c chose. For tests.
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);

// For tests: every call of rocksdb::crc32c::Extend, RocksDB's own included, goes to `fn`
// until the next InstallFastCrc32c or swap. Returns the implementation it replaced.
using Crc32cFn = uint32_t (*)(uint32_t, const char*, size_t);
Crc32cFn SwapCrc32cForTest(Crc32cFn fn);

}  // namespace rpfs::store
