// RocksDB protects every blob record it writes or reads, and every table block, with a
// CRC32C. Debian builds RocksDB portable (without -msse4.2), so its crc32c::Extend is the
// table-driven one: 0.89 GB/s on this machine, about 1.2 s of CPU for each GiB a create
// stores and again for each GiB a read fetches (docs/performance.md, "CRC32C"). The
// crc32 instruction of SSE 4.2 does the same at several GB/s.
//
// Every call RocksDB 7.8 makes to crc32c::Extend goes through its PLT (37 call sites in
// Debian's librocksdb.so.7.8.3; Value() and the masked variants are inline wrappers of it),
// so a definition of that symbol in the executable takes all of them: the dynamic linker
// binds the library's calls to the first definition in the search order, the executable's,
// the way a malloc replacement works. The value is the same function of the same bytes
// (the Castagnoli polynomial, inverted before and after), so stores read and write exactly
// as before; rocks_crc32c_test checks it against the library's own on random buffers. Where
// the CPU has no SSE 4.2 the call goes on to the library's own definition (RTLD_NEXT). On
// other architectures nothing is replaced: RocksDB picks their CRC instructions itself.
#include "store/rocks_crc32c.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace rpfs::store {
namespace {

// The mangled name of rocksdb::crc32c::Extend(uint32_t, const char*, size_t).
constexpr char kRocksExtend[] = "_ZN7rocksdb6crc32c6ExtendEjPKcm";

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const char* data, size_t n) {
  uint64_t c = crc ^ 0xffffffffu;
  const char* p = data;
  // Byte steps up to an 8-byte boundary, then 8 bytes per instruction, then the tail.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(static_cast<uint32_t>(c), static_cast<uint8_t>(*p++));
    --n;
  }
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    c = _mm_crc32_u64(c, word);
  }
  for (; n > 0; --n) c = _mm_crc32_u8(static_cast<uint32_t>(c), static_cast<uint8_t>(*p++));
  return static_cast<uint32_t>(c) ^ 0xffffffffu;
}
#endif

// Bit by bit: only for a process where the library's definition cannot be found (RocksDB
// linked statically, which would not link with ours anyway). Correct, slow, never expected.
uint32_t ExtendBitwise(uint32_t crc, const char* data, size_t n) {
  uint32_t c = crc ^ 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= static_cast<uint8_t>(data[i]);
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

Crc32cFn LibraryExtend() {
  static const Crc32cFn library = [] {
    void* sym = ::dlsym(RTLD_NEXT, kRocksExtend);
    return sym != nullptr ? reinterpret_cast<Crc32cFn>(sym) : &ExtendBitwise;
  }();
  return library;
}

const char* Choose(Crc32cFn* fn) {
#if defined(__x86_64__)
  __builtin_cpu_init();  // we may run before constructors (a library's static init)
  const char* wanted = std::getenv(kCrc32cEnv);
  bool library_wanted = wanted != nullptr && std::strcmp(wanted, "rocksdb") == 0;
  if (!library_wanted && __builtin_cpu_supports("sse4.2")) {
    *fn = &ExtendSse42;
    return "sse4.2";
  }
#endif
  *fn = LibraryExtend();
  return "rocksdb";
}

uint32_t ChooseThenExtend(uint32_t crc, const char* data, size_t n);

// Relaxed is enough: every value it ever holds computes the same function.
std::atomic<Crc32cFn> g_extend{&ChooseThenExtend};

}  // namespace

const char* InstallFastCrc32c() {
  Crc32cFn fn = nullptr;
  const char* name = Choose(&fn);
  g_extend.store(fn, std::memory_order_relaxed);
  return name;
}

namespace {
uint32_t ChooseThenExtend(uint32_t crc, const char* data, size_t n) {
  InstallFastCrc32c();
  return g_extend.load(std::memory_order_relaxed)(crc, data, n);
}
}  // namespace

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n) {
  return g_extend.load(std::memory_order_relaxed)(crc, data, n);
}

Crc32cFn SwapCrc32cForTest(Crc32cFn fn) { return g_extend.exchange(fn); }

}  // namespace rpfs::store

#if defined(__x86_64__)
// The interposing definition (see the top of this file). It must keep RocksDB's exact
// signature: a different one would mangle to another name and simply not be called. It is
// in every executable that opens a store because RocksStore::OpenRocks calls
// InstallFastCrc32c, which pulls this object out of the static library; default visibility
// keeps it exported should the build ever hide symbols.
namespace rocksdb::crc32c {
__attribute__((visibility("default"))) uint32_t Extend(uint32_t init_crc, const char* buf,
                                                       size_t size) {
  return rpfs::store::Crc32cExtend(init_crc, buf, size);
}
}  // namespace rocksdb::crc32c
#endif
