// CloneDiskImpl's fill of runs of whole chunks: a read covering several missing chunks fetches
// them straight into the caller's buffer and stores them with one write per run of data
// (direct I/O when the buffer is aligned), keeps holes as holes, and stores nothing of a run
// in which a fetch failed.
#include "rp/clone_disk.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "support/images.h"
#include "support/status_matchers.h"
#include "support/temp_dir.h"
#include "util/aligned_buffer.h"
#include "util/fd.h"

namespace rpfs::rp {
namespace {

constexpr uint32_t kChunk = 64 * 1024;
constexpr uint64_t kChunks = 40;
constexpr uint64_t kSize = kChunks * kChunk + 4096 + 100;  // a short last chunk (41 in all)
const std::set<uint64_t> kHoles = {5, 6, 20};

// Chunk i's bytes: zeros for a hole, else a pattern of i.
std::byte ByteOf(uint64_t pos) {
  uint64_t i = pos / kChunk;
  if (kHoles.count(i) != 0) return std::byte{0};
  return static_cast<std::byte>((pos * 131 + i * 7 + 1) % 251 + 1);
}

class PatternSource final : public CloneChunkSource {
 public:
  Status Fetch(uint64_t index, std::span<std::byte> out) override {
    {
      std::lock_guard lock(mu_);
      ++fetches_[index];
      if (failing_.count(index) != 0) {
        return Status::IOError("chunk " + std::to_string(index) + " is damaged");
      }
    }
    if (on_fetch_) on_fetch_(index);
    for (size_t k = 0; k < out.size(); ++k) out[k] = ByteOf(index * kChunk + k);
    return Status::OK();
  }
  void Fail(uint64_t index) {
    std::lock_guard lock(mu_);
    failing_.insert(index);
  }
  void Heal() {
    std::lock_guard lock(mu_);
    failing_.clear();
  }
  // Called (unlocked) at every fetch; set before the disk is used.
  void OnFetch(std::function<void(uint64_t)> fn) { on_fetch_ = std::move(fn); }
  int Fetches(uint64_t index) {
    std::lock_guard lock(mu_);
    return fetches_[index];
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, int> fetches_;
  std::set<uint64_t> failing_;
  std::function<void(uint64_t)> on_fetch_;
};

// While alive, writes at or past `bytes` into any file fail (EFBIG) and a write across it
// is cut short there: a disk that fills up in the middle of a write.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes) : old_handler_(std::signal(SIGXFSZ, SIG_IGN)) {
    ::getrlimit(RLIMIT_FSIZE, &old_);
    struct rlimit limit = old_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_ = {};
  void (*old_handler_)(int);
};

class CloneDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = CloneFiles(dir_.path(), "vda");
    ASSERT_OK(CreateCloneDiskFiles(files_, kSize, kChunk));
    auto source = std::make_unique<PatternSource>();
    source_ = source.get();
    auto disk = CloneDiskImpl::Open(std::move(source), kSize, kChunk, files_, nullptr);
    ASSERT_OK(disk);
    disk_ = *disk;
  }

  // Reads [offset, offset + length) into an aligned buffer and checks it byte by byte.
  void ReadAndCheck(uint64_t offset, size_t length) {
    AlignedBuffer buf(length);
    auto n = disk_->ReadAt(offset, std::span(buf.data(), length));
    ASSERT_OK(n);
    ASSERT_EQ(*n, std::min<uint64_t>(length, kSize - offset));
    for (size_t k = 0; k < *n; ++k) {
      ASSERT_EQ(buf.data()[k], ByteOf(offset + k)) << "byte " << offset + k;
    }
  }

  // Whether byte `pos` of the data file lies in a hole (no block allocated).
  bool InHole(uint64_t pos) {
    auto fd = OpenFile(files_.data, O_RDONLY | O_CLOEXEC);
    EXPECT_OK(fd);
    off_t hole = ::lseek(fd->get(), static_cast<off_t>(pos), SEEK_HOLE);
    return hole == static_cast<off_t>(pos);
  }

