// HelperClient against rpfs_guest_fake_helper (a real process in the real sandbox): every
// GuestFs call round-trips, volume reads cross the socket, and every way a helper can fail
// is an IOError for that call only, with no zombie left.
#include "guest/helper_client.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <atomic>
#include <functional>

#include "helper_test_util.h"
#include "support/status_matchers.h"

namespace rpfs::guest {
namespace {

using std::chrono::milliseconds;

uint64_t Sum(const std::string& s) {
  uint64_t sum = 0;
  for (char c : s) sum += static_cast<uint8_t>(c);
  return sum;
}

std::unique_ptr<HelperClient> StartOk(HelperOptions options, SourcePtr volume = nullptr) {
  if (volume == nullptr) volume = MemorySource(FakeVolumeBytes(), "vda1");
  auto client = HelperClient::Start(std::move(options), FsType::kExt4, volume);
  EXPECT_OK(client.status());
  return client.ok() ? std::move(client).value() : nullptr;
}

std::string ReadString(HelperClient& c, uint64_t ino, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  auto got = c.Read(ino, offset, std::as_writable_bytes(std::span(out)));
  if (!got.ok()) return "ERROR: " + got.status().ToString();
  out.resize(*got);
  return out;
}

// A volume whose reads run a hook first (to kill the helper mid-call) or fail past `bad_from`.
class HookedSource final : public ByteSource {
 public:
  explicit HookedSource(SourcePtr base) : base_(std::move(base)) {}
  uint64_t size() const override { return base_->size(); }
  std::string name() const override { return base_->name(); }
  Status ReadAt(uint64_t offset, std::span<std::byte> out) const override {
    if (hook) hook();
    if (offset + out.size() > bad_from) return Status::IOError("vda1: chunk 7 is unreadable");
    return base_->ReadAt(offset, out);
  }
  std::function<void()> hook;
  uint64_t bad_from = UINT64_MAX;

 private:
  SourcePtr base_;
};

TEST(HelperClientTest, EveryCallRoundTrips) {
  auto c = StartOk(FakeHelper());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->RootIno(), 2u);
  // The fake read the whole 9 MiB volume at Open: three VolumeReads.
  const std::string& volume = FakeVolumeBytes();
  EXPECT_EQ(c->State(), "ok (vda1, " + std::to_string(volume.size()) + " bytes, sum " +
                            std::to_string(Sum(volume)) + ")");

