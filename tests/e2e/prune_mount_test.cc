// Retention through the mount: `.prune-preview`, and a prune run (through the daemon)
// while readers read every RP, including the ones it deletes, and another VM gets an RP.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

class PruneMountTest : public MountTest {
 protected:
  std::string Text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
};

TEST_F(PruneMountTest, PreviewShowsWhatTheStoredPolicyWouldRemove) {
  EXPECT_NE(Text(P("vm/.prune-preview")).find("policy: (none)"), std::string::npos);
  ASSERT_EQ(R({"policy", "set", "vm", "--keep-last", "1"}).exit_code, 0);
  std::string preview = Text(P("vm/.prune-preview"));
  EXPECT_NE(preview.find("policy: --keep-last 1\n"), std::string::npos) << preview;
  EXPECT_NE(preview.find("keep two last\n"), std::string::npos) << preview;
  EXPECT_NE(preview.find("remove one\n"), std::string::npos) << preview;
  auto dry = nlohmann::json::parse(R({"prune", "vm", "--dry-run", "--json"}).out);
  EXPECT_NE(preview.find("would_free_bytes: " + std::to_string(dry["bytes_freed"].get<uint64_t>())),
            std::string::npos)
      << preview;
  EXPECT_EQ(R({"info", "vm", "one"}).exit_code, 0) << "a preview changes nothing";
}

TEST_F(PruneMountTest, PruneWhileReadersReadAndAnotherVmIsBackedUp) {
  // More RPs to prune, and a second VM being backed up meanwhile.
  for (int i = 3; i <= 6; ++i) {
    WriteAt(img_, static_cast<uint64_t>(i) * kChunk * 3, PatternBytes(200 + i, kChunk));
    ASSERT_EQ(R({"create", "vm", "rp" + std::to_string(i)}).exit_code, 0);
  }
  std::string img2 = dir_ / "vm2.raw";
  MakeSparseFile(img2, 16 << 20);
  WriteAt(img2, 0, PatternBytes(300, 8 << 20));
  ASSERT_EQ(R({"vm", "add", "vm2", "--disk", "vda=" + img2}).exit_code, 0);

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, reads{0};
  std::vector<std::thread> readers;
  // Opened before the prune starts and held open throughout: a reader that opens after the
  // prune removed the RP rightly gets ENOENT, which is not what this test is about.
  std::map<std::string, int> fds;
  for (const std::string rp : {"one", "two"}) {
    fds[rp] = ::open(P("vm/" + rp + "/vda.raw").c_str(), O_RDONLY);
    ASSERT_GE(fds[rp], 0) << rp << ": " << std::strerror(errno);
  }
  for (const auto& [rp, fd] : fds) {
    readers.emplace_back([&, rp = rp, fd = fd] {
      const auto& want = rp == "one" ? one_ : two_;
      std::vector<std::byte> buf(want.size());
      while (!stop) {
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        if (::pread(fd, buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size()) ||
            buf != want) {
          ++errors;
        }
        ++reads;
      }
      ::close(fd);
    });
  }
  auto create = std::async(std::launch::async, [&] { return R({"create", "vm2", "b1"}); });
  auto prune = R({"prune", "vm", "--keep-last", "2", "--json"});
  auto created = create.get();
  while (reads < 6 && errors == 0) std::this_thread::yield();  // reads after the prune too
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(errors.load(), 0) << "no reader may fail, even of a pruned RP it holds open";
  auto list = nlohmann::json::parse(R({"list", "--json"}).out);
  std::set<std::string> left;
  for (const auto& rp : list)
    left.insert(rp["vm"].get<std::string>() + "/" + rp["name"].get<std::string>());
  EXPECT_EQ(left, (std::set<std::string>{"vm/rp5", "vm/rp6", "vm2/b1"}));
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// The create is held inside the daemon (a pause point in the middle of reading its disk)
// while the prune runs: the prune must finish meanwhile, readers of the pruned RPs must
// go on reading right, and the create must commit correctly afterwards.
TEST_F(PruneMountTest, PruneFinishesWhileACreateIsHalfway) {
  for (int i = 3; i <= 5; ++i) {
    WriteAt(img_, static_cast<uint64_t>(i) * kChunk * 3, PatternBytes(200 + i, kChunk));
    ASSERT_EQ(R({"create", "vm", "rp" + std::to_string(i)}).exit_code, 0);
  }
  std::string img2 = dir_ / "vm2.raw";
  MakeSparseFile(img2, 64 << 20);
  WriteAt(img2, 0, PatternBytes(300, 40 << 20));  // several ingest batches
  ASSERT_EQ(R({"vm", "add", "vm2", "--disk", "vda=" + img2}).exit_code, 0);
  auto want_b1 = ReadAll(img2);
  // The prune removes one, two and rp3; one is held open below, so its data stays until
  // the reader closes and what the prune frees now is what deleting two and rp3 frees.
  auto dry = R({"delete", "vm", "two", "rp3", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  size_t paren = dry.out.rfind('(');
  ASSERT_NE(paren, std::string::npos) << dry.out;
  uint64_t predicted = std::stoull(dry.out.substr(paren + 1));

  std::string pause_dir = dir_ / "pause";
  stdfs::create_directory(pause_dir);
  ASSERT_EQ(::mkfifo((pause_dir + "/paused").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((pause_dir + "/resume").c_str(), 0600), 0);
  Unmount();
  auto m = R({"mount", mnt_}, {{"RPFS_PAUSE_AT", "ingest.batch"}, {"RPFS_PAUSE_DIR", pause_dir}});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  mounted_ = true;

  int fd = ::open(P("vm/one/vda.raw").c_str(), O_RDONLY);  // a reader of a pruned RP
  ASSERT_GE(fd, 0) << std::strerror(errno);
  auto create = std::async(std::launch::async, [&] { return R({"create", "vm2", "b1"}); });
  int paused = ::open((pause_dir + "/paused").c_str(), O_RDONLY);  // the daemon is there
  ASSERT_GE(paused, 0) << std::strerror(errno);

  auto prune = R({"prune", "vm", "--keep-last", "2", "--json"});
  auto rename = R({"rename", "vm", "rp5", "newest"});
  std::vector<std::byte> buf(one_.size());
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ssize_t got = ::pread(fd, buf.data(), buf.size(), 0);

  int resume = ::open((pause_dir + "/resume").c_str(), O_WRONLY);  // let the create go on
  ASSERT_GE(resume, 0);
  ::close(resume);
  ::close(paused);
  auto created = create.get();
  ::close(fd);

  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  // Freed once the create has ended, and reported as exactly what a dry run predicted.
  EXPECT_EQ(nlohmann::json::parse(prune.out)["bytes_freed"].get<uint64_t>(), predicted)
      << prune.out;
  EXPECT_EQ(rename.exit_code, 0) << rename.err;
  EXPECT_EQ(got, static_cast<ssize_t>(one_.size()));
  EXPECT_TRUE(buf == one_) << "a reader of a pruned RP read wrong data";
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto list = nlohmann::json::parse(R({"list", "--json"}).out);
  std::set<std::string> left;
  for (const auto& rp : list)
    left.insert(rp["vm"].get<std::string>() + "/" + rp["name"].get<std::string>());
  EXPECT_EQ(left, (std::set<std::string>{"vm/rp4", "vm/newest", "vm2/b1"}));
  EXPECT_TRUE(ReadAll(P("vm2/b1/vda.raw")) == want_b1);
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

}  // namespace
}  // namespace rpfs::testing