  testing::TempDir dir_;
  CloneDiskFiles files_;
  PatternSource* source_ = nullptr;
  std::shared_ptr<CloneDiskImpl> disk_;
};

TEST_F(CloneDiskTest, WholeChunkReadsFetchEachChunkOnceAndKeepHoles) {
  for (uint64_t off = 0; off < kSize; off += 16 * kChunk) ReadAndCheck(off, 16 * kChunk);
  EXPECT_TRUE(disk_->hydrated());
  for (uint64_t i = 0; i <= kChunks; ++i) EXPECT_EQ(source_->Fetches(i), 1) << "chunk " << i;
  ASSERT_OK(disk_->Flush());
  for (uint64_t i : kHoles) EXPECT_TRUE(InHole(i * kChunk)) << "chunk " << i << " was written";
  EXPECT_FALSE(InHole(4 * kChunk));
  // The file holds the disk: every byte, the short last chunk included.
  auto fd = OpenFile(files_.data, O_RDONLY | O_CLOEXEC);
  ASSERT_OK(fd);
  std::vector<std::byte> all(kSize);
  ASSERT_EQ(::pread(fd->get(), all.data(), all.size(), 0), static_cast<ssize_t>(kSize));
  for (uint64_t k = 0; k < kSize; ++k) ASSERT_EQ(all[k], ByteOf(k)) << "file byte " << k;
}

TEST_F(CloneDiskTest, ARunAroundAGuestWriteKeepsTheWrite) {
  // Chunk 9 is written by the guest first (present): a read of chunks 8-11 fills 8 alone
  // and 10-11 as a run, and returns the guest's bytes for 9.
  std::vector<std::byte> mine(kChunk, std::byte{0xee});
  ASSERT_OK(disk_->WriteAt(9 * kChunk, mine));
  AlignedBuffer buf(4 * kChunk);
  ASSERT_OK(disk_->ReadAt(8 * kChunk, std::span(buf.data(), 4 * kChunk)));
  for (size_t k = 0; k < 4 * kChunk; ++k) {
    std::byte want = k / kChunk == 1 ? std::byte{0xee} : ByteOf(8 * kChunk + k);
    ASSERT_EQ(buf.data()[k], want) << "byte " << 8 * kChunk + k;
  }
  EXPECT_EQ(source_->Fetches(9), 0) << "a chunk written whole is never fetched";
  EXPECT_EQ(disk_->hydrated_bytes(), 4 * kChunk);
}

TEST_F(CloneDiskTest, AReadOfManyMissingChunksFillsThemInBoundedRuns) {
  // A run holds a lock per chunk while it fetches: one read of the whole disk must not take
  // them all at once. When chunk 35 is fetched, the run of chunks 0-31 is already stored.
  uint64_t present_at_35 = 0;
  source_->OnFetch([&](uint64_t index) {
    if (index == 35) present_at_35 = disk_->hydrated_bytes();
  });
  ReadAndCheck(0, kChunks * kChunk);
  EXPECT_EQ(present_at_35, 32 * kChunk);
  EXPECT_EQ(disk_->hydrated_bytes(), kChunks * kChunk);
}

TEST_F(CloneDiskTest, AFetchErrorInARunStoresNothingOfTheRun) {
  source_->Fail(7);
  AlignedBuffer buf(16 * kChunk);
  auto n = disk_->ReadAt(0, std::span(buf.data(), 16 * kChunk));
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("chunk 7 is damaged"), std::string::npos)
      << n.status().ToString();
  EXPECT_EQ(disk_->hydrated_bytes(), 0u) << "chunks 0-6 were fetched but not vouched for";
  ASSERT_OK(disk_->Flush());
  EXPECT_TRUE(InHole(0)) << "nothing of the failed run reached the file";
  source_->Heal();
  ReadAndCheck(0, 16 * kChunk);
  EXPECT_EQ(source_->Fetches(0), 2) << "fetched again after the failed run";
  EXPECT_EQ(disk_->hydrated_bytes(), 16 * kChunk);
}