  auto attr = c->GetAttr(16);
  ASSERT_OK(attr.status());
  EXPECT_EQ(attr->ino, 16u);
  EXPECT_EQ(attr->mode, S_IFCHR | 0620u);
  EXPECT_EQ(attr->rdev, makedev(4, 1));
  EXPECT_EQ(attr->uid, 1000u);
  EXPECT_EQ(attr->gid, 100u);
  EXPECT_EQ(attr->mtime_ns, -1'500'000'000);
  EXPECT_EQ(attr->atime_ns, 1'700'000'000'123'456'789);

  auto looked = c->Lookup(2, "big");
  ASSERT_OK(looked.status());
  EXPECT_EQ(looked->ino, 13u);
  EXPECT_EQ(looked->size, volume.size());
  auto missing = c->Lookup(2, "nope");
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_EQ(missing.status().message(), "fake: no entry nope in 2");
  EXPECT_EQ(c->Lookup(12, "x").status().code(), Status::Code::kNotADirectory);

  auto entries = c->ReadDir(2);
  ASSERT_OK(entries.status());
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_EQ((*entries)[4].name, std::string("odd \x01\xff\t\\name", 11));
  EXPECT_EQ((*entries)[4].ino, 16u);
  EXPECT_EQ((*entries)[2].type, static_cast<uint32_t>(S_IFLNK));
  auto empty = c->ReadDir(15);
  ASSERT_OK(empty.status());
  EXPECT_TRUE(empty->empty());

  auto link = c->ReadLink(14);
  ASSERT_OK(link.status());
  EXPECT_EQ(*link, "hello.txt");
  auto not_link = c->ReadLink(12);
  EXPECT_TRUE(not_link.status().IsInvalidArgument());
  EXPECT_EQ(not_link.status().message(), "fake: inode 12 is not a symlink");

  auto extents = c->MapFile(13);
  ASSERT_OK(extents.status());
  ASSERT_EQ(extents->size(), 3u);
  EXPECT_EQ((*extents)[1].kind, FileExtent::Kind::kZero);
  EXPECT_EQ((*extents)[2].kind, FileExtent::Kind::kInline);
  EXPECT_EQ((*extents)[2].file_offset, 8192u);
  EXPECT_EQ((*extents)[2].length, volume.size() - 8192);

  EXPECT_EQ(ReadString(*c, 12, 0, 100), "Hello");
  EXPECT_EQ(ReadString(*c, 12, 5, 10), "");
  // 6 MiB: two Read calls, each over VolumeReads of at most 4 MiB.
  EXPECT_EQ(ReadString(*c, 13, 3, 6u << 20), volume.substr(3, 6u << 20));
  EXPECT_EQ(ReadString(*c, 13, volume.size() - 4, 100), volume.substr(volume.size() - 4));

  auto xattrs = c->ListXattrs(12);
  ASSERT_OK(xattrs.status());
  ASSERT_EQ(xattrs->size(), 2u);
  EXPECT_EQ((*xattrs)[1].first, "security.selinux");
  EXPECT_EQ((*xattrs)[1].second, std::string("x\0y", 3));
  c.reset();
  ExpectNoChildren();
}

// Several directories in one call: each with its own outcome, in the order asked, split
// into calls of at most kMaxBatchDirs.
TEST(HelperClientTest, ReadDirsListsEachDirectoryWithItsOwnOutcome) {
  auto c = StartOk(FakeHelper());
  ASSERT_NE(c, nullptr);
  std::vector<DirListing> listed = c->ReadDirs({2, 15, 12});
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].dir, 2u);
  ASSERT_OK(listed[0].status);
  ASSERT_EQ(listed[0].entries.size(), 5u);
  // Each entry carries its attributes, as a single ReadDir's do.
  ASSERT_TRUE(listed[0].entries[4].attr.has_value());
  EXPECT_EQ(listed[0].entries[4].attr->mode, S_IFCHR | 0620u);
  ASSERT_OK(listed[1].status);
  EXPECT_TRUE(listed[1].entries.empty());
  EXPECT_EQ(listed[2].status.code(), Status::Code::kNotADirectory);
  EXPECT_EQ(listed[2].status.message(), "fake: inode 12");

  std::vector<uint64_t> many;
  for (size_t i = 0; i < kMaxBatchDirs + 6; ++i) many.push_back(i % 2 == 0 ? 2 : 15);
  listed = c->ReadDirs(many);
  ASSERT_EQ(listed.size(), many.size());
  for (size_t i = 0; i < many.size(); ++i) {
    EXPECT_EQ(listed[i].dir, many[i]);
    EXPECT_EQ(listed[i].entries.size(), many[i] == 2 ? 5u : 0u);
  }
}

// A helper that dies listing is one IOError for the first directory of that call, and the
// next call starts a new helper.
TEST(HelperClientTest, ReadDirsOfADyingHelperIsOneIOError) {
  auto c = StartOk(FakeHelper({"--misbehave=crash:readdir"}));
  ASSERT_NE(c, nullptr);
  std::vector<DirListing> listed = c->ReadDirs({15, 2});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].dir, 15u);
  EXPECT_TRUE(listed[0].status.IsIOError());
  EXPECT_EQ(listed[0].status.message(),
            "guest helper for vda1 died (killed by signal 6 (Aborted))");
  EXPECT_OK(c->GetAttr(2).status());
  c.reset();
  ExpectNoChildren();
}

