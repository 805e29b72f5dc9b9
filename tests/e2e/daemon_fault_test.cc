// A write error inside the mount daemon: the command that hit it fails cleanly, later
// mutations are refused with a message saying to restart (RocksDB cannot write again
// after a failed sync, and Debian's build asserts if it is asked to), reads go on, and a
// restart recovers a consistent store.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "mount_fixture.h"

namespace rpfs::testing {
namespace {

class DaemonFaultTest : public MountTest {};

TEST_F(DaemonFaultTest, AFailedSyncStopsWritesUntilARestartRecoversTheStore) {
  Unmount();
  std::string arm = dir_ / "armed";
  auto m = R({"mount", mnt_}, {{"LD_PRELOAD", RPFS_FAULT_SHIM},
                               {"RPFS_FAULT_DIR", store()},
                               {"RPFS_FAULT_OP", "sync"},
                               {"RPFS_FAULT_KIND", "eio"},
                               {"RPFS_FAULT_NTH", "1"},
                               {"RPFS_FAULT_ARM", arm}});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  mounted_ = true;

  std::ofstream(arm).put('x');  // from now on the daemon's first sync of a store file fails
  WriteAt(img_, 0, PatternBytes(70, kChunk));
  auto failed = R({"create", "vm", "three"});
  stdfs::remove(arm);
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.err.find("rpfs: creating rp vm/three: "), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("Input/output error"), std::string::npos) << failed.err;

  auto refused = R({"delete", "vm", "one"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("stopped writing after an earlier error"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("restart rpfs"), std::string::npos) << refused.err;
  EXPECT_TRUE(ReadAll(P("vm/one/vda.raw")) == one_) << "reads go on";

  Unmount();  // the restart
  Mount();
  auto list = nlohmann::json::parse(R({"list", "vm", "--json"}).out);
  std::vector<std::string> names;
  for (const auto& e : list) names.push_back(e["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"one", "two"})) << "nothing half done is visible";
  EXPECT_TRUE(ReadAll(P("vm/two/vda.raw")) == two_);
  auto v = R({"verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(R({"delete", "vm", "one"}).exit_code, 0) << "writes work again";
}

}  // namespace
}  // namespace rpfs::testing
