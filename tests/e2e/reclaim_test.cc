// Space comes back: pruning half of 20 RPs of a 1 GiB disk frees at least 80 % of what the
// dry run predicted by the time the prune returns, without `rpfs compact` (what it frees is
// over a quarter of the store, which triggers the reclaim); the rest export identical.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <random>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

uint64_t stdfs_size(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Incompressible bytes: what each RP adds is stored at its full size.
std::vector<std::byte> RandomBytes(std::mt19937_64* rng, size_t n) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = (*rng)();
    std::memcpy(v.data() + i, &x, std::min<size_t>(8, n - i));
  }
  return v;
}

constexpr uint64_t kDataEnd = 128ull << 20;  // every byte past this is a hole

// SHA-256 of the data region, and a check that nothing follows it.
std::string Digest(const std::string& path) {
  auto r = RunCommand(
      {"bash", "-c", "head -c " + std::to_string(kDataEnd) + " '" + path + "' | sha256sum"});
  int fd = ::open(path.c_str(), O_RDONLY);
  off_t more = ::lseek(fd, static_cast<off_t>(kDataEnd), SEEK_DATA);
  ::close(fd);
  return r.out.substr(0, 64) + (more < 0 ? "" : " +data past the end");
}

TEST(ReclaimTest, PruningHalfOfTwentyRpsReturnsThePredictedSpace) {
  TempDir dir;
  std::string store = dir / "store";
  std::string img = dir / "vda.raw";
  auto R = [&](const std::vector<std::string>& args) { return Rpfs(store, args); };
  MakeSparseFile(img, 1ull << 30);
  std::mt19937_64 rng(7);
  auto random_bytes = [&](size_t n) { return RandomBytes(&rng, n); };
  WriteAt(img, 32 << 20, random_bytes(kDataEnd - (32 << 20)));  // shared by every RP
  ASSERT_EQ(R({"init"}).exit_code, 0);
  ASSERT_EQ(R({"vm", "add", "vm", "--disk", "vda=" + img}).exit_code, 0);
  std::map<std::string, std::string> digest;  // rp -> sha256 of the image when taken
  for (int i = 1; i <= 20; ++i) {
    WriteAt(img, 0, random_bytes(16 << 20));  // a hot region, new in every RP
    std::string rp = "rp" + std::to_string(i);
    auto c = R({"create", "vm", rp});
    ASSERT_EQ(c.exit_code, 0) << c.err;
    digest[rp] = Digest(img);
  }
  auto dry = R({"prune", "vm", "--keep-last", "10", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const uint64_t predicted = nlohmann::json::parse(dry.out)["bytes_freed"];
  EXPECT_GE(predicted, 10ull * (16 << 20)) << "the ten hot regions at least";
  ASSERT_EQ(R({"compact"}).exit_code, 0);
  const uint64_t before = DirBytes(store);
  auto prune = R({"prune", "vm", "--keep-last", "10"});
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  const uint64_t after = DirBytes(store);  // no `rpfs compact`
  EXPECT_GE(before - std::min(before, after), predicted * 8 / 10)
      << "store " << before << " -> " << after << " bytes, predicted " << predicted;
  for (int i = 11; i <= 20; ++i) {
    std::string rp = "rp" + std::to_string(i);
    std::string out = dir / ("export-" + rp);
    ASSERT_EQ(R({"export", "vm", rp, "vda", "-o", out}).exit_code, 0);
    EXPECT_EQ(Digest(out), digest[rp]) << rp;
    EXPECT_EQ(stdfs_size(out), 1ull << 30) << rp;
    ::unlink(out.c_str());
  }
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// Small deletes add up: each frees far less than a quarter of the store, and the space
// returns once together they pass it (the count of freed bytes is kept in the store, so
// it adds up across processes).
TEST(ReclaimTest, SmallDeletesAddUpToAReclaim) {
  TempDir dir;
  std::string store = dir / "store";
  std::string img = dir / "vda.raw";
  auto R = [&](const std::vector<std::string>& args) { return Rpfs(store, args); };
  MakeSparseFile(img, 256 << 20);
  std::mt19937_64 rng(11);
  auto random_bytes = [&](size_t n) { return RandomBytes(&rng, n); };
  WriteAt(img, 64 << 20, random_bytes(96 << 20));  // shared by every RP
  ASSERT_EQ(R({"init"}).exit_code, 0);
  ASSERT_EQ(R({"vm", "add", "vm", "--disk", "vda=" + img}).exit_code, 0);
  for (int i = 1; i <= 8; ++i) {
    WriteAt(img, 0, random_bytes(8 << 20));  // 8 MiB new in each
    ASSERT_EQ(R({"create", "vm", "rp" + std::to_string(i)}).exit_code, 0);
  }
  ASSERT_EQ(R({"compact"}).exit_code, 0);
  const uint64_t start = DirBytes(store);  // ~160 MiB: 96 shared + 8 x 8
  uint64_t lowest = start;
  int deletes_before_reclaim = 0;
  for (int i = 1; i <= 6; ++i) {
    ASSERT_EQ(R({"delete", "vm", "rp" + std::to_string(i)}).exit_code, 0);
    uint64_t now = DirBytes(store);
    if (now + (16 << 20) < lowest) break;  // a reclaim happened
    ++deletes_before_reclaim;
    lowest = std::min(lowest, now);
  }
  EXPECT_GE(deletes_before_reclaim, 1) << "one 8 MiB delete is not worth a compaction";
  EXPECT_LT(deletes_before_reclaim, 6)
      << "the space never came back: " << start << " -> " << DirBytes(store);
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace rpfs::testing