// Several files' extents in one call: each with its own outcome, in the order asked; a file
// of more extents than asked for comes back TooLarge, without them.
TEST(HelperClientTest, MapFilesMapsEachFileWithItsOwnOutcome) {
  auto c = StartOk(FakeHelper());
  ASSERT_NE(c, nullptr);
  std::vector<FileMap> maps = c->MapFiles({12, 13, 15}, 8);
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].ino, 12u);
  ASSERT_OK(maps[0].status);
  ASSERT_EQ(maps[0].extents.size(), 1u);
  EXPECT_EQ(maps[0].extents[0].length, 5u);
  ASSERT_OK(maps[1].status);
  EXPECT_EQ(maps[1].extents.size(), 3u);
  EXPECT_TRUE(maps[2].status.IsInvalidArgument());
  EXPECT_EQ(maps[2].status.message(), "fake: inode 15 is not a file");

  maps = c->MapFiles({13}, 2);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].status.code(), Status::Code::kTooLarge);
  EXPECT_TRUE(maps[0].extents.empty());

  std::vector<uint64_t> many(kMaxBatchFiles + 3, 12);
  maps = c->MapFiles(many, 8);
  ASSERT_EQ(maps.size(), many.size());
  for (const FileMap& m : maps) EXPECT_EQ(m.extents.size(), 1u);
}

// A helper answering for files it was not asked about is not believed: none of its answer
// is taken, the call fails (an I/O error naming why, as for any bad frame) and that helper
// is gone; the next call starts a new one.
TEST(HelperClientTest, MapFilesOfFilesNotAskedForIsRefused) {
  auto c = StartOk(FakeHelper({"--misbehave=other-files:mapfiles"}));
  ASSERT_NE(c, nullptr);
  std::vector<FileMap> maps = c->MapFiles({12, 13}, 8);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].ino, 12u);
  EXPECT_TRUE(maps[0].extents.empty());
  EXPECT_EQ(maps[0].status.ToString(),
            "IOError: guest helper for vda1 sent a bad frame (a map of files not asked for), "
            "killed it");
  EXPECT_OK(c->MapFile(12).status());
  c.reset();
  ExpectNoChildren();
}

// Nor is one answering with more extents a file than the call allowed.
TEST(HelperClientTest, MapFilesLongerThanAskedForIsRefused) {
  auto c = StartOk(FakeHelper({"--misbehave=no-limit:mapfiles"}));
  ASSERT_NE(c, nullptr);
  std::vector<FileMap> maps = c->MapFiles({12, 13}, 2);  // 13 has 3 extents
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_TRUE(maps[0].status.IsIOError()) << maps[0].status.ToString();
  EXPECT_NE(maps[0].status.message().find("a map of files not asked for"), std::string::npos);
}

TEST(HelperClientTest, OpenErrorIsReturnedAndTheHelperReaped) {
  auto c = HelperClient::Start(FakeHelper(), FsType::kNtfs, MemorySource("x", "vdb"));
  EXPECT_EQ(c.status().code(), Status::Code::kNotSupported);
  EXPECT_EQ(c.status().message(), "fake: only ext4, not ntfs");
  ExpectNoChildren();
}

TEST(HelperClientTest, VolumeReadErrorsReachTheCaller) {
  auto source = std::make_shared<HookedSource>(MemorySource(FakeVolumeBytes(), "vda1"));
  auto c = StartOk(FakeHelper(), source);
  ASSERT_NE(c, nullptr);
  source->bad_from = 1u << 20;
  EXPECT_EQ(ReadString(*c, 13, 0, 2u << 20), "ERROR: IOError: vda1: chunk 7 is unreadable");
  EXPECT_EQ(ReadString(*c, 12, 0, 5), "Hello");  // same helper, still serving
}

// Small reads are widened to an aligned 64 KiB window that the helper keeps: the second read
// of the same window costs no round trip; a window holding a damaged chunk that the read
// does not need still gives the bytes asked for.
TEST(HelperClientTest, SmallVolumeReadsAreFetchedByWindowAndKept) {
  auto source = std::make_shared<HookedSource>(MemorySource(FakeVolumeBytes(), "vda1"));
  auto c = StartOk(FakeHelper(), source);
  ASSERT_NE(c, nullptr);
  const std::string& volume = FakeVolumeBytes();
  std::atomic<int> fetches{0};
  source->hook = [&fetches] { ++fetches; };
  EXPECT_EQ(ReadString(*c, 13, 100, 50), volume.substr(100, 50));
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(ReadString(*c, 13, 4000, 3000), volume.substr(4000, 3000));
  EXPECT_EQ(ReadString(*c, 13, 65530, 10), volume.substr(65530, 10));  // into the next window
  EXPECT_EQ(fetches, 2);
  source->bad_from = (5u << 20) + 100;  // inside the window of the next read, past its end
  EXPECT_EQ(ReadString(*c, 13, 5u << 20, 50), volume.substr(5u << 20, 50));
}

