// Retention through the mount: `.prune-preview`, and a prune run (through the daemon)
// while readers read every RP, including the ones it deletes, and another VM gets an RP.
#include <fcntl.h>
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
  auto prune = R({"prune", "vm", "--keep-last", "2"});
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

}  // namespace
}  // namespace rpfs::testing