TEST_F(CloneDiskTest, AlignedRunsBypassThePageCache) {
  {
    UniqueFd probe(::open(files_.data.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
    if (!probe.valid()) GTEST_SKIP() << "the filesystem of " << dir_.path() << " has no O_DIRECT";
  }
  ReadAndCheck(0, 16 * kChunk);
  // Direct writes leave no page of the file cached; buffered ones would leave all 256.
  EXPECT_EQ(testing::CachedPages(files_.data, 16 * kChunk), 0u)
      << "fetched chunks went through the page cache";
}

TEST_F(CloneDiskTest, UnalignedBuffersFallBackToThePageCache) {
  std::vector<std::byte> buf(3 * kChunk + 1);
  std::span<std::byte> odd(buf.data() + 1, 3 * kChunk);  // never 4 KiB aligned
  ASSERT_OK(disk_->ReadAt(kChunk, odd));
  for (size_t k = 0; k < odd.size(); ++k) ASSERT_EQ(odd[k], ByteOf(kChunk + k)) << k;
  EXPECT_EQ(disk_->hydrated_bytes(), 3 * kChunk);
  ASSERT_OK(disk_->Flush());
  auto fd = OpenFile(files_.data, O_RDONLY | O_CLOEXEC);
  ASSERT_OK(fd);
  std::vector<std::byte> back(3 * kChunk);
  ASSERT_EQ(::pread(fd->get(), back.data(), back.size(), kChunk),
            static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(std::equal(back.begin(), back.end(), odd.begin()));
}

// A fill whose write stopped part-way left bytes in the file that no bit vouches for. If
// the guest then writes the chunk whole with zeros (nothing to fetch, nothing to write: a
// hole), those bytes must be punched out, not served.
TEST_F(CloneDiskTest, BytesLeftByAWriteThatFailedPartWayAreNeverServed) {
  struct Case {
    const char* what;
    uint64_t chunk;
    uint64_t read_at;
    size_t read_len;
  };
  for (const Case& c : {Case{"run of whole chunks (8-11)", 10, 8 * kChunk, 4 * kChunk},
                        Case{"part of one chunk", 12, 12 * kChunk + 100, 10}}) {
    SCOPED_TRACE(c.what);
    {
      FileSizeLimit limit(c.chunk * kChunk + 4096);  // 4 KiB of the chunk get through
      AlignedBuffer buf(c.read_len);
      auto n = disk_->ReadAt(c.read_at, std::span(buf.data(), c.read_len));
      ASSERT_FALSE(n.ok()) << "the write past the limit should have failed";
    }
    EXPECT_FALSE(InHole(c.chunk * kChunk)) << "part of the fill reached the file";
    ASSERT_OK(disk_->WriteAt(c.chunk * kChunk, std::vector<std::byte>(kChunk)));
    AlignedBuffer back(kChunk);
    ASSERT_OK(disk_->ReadAt(c.chunk * kChunk, std::span(back.data(), kChunk)));
    for (size_t k = 0; k < kChunk; ++k) {
      ASSERT_EQ(back.data()[k], std::byte{0}) << "stale byte " << k << " of chunk " << c.chunk;
    }
  }
}

TEST_F(CloneDiskTest, HydrateFillsRunsAndSkipsWhatIsPresent) {
  ReadAndCheck(3 * kChunk, kChunk);
  ASSERT_OK(disk_->Hydrate(nullptr));
  EXPECT_TRUE(disk_->hydrated());
  EXPECT_TRUE(disk_->durably_hydrated());
  for (uint64_t i = 0; i <= kChunks; ++i) EXPECT_EQ(source_->Fetches(i), 1) << "chunk " << i;
  ReadAndCheck(0, kSize);
  for (uint64_t i : kHoles) EXPECT_TRUE(InHole(i * kChunk)) << "chunk " << i << " was written";
}

}  // namespace
}  // namespace rpfs::rp