TEST(HelperClientTest, HelperKilledMidCallFailsThatCallOnly) {
  auto source = std::make_shared<HookedSource>(MemorySource(FakeVolumeBytes(), "vda1"));
  auto c = StartOk(FakeHelper(), source);
  ASSERT_NE(c, nullptr);
  pid_t first = c->helper_pid();
  ASSERT_GT(first, 0);
  // The helper is blocked on our answer to its volume read when it dies, as in a `cp`.
  source->hook = [first] { ::kill(first, SIGKILL); };
  std::string failed = ReadString(*c, 13, 0, 4096);
  EXPECT_EQ(failed, "ERROR: IOError: guest helper for vda1 died (killed by signal 9 (Killed))");
  source->hook = nullptr;
  EXPECT_EQ(c->helper_pid(), 0);
  EXPECT_EQ(ReadString(*c, 13, 0, 5), "Hello");  // a new helper, the volume opened again
  EXPECT_NE(c->helper_pid(), first);
  EXPECT_NE(c->helper_pid(), 0);
}

TEST(HelperClientTest, CrashIsAnErrorForThatCall) {
  auto c = StartOk(FakeHelper({"--misbehave=crash:readdir"}));
  ASSERT_NE(c, nullptr);
  auto entries = c->ReadDir(2);
  EXPECT_TRUE(entries.status().IsIOError());
  EXPECT_EQ(entries.status().message(),
            "guest helper for vda1 died (killed by signal 6 (Aborted))");
  EXPECT_OK(c->GetAttr(2).status());
  c.reset();
  ExpectNoChildren();
}

TEST(HelperClientTest, HangTimesOutWithinTheDeadline) {
  // The deadline also covers starting a helper and opening the volume, which took over 0.3 s
  // once under a loaded CI run (ctest -j2 beside the mount tests): 1.5 s leaves room for that
  // while a hang still ends well before the default 30 s.
  auto c = StartOk(FakeHelper({"--misbehave=hang:readlink"}, milliseconds(1500)));
  ASSERT_NE(c, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto link = c->ReadLink(14);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(link.status().ToString(), "IOError: guest helper for vda1 timed out after 1.5 s");
  EXPECT_GE(took, milliseconds(1500));
  EXPECT_LT(took, milliseconds(10000));
  EXPECT_EQ(c->helper_pid(), 0);
  EXPECT_OK(c->GetAttr(14).status());
  c.reset();
  ExpectNoChildren();
}

TEST(HelperClientTest, ExitInsideAReplyIsADeath) {
  auto c = StartOk(FakeHelper({"--misbehave=exit-mid-reply:mapfile"}));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->MapFile(13).status().ToString(),
            "IOError: guest helper for vda1 died (exit code 0)");
  EXPECT_OK(c->GetAttr(12).status());  // a new helper (which would misbehave on mapfile again)
}

TEST(HelperClientTest, GarbageFrameIsANamedErrorAndTheHelperIsReplaced) {
  auto c = StartOk(FakeHelper({"--misbehave=garbage:listxattrs"}));
  ASSERT_NE(c, nullptr);
  pid_t first = c->helper_pid();
  EXPECT_EQ(c->ListXattrs(12).status().ToString(),
            "IOError: guest helper for vda1 sent a bad frame (guest helper frame: unknown message "
            "type 127), killed it");
  EXPECT_OK(c->GetAttr(12).status());
  EXPECT_NE(c->helper_pid(), first);
}

TEST(HelperClientTest, DestructorKillsAndReaps) {
  auto c = StartOk(FakeHelper());
  ASSERT_NE(c, nullptr);
  pid_t pid = c->helper_pid();
  c.reset();
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  ExpectNoChildren();
}

TEST(HelperClientTest, MissingProgramIsAnError) {
  HelperOptions o = FakeHelper();
  o.argv[0] = "/nonexistent/rpfs-helper";
  auto c = HelperClient::Start(o, FsType::kExt4, MemorySource("x", "vda1"));
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/nonexistent/rpfs-helper"), std::string::npos)
      << c.status().ToString();
}

}  // namespace
}  // namespace rpfs::guest
