// RocksDB's checksums on the crc32 instruction (src/store/rocks_crc32c.cc): the same
// values as the library's own, so every store reads as before, and the library's own calls
// really bind to ours.
#include "store/rocks_crc32c.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "format/chunk_codec.h"
#include "store/store.h"
#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "util/hash.h"

namespace rocksdb::crc32c {
uint32_t Extend(uint32_t init_crc, const char* buf, size_t size);
}  // namespace rocksdb::crc32c

namespace rpfs::store {
namespace {

constexpr char kRocksExtend[] = "_ZN7rocksdb6crc32c6ExtendEjPKcm";

// The definition inside librocksdb.so, the one ours stands in for.
Crc32cFn LibraryOwn() { return reinterpret_cast<Crc32cFn>(::dlsym(RTLD_NEXT, kRocksExtend)); }

uint32_t Crc(const std::string& s) { return Crc32cExtend(0, s.data(), s.size()); }

TEST(RocksCrc32cTest, GivesTheCastagnoliValuesOfRfc3720) {
  InstallFastCrc32c();
  EXPECT_EQ(Crc(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Crc(std::string(32, '\xff')), 0x62a8ab43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc(ascending), 0x46dd794eu);
  EXPECT_EQ(Crc("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc(""), 0u);
}

TEST(RocksCrc32cTest, EqualsTheLibrarysOwnAtEveryLengthAlignmentAndSplit) {
  InstallFastCrc32c();
  Crc32cFn own = LibraryOwn();
  ASSERT_NE(own, nullptr) << "librocksdb's crc32c::Extend not found";
  std::mt19937_64 rng(7);
  std::vector<char> buf(1 << 20);
  for (char& c : buf) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n < 300; ++n) {
      ASSERT_EQ(Crc32cExtend(0, buf.data() + offset, n), own(0, buf.data() + offset, n))
          << "offset " << offset << " length " << n;
    }
  }
  uint32_t whole = Crc32cExtend(0, buf.data(), buf.size());
  EXPECT_EQ(whole, own(0, buf.data(), buf.size()));
  for (size_t split : {size_t{1}, size_t{7}, size_t{4096}, size_t{65537}}) {
    uint32_t first = Crc32cExtend(0, buf.data(), split);
    EXPECT_EQ(Crc32cExtend(first, buf.data() + split, buf.size() - split), whole) << split;
  }
  // A non-zero start value as RocksDB passes it when it extends a record header's CRC.
  EXPECT_EQ(Crc32cExtend(0xdeadbeef, buf.data() + 3, 1000), own(0xdeadbeef, buf.data() + 3, 1000));
}

TEST(RocksCrc32cTest, TheLibrarysOwnCallsBindToTheInstructionVersion) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "only x86-64 replaces RocksDB's CRC32C";
#else
  ASSERT_EQ(::unsetenv(kCrc32cEnv), 0);
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("sse4.2")) GTEST_SKIP() << "this CPU has no SSE 4.2";
  EXPECT_STREQ(InstallFastCrc32c(), "sse4.2");
  // librocksdb.so calls Extend through its PLT, which binds to the first definition in the
  // global search order: the executable's, if the link exported it.
  void* global = ::dlsym(RTLD_DEFAULT, kRocksExtend);
  ASSERT_NE(global, nullptr);
  EXPECT_EQ(global, reinterpret_cast<void*>(&rocksdb::crc32c::Extend));
  EXPECT_NE(global, reinterpret_cast<void*>(LibraryOwn()));
#endif
}

// What RocksDB itself checksums while a store is written and read reaches our Extend: a
// RocksDB that stopped calling through its PLT would leave the count at zero.
std::atomic<uint64_t> g_counted_calls{0};
Crc32cFn g_counted_next = nullptr;
uint32_t CountingExtend(uint32_t crc, const char* data, size_t n) {
  g_counted_calls.fetch_add(1, std::memory_order_relaxed);
  return g_counted_next(crc, data, n);
}

TEST(RocksCrc32cTest, RocksDbsOwnChecksumsComeThroughOurs) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "only x86-64 replaces RocksDB's CRC32C";
#else
  testing::TempDir dir;
  auto store = Store::Init(dir / "store", format::StoreConfig{});
  ASSERT_OK(store);
  g_counted_next = SwapCrc32cForTest(&CountingExtend);
  auto raw = testing::PatternBytes(7, 64 * 1024);
  std::string body;
  format::ChunkEncoder(3).Encode(raw, &body);
  ObjectId id{format::ObjectKind::kChunk, Sha256(raw)};
  auto tx = (*store)->BeginTx("crc");
  ASSERT_OK(tx);
  ASSERT_OK((*tx)->PutObject(id, body, raw.size()));
  Mutation m;
  m.AddRef(id, 1);
  ASSERT_OK((*tx)->Commit(m));  // flushes: blob records and table blocks get their CRCs
  uint64_t after_write = g_counted_calls.load();
  auto read = (*store)->GetObjectBody(id);
  SwapCrc32cForTest(g_counted_next);
  ASSERT_OK(read);
  EXPECT_EQ(*read, body);
  EXPECT_GT(after_write, 0u) << "RocksDB computed no checksum through rocksdb::crc32c::Extend";
  EXPECT_GT(g_counted_calls.load(), after_write) << "the read checked no CRC through ours";
#endif
}

TEST(RocksCrc32cTest, TheEnvironmentCanKeepTheLibrarysOwn) {
  ASSERT_EQ(::setenv(kCrc32cEnv, "rocksdb", 1), 0);
  EXPECT_STREQ(InstallFastCrc32c(), "rocksdb");
  EXPECT_EQ(Crc("123456789"), 0xe3069283u);  // now computed by the library
  ASSERT_EQ(::unsetenv(kCrc32cEnv), 0);
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) {
    EXPECT_STREQ(InstallFastCrc32c(), "sse4.2");
  }
#endif
  InstallFastCrc32c();
}

}  // namespace
}  // namespace rpfs::store
