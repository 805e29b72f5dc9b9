// Bit rot: one byte flipped at a random (seeded) place of a blob file or an SST of a
// store with several RPs. `rpfs verify` must name every RP that can no longer be read;
// `export` and reads through the mount give an error for those and the right bytes for
// every other one, never wrong bytes. Verify may name more: it checks RocksDB's record
// checksums, which reads skip (a chunk's decode checks its content's own XXH3), so a flip
// in a blob record's header is damage verify reports while reads still return the right
// bytes. A flip in bytes nothing uses must change nothing. RPFS_BITROT_TRIALS /
// RPFS_BITROT_SEED choose how many flips and which.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

struct RpRef {
  std::string vm, rp;
  std::vector<std::byte> bytes;
  std::string label() const { return vm + "/" + rp; }
};

long EnvOr(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atol(v) : fallback;
}

class BitRotTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    InitWithVm();
    ASSERT_EQ(R({"create", "vm", "one"}).exit_code, 0);
    refs_.push_back({"vm", "one", ReadAll(img_)});
    WriteAt(img_, 2 << 20, PatternBytes(30, 1 << 20));
    ASSERT_EQ(R({"create", "vm", "two"}).exit_code, 0);
    refs_.push_back({"vm", "two", ReadAll(img_)});
    WriteAt(img_, 24 << 20, TextBytes(31, 2 << 20));
    ASSERT_EQ(R({"create", "vm", "three"}).exit_code, 0);
    refs_.push_back({"vm", "three", ReadAll(img_)});
    std::string other = dir_ / "other.raw";
    MakeSparseFile(other, 8 << 20);
    WriteAt(other, 0, PatternBytes(32, 3 << 20));
    ASSERT_EQ(R({"vm", "add", "other", "--disk", "vda=" + other}).exit_code, 0);
    ASSERT_EQ(R({"create", "other", "solo"}).exit_code, 0);
    refs_.push_back({"other", "solo", ReadAll(other)});
    auto v = R({"verify"});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    stdfs::copy(store(), dir_ / "pristine", stdfs::copy_options::recursive);
  }

  void Restore() {
    stdfs::remove_all(store());
    stdfs::copy(dir_ / "pristine", store(), stdfs::copy_options::recursive);
  }

  // Flips one byte of a random blob file or SST; returns "file@offset".
  std::string FlipRandomByte(std::mt19937_64* rng) {
    std::vector<stdfs::path> blobs, ssts;
    for (const auto& e : stdfs::recursive_directory_iterator(store())) {
      if (e.path().extension() == ".blob") blobs.push_back(e.path());
      if (e.path().extension() == ".sst") ssts.push_back(e.path());
    }
    EXPECT_FALSE(blobs.empty());
    EXPECT_FALSE(ssts.empty());
    const auto& pool = ((*rng)() % 2 == 0 || ssts.empty()) ? blobs : ssts;
    const stdfs::path& file = pool[(*rng)() % pool.size()];
    auto size = stdfs::file_size(file);
    off_t off = static_cast<off_t>((*rng)() % size);
    unsigned char mask = static_cast<unsigned char>(1 + (*rng)() % 255);
    int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    unsigned char b = 0;
    EXPECT_EQ(::pread(fd, &b, 1, off), 1);
    b ^= mask;
    EXPECT_EQ(::pwrite(fd, &b, 1, off), 1);
    ::close(fd);
    return file.filename().string() + "@" + std::to_string(off);
  }

  // Reads the RP's disk through a mount in 64 KiB preads: each read is right or EIO.
  // Returns whether any read failed.
  bool ReadThroughMount(const std::string& mnt, const RpRef& ref) {
    int fd = ::open((mnt + "/" + ref.vm + "/" + ref.rp + "/vda.raw").c_str(), O_RDONLY);
    if (fd < 0) {
      ADD_FAILURE() << ref.label() << ": cannot open through the mount: " << strerror(errno);
      return true;
    }
    bool failed = false;
    std::vector<std::byte> buf(kChunk);
    for (size_t off = 0; off < ref.bytes.size(); off += kChunk) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
      if (n < 0) {
        EXPECT_EQ(errno, EIO) << ref.label() << " at " << off << ": " << strerror(errno);
        failed = true;
        continue;
      }
      size_t want = std::min<size_t>(kChunk, ref.bytes.size() - off);
      EXPECT_EQ(static_cast<size_t>(n), want);
      EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + n, ref.bytes.begin() + off))
          << "WRONG BYTES through the mount: " << ref.label() << " at " << off;
    }
    ::close(fd);
    return failed;
  }

  std::vector<RpRef> refs_;
};

