// Clones through a real mount: `clone` in .control, copy-on-read reads, writes and fsync,
// hydration by dd, a clone outliving its RP, deletion, and a killed daemon or hydrate.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

class CloneMountTest : public MountTest {
 protected:
  int Control(const std::string& cmd) {
    int fd = ::open(P("vm/.control").c_str(), O_WRONLY);
    if (fd < 0) return errno;
    ssize_t n = ::write(fd, cmd.data(), cmd.size());
    int err = n < 0 ? errno : 0;
    ::close(fd);
    return err;
  }
  std::string Text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::string Disk(const std::string& clone = "c") { return P("vm/.clones/" + clone + "/vda.raw"); }
  nlohmann::json CloneJson(const std::string& clone = "c") {
    auto r = R({"clone-list", "vm", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const auto& c : nlohmann::json::parse(r.out)) {
      if (c["name"] == clone) return c;
    }
    ADD_FAILURE() << "no clone " << clone << " in " << r.out;
    return {};
  }
  void Pwrite(int fd, uint64_t off, const std::vector<std::byte>& data) {
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(off)),
              static_cast<ssize_t>(data.size()));
  }
};

TEST_F(CloneMountTest, CloneReadsLikeItsRpAndADdHydratesIt) {
  ASSERT_EQ(Control("clone two c"), 0);
  struct stat st;
  ASSERT_EQ(::stat(Disk().c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), two_.size());
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(Text(P("vm/.clones/c/.status")).find("state: hydrating\nhydrated_bytes: 0\n"),
            std::string::npos);
  auto r = RunCommand({"dd", "if=" + Disk(), "of=" + std::string(dir_ / "copy.raw"), "bs=4M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(ReadAll(dir_ / "copy.raw") == two_);
  std::string status = Text(P("vm/.clones/c/.status"));
  EXPECT_NE(status.find("state: hydrated\n"), std::string::npos) << status;
  EXPECT_NE(status.find("percent: 100\n"), std::string::npos) << status;
  auto c = CloneJson();
  EXPECT_TRUE(c["hydrated"].get<bool>());
  // The local file is a plain raw image, usable without rpfs.
  EXPECT_TRUE(ReadAll(c["disks"][0]["path"].get<std::string>()) == two_);
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// A clone's disk is a sparse file that fills as it is read: `rpfs du` counts what it holds
// (as du does), not its apparent size.
TEST_F(CloneMountTest, DuCountsTheBytesASparseCloneHoldsNotItsSize) {
  auto disk_bytes = [&] {
    return nlohmann::json::parse(R({"du", "--json"}).out)["store"]["disk_bytes"].get<int64_t>();
  };
  const int64_t before = disk_bytes();
  ASSERT_EQ(Control("clone two c"), 0);
  std::vector<std::byte> head(kChunk);
  int fd = ::open(Disk().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pread(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  ::close(fd);
  // The clone holds one 64 KiB chunk of its 32 MiB (and a small bitmap file).
  const int64_t grown = disk_bytes() - before;
  EXPECT_LT(grown, 2 << 20) << "counted the clone's holes";
  EXPECT_GE(grown, static_cast<int64_t>(kChunk));
  auto du = RunCommand({"du", "-s", "-B1", store() + "/clones"});
  ASSERT_EQ(du.exit_code, 0) << du.err;
  EXPECT_LT(std::stoll(du.out), 2 << 20) << du.out;
}

TEST_F(CloneMountTest, WritesReadBackAndSurviveARemount) {
  ASSERT_EQ(Control("clone one c"), 0);
  int fd = ::open(Disk().c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  auto a = PatternBytes(50, 100);              // inside one chunk, not yet present
  auto b = PatternBytes(51, 3 * kChunk + 17);  // across chunks
  Pwrite(fd, 5 * kChunk + 10, a);
  Pwrite(fd, 21 * kChunk - 9, b);
  ASSERT_EQ(::fsync(fd), 0);
  ::close(fd);
  std::vector<std::byte> want = one_;
  std::copy(a.begin(), a.end(), want.begin() + 5 * kChunk + 10);
  std::copy(b.begin(), b.end(), want.begin() + 21 * kChunk - 9);
  EXPECT_TRUE(ReadAll(Disk()) == want);
  Unmount();
  Mount();
  EXPECT_TRUE(ReadAll(Disk()) == want);
  EXPECT_TRUE(ReadAll(P("vm/one/vda.raw")) == one_) << "the RP itself never changes";
}

TEST_F(CloneMountTest, RandomReadsAndWritesThroughTheMountReadBackTheModel) {
  // fsx-style, through the kernel (page cache, 1 MiB requests): a fixed seed, printed.
  ASSERT_EQ(Control("clone two c"), 0);
  int fd = ::open(Disk().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> model = two_;
  const uint64_t seed = 20261122;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int op = 0; op < 3000; ++op) {
    uint64_t off = rng() % model.size();
    size_t n =
        std::min<uint64_t>(1 + rng() % (rng() % 8 == 0 ? 2 << 20 : 8192), model.size() - off);
    if (rng() % 3 == 0) {
      std::vector<std::byte> data(n);
      for (auto& b : data) b = static_cast<std::byte>(rng());
      ASSERT_EQ(::pwrite(fd, data.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n))
          << "op " << op << ": " << strerror(errno);
      std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(off));
    } else {
      std::vector<std::byte> got(n);
      ASSERT_EQ(::pread(fd, got.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n))
          << "op " << op;
      ASSERT_TRUE(std::equal(got.begin(), got.end(), model.begin() + static_cast<long>(off)))
          << "op " << op << ": read at " << off << " len " << n << " differs from the model";
    }
    if (op % 1000 == 999) {
      ASSERT_EQ(::fsync(fd), 0);
      ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);  // read from rpfs again
    }
  }
  ::close(fd);
  EXPECT_TRUE(ReadAll(Disk()) == model);
  Unmount();
  Mount();
  EXPECT_TRUE(ReadAll(Disk()) == model) << "after a remount";
  EXPECT_TRUE(ReadAll(CloneJson()["disks"][0]["path"].get<std::string>()) == model)
      << "the hydrated local file";
}

TEST_F(CloneMountTest, CloneKeepsWorkingAfterItsRpIsDeleted) {
  ASSERT_EQ(Control("clone two c"), 0);
  ASSERT_EQ(Control("delete two"), 0);
  EXPECT_TRUE(ReadAll(Disk()) == two_);
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(CloneJson()["rp"], "two");
}

TEST_F(CloneMountTest, KilledDaemonKeepsAcknowledgedWritesAndHydrationResumes) {
  ASSERT_EQ(Control("clone two c"), 0);
  int fd = ::open(Disk().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> half(two_.size() / 2);
  ASSERT_EQ(::pread(fd, half.data(), half.size(), 0), static_cast<ssize_t>(half.size()));
  auto acked = PatternBytes(60, 2 * kChunk);
  Pwrite(fd, 3 * kChunk, acked);
  ASSERT_EQ(::fsync(fd), 0);  // acknowledged: the write and the fetched half
  Pwrite(fd, 400 * kChunk, PatternBytes(61, kChunk));  // not acknowledged
  KillDaemon();
  ::close(fd);
  Unmount();
  Mount();
  EXPECT_GE(CloneJson()["disks"][0]["hydrated_bytes"].get<uint64_t>(), half.size())
      << "hydration resumes where it was made durable";
  auto got = ReadAll(Disk());
  std::vector<std::byte> want = two_;
  std::copy(acked.begin(), acked.end(), want.begin() + 3 * kChunk);
  ASSERT_EQ(got.size(), want.size());
  for (uint64_t i = 0; i < got.size(); ++i) {
    if (i >= 400 * kChunk && i < 401 * kChunk) continue;  // may or may not have survived
    ASSERT_EQ(got[i], want[i]) << "byte " << i;
  }
  EXPECT_TRUE(CloneJson()["hydrated"].get<bool>());
}

// The daemon dies (SIGKILL at its 300th chunk fill) in the middle of a sequential
// hydrating read mixed with small fsync'd writes to chunks not yet fetched: after a remount
// every acknowledged write is there, everything else reads as the RP, and hydration goes
// on from what was made durable.
TEST_F(CloneMountTest, DaemonKilledMidHydrationAndWritesKeepsWhatWasAcknowledged) {
  ASSERT_EQ(Control("clone two c"), 0);
  Unmount();
  auto m = R({"mount", mnt_}, {{"RPFS_CRASH_AT", "clone.after_fill:300"}});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  mounted_ = true;
  const uint64_t chunks = two_.size() / kChunk;
  std::vector<std::byte> want = two_;
  std::vector<std::pair<uint64_t, uint64_t>> unsure;  // the range of the op that failed
  int fd = ::open(Disk().c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  std::vector<std::byte> block(16 * kChunk);
  bool died = false;
  for (uint64_t step = 0; !died && step * block.size() < two_.size(); ++step) {
    uint64_t at = ((step * 37 + 200) % chunks) * kChunk + 1000;
    auto small = PatternBytes(static_cast<int>(500 + step), 100);
    if (::pwrite(fd, small.data(), small.size(), static_cast<off_t>(at)) != 100 ||
        ::fsync(fd) != 0) {
      unsure.emplace_back(at, small.size());
      died = true;
      break;
    }
    std::copy(small.begin(), small.end(), want.begin() + static_cast<ptrdiff_t>(at));
    ssize_t n = ::pread(fd, block.data(), block.size(), static_cast<off_t>(step * block.size()));
    if (n != static_cast<ssize_t>(block.size())) {
      died = true;
      break;
    }
    ASSERT_TRUE(std::equal(block.begin(), block.end(),
                           want.begin() + static_cast<ptrdiff_t>(step * block.size())))
        << "clone read wrong data at block " << step;
  }
  ::close(fd);
  ASSERT_TRUE(died) << "the daemon should have been killed at its 300th fill";
  WaitForStoreLock();
  Unmount();
  Mount();
  auto c = CloneJson();
  uint64_t resumed = c["disks"][0]["hydrated_bytes"].get<uint64_t>();
  EXPECT_GT(resumed, 0u) << "fills made durable by the fsyncs survive";
  EXPECT_LT(resumed, two_.size());
  auto got = ReadAll(Disk());
  ASSERT_EQ(got.size(), want.size());
  for (uint64_t i = 0; i < got.size(); ++i) {
    bool maybe = false;
    for (const auto& [off, len] : unsure) maybe |= i >= off && i < off + len;
    if (!maybe) {
      ASSERT_EQ(got[i], want[i]) << "byte " << i;
    }
  }
  EXPECT_TRUE(CloneJson()["hydrated"].get<bool>());
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST_F(CloneMountTest, KilledHydrateCommandLosesNothing) {
  ASSERT_EQ(Control("clone two c"), 0);
  Unmount();
  auto killed = R({"hydrate", "vm", "c"}, {{"RPFS_CRASH_AT", "clone.after_fill:100"}});
  ASSERT_EQ(killed.signal, SIGKILL) << killed.err;
  auto again = R({"hydrate", "vm", "c"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("hydrated clone vm/c"), std::string::npos);
  auto c = CloneJson();
  EXPECT_TRUE(ReadAll(c["disks"][0]["path"].get<std::string>()) == two_);
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  Mount();
}

TEST_F(CloneMountTest, CloneFoundCompleteAfterACrashIsReleasedAtItsNextOpen) {
  ASSERT_EQ(Control("clone two c"), 0);
  ASSERT_EQ(Control("delete two"), 0);  // the clone alone holds two's data now
  ASSERT_EQ(Control("delete one"), 0);
  Unmount();
  auto killed = R({"hydrate", "vm", "c"}, {{"RPFS_CRASH_AT", "clone.before_release"}});
  ASSERT_EQ(killed.signal, SIGKILL) << killed.err;
  EXPECT_FALSE(CloneJson()["hydrated"].get<bool>()) << "the store has not heard of it yet";
  auto again = R({"hydrate", "vm", "c"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(CloneJson()["hydrated"].get<bool>());
  auto du = nlohmann::json::parse(R({"du", "--json"}).out);
  EXPECT_EQ(du["store"]["chunks"], 0) << "two's data went with the clone's hold on it";
  EXPECT_TRUE(ReadAll(CloneJson()["disks"][0]["path"].get<std::string>()) == two_);
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  Mount();
}

TEST_F(CloneMountTest, DeleteAndErrors) {
  ASSERT_EQ(Control("clone two c"), 0);
  EXPECT_EQ(Control("clone two c"), EEXIST);
  EXPECT_EQ(Control("clone nope d"), ENOENT);
  EXPECT_EQ(Control("clone two d define"), EINVAL) << "define needs a libvirt domain";
  EXPECT_EQ(Control("delete-clone nope"), ENOENT);
  {
    int fd = ::open(Disk().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(Control("delete-clone c"), EBUSY);
    EXPECT_EQ(::ftruncate(fd, 4096), -1);
    EXPECT_EQ(errno, EINVAL) << "a clone disk has a fixed size";
    std::vector<std::byte> past(10);
    EXPECT_EQ(::pwrite(fd, past.data(), past.size(), static_cast<off_t>(two_.size())), -1);
    ::close(fd);
  }
  std::string dir = CloneJson()["disks"][0]["path"];
  dir = dir.substr(0, dir.rfind('/'));
  // rm -r of the clone's directory deletes the clone (its files go with it).
  auto rm = RunCommand({"rm", "-r", P("vm/.clones/c")});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(stdfs::exists(P("vm/.clones/c")));
  EXPECT_FALSE(stdfs::exists(dir));
  ASSERT_EQ(Control("clone two c"), 0);
  EXPECT_EQ(Control("delete-clone c"), 0);
  EXPECT_TRUE(stdfs::is_empty(P("vm/.clones")));
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace rpfs::testing