TEST_F(BitRotTest, VerifyNamesEveryDamagedRpAndNoReadReturnsWrongBytes) {
  const long trials = EnvOr("RPFS_BITROT_TRIALS", 20);
  const long seed = EnvOr("RPFS_BITROT_SEED", 1);
  const bool can_mount = ::geteuid() == 0 && ::access("/dev/fuse", R_OK | W_OK) == 0;
  if (!can_mount) std::printf("[ note ] no root or /dev/fuse: reads through the mount skipped\n");
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  int damaging = 0, harmless = 0, unnamed = 0;
  for (long t = 0; t < trials; ++t) {
    Restore();
    const std::string where = FlipRandomByte(&rng);
    SCOPED_TRACE("trial " + std::to_string(t) + " (RPFS_BITROT_SEED=" + std::to_string(seed) +
                 "): flipped " + where);
    // Exports: right bytes or an error, never wrong bytes.
    std::set<std::string> unreadable;
    for (const auto& ref : refs_) {
      std::string out = dir_ / "out.raw";
      auto r = R({"export", ref.vm, ref.rp, "vda", "-o", out, "--force"});
      if (r.exit_code != 0) {
        // 1: a chunk failed its checksum on read; 7: RocksDB found its own data damaged.
        EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 7) << r.exit_code << r.err;
        EXPECT_EQ(r.signal, 0);
        unreadable.insert(ref.label());
        continue;
      }
      EXPECT_TRUE(ReadAll(out) == ref.bytes) << "WRONG BYTES from export of " << ref.label();
      stdfs::remove(out);
    }
    auto v = R({"verify", "--json"});
    EXPECT_EQ(v.signal, 0) << v.err;
    std::set<std::string> named;
    if (v.exit_code == 0 || !v.out.empty()) {
      auto j = nlohmann::json::parse(v.out);
      for (const auto& line : j["damaged_rps"]) {
        std::string s = line;
        named.insert(s.substr(0, s.find(':')));
      }
      EXPECT_EQ(v.exit_code == 0, j["ok"].get<bool>());
      EXPECT_TRUE(std::includes(named.begin(), named.end(), unreadable.begin(), unreadable.end()))
          << "verify does not name every RP that cannot be read: " << v.out << v.err;
    } else {
      // Damaged metadata no RP needs (a refcount block, say) fails the whole scan, and a
      // damaged SST properties block fails opening the store (RocksDB then names the
      // MANIFEST that lists it): either way it is reported as damage naming the store
      // or the file, not as some other error.
      EXPECT_NE(v.err.find("Corruption"), std::string::npos) << v.err;
      EXPECT_TRUE(v.err.find(".sst") != std::string::npos ||
                  v.err.find("opening store " + store()) != std::string::npos)
          << v.err;
      ++unnamed;
    }
    if (can_mount) {
      std::string mnt = dir_ / "mnt";
      stdfs::create_directories(mnt);
      auto m = R({"mount", mnt});
      if (m.exit_code == 0) {
        for (const auto& ref : refs_) {
          EXPECT_EQ(ReadThroughMount(mnt, ref), unreadable.count(ref.label()) != 0)
              << ref.label() << ": the mount and export disagree";
        }
        RunCommand({"fusermount3", "-u", mnt});
        WaitForStoreLock();
      } else {
        EXPECT_EQ(unreadable.size(), refs_.size()) << "mount refused but export works: " << m.err;
      }
    }
    (unreadable.empty() ? harmless : damaging)++;
  }
  std::printf(
      "[ bitrot ] %ld flips (seed %ld): %d made RPs unreadable (all named by verify), %d "
      "hit nothing any RP reads; in %d verify could not scan the store and reported the "
      "corruption, naming the file or the store; 0 wrong reads\n",
      trials, seed, damaging, harmless, unnamed);
}

}  // namespace
}  // namespace rpfs::testing
