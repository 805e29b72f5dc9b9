// kill -9 (a SIGKILL at a named crash point) at every stage of create and delete leaves
// either the whole RP or nothing, and verify finds no leaked or missing object afterwards.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/images.h"
#include "support/run.h"
#include "support/temp_dir.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    img_ = dir_ / "vda.raw";
    MakeSparseFile(img_, 64 * kMiB);
    WriteAt(img_, 0, TextBytes(1, 20 * kMiB));
    WriteAt(img_, 40 * kMiB, PatternBytes(2, 10 * kMiB));
    ASSERT_EQ(Rpfs(store(), {"init"}).exit_code, 0);
    ASSERT_EQ(Rpfs(store(), {"vm", "add", "vm", "--disk", "vda=" + img_}).exit_code, 0);
    ASSERT_EQ(Rpfs(store(), {"create", "vm", "base"}).exit_code, 0);
    base_ = ReadAll(img_);
    // Enough change for several ingest batches of new data.
    WriteAt(img_, 20 * kMiB, PatternBytes(3, 36 * kMiB));
    changed_ = ReadAll(img_);
  }

  std::string store() const { return dir_ / "store"; }

  std::vector<std::string> RpNames() {
    auto r = Rpfs(store(), {"list", "vm", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> names;
    for (const auto& e : nlohmann::json::parse(r.out)) names.push_back(e["name"]);
    return names;
  }

  void ExpectExport(const std::string& rp, const std::vector<std::byte>& want) {
    std::string out = dir_ / ("out-" + rp + ".raw");
    auto r = Rpfs(store(), {"export", "vm", rp, "vda", "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(ReadAll(out) == want) << rp << " does not match the image as it was";
    ::unlink(out.c_str());
  }

  void ExpectVerifyClean() {
    auto r = Rpfs(store(), {"verify"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  TempDir dir_;
  std::string img_;
  std::vector<std::byte> base_, changed_;
};

// gtest parameter names: the crash point with non-alphanumerics as '_'.
template <typename Param>
std::string PointName(const ::testing::TestParamInfo<Param>& p) {
  std::string n = p.param.point;
  for (char& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

struct CreateCase {
  const char* point;
  bool committed;
};

class CreateCrashTest : public CrashTest, public ::testing::WithParamInterface<CreateCase> {};

TEST_P(CreateCrashTest, RpIsWholeOrAbsentAndNothingLeaks) {
  const CreateCase& c = GetParam();
  auto r = Rpfs(store(), {"create", "vm", "next"}, {{"RPFS_CRASH_AT", c.point}});
  ASSERT_EQ(r.signal, SIGKILL) << "crash point " << c.point << " was not reached: " << r.err;
  auto names = RpNames();  // reopening the store runs recovery
  bool present = std::find(names.begin(), names.end(), "next") != names.end();
  EXPECT_EQ(present, c.committed) << c.point;
  ExpectVerifyClean();
  ExpectExport("base", base_);
  if (present) ExpectExport("next", changed_);
  // The store works normally afterwards: the same name can be (re)used.
  if (!present) {
    ASSERT_EQ(Rpfs(store(), {"create", "vm", "next"}).exit_code, 0);
    ExpectExport("next", changed_);
    ExpectVerifyClean();
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStage, CreateCrashTest,
                         ::testing::Values(CreateCase{"ingest.batch:1", false},
                                           CreateCase{"ingest.batch:3", false},
                                           CreateCase{"tx.before_flush", false},
                                           CreateCase{"tx.after_flush", false},
                                           CreateCase{"create.before_commit", false},
                                           CreateCase{"tx.after_commit", true}),
                         PointName<CreateCase>);

struct DeleteCase {
  const char* point;
  bool deleted;
};

class DeleteCrashTest : public CrashTest, public ::testing::WithParamInterface<DeleteCase> {};

TEST_P(DeleteCrashTest, RpIsGoneOrIntactAndSpaceIsReclaimed) {
  const DeleteCase& c = GetParam();
  ASSERT_EQ(Rpfs(store(), {"create", "vm", "next"}).exit_code, 0);
  auto r = Rpfs(store(), {"delete", "vm", "next"}, {{"RPFS_CRASH_AT", c.point}});
  ASSERT_EQ(r.signal, SIGKILL) << "crash point " << c.point << " was not reached: " << r.err;
  auto names = RpNames();
  bool present = std::find(names.begin(), names.end(), "next") != names.end();
  EXPECT_EQ(present, !c.deleted) << c.point;
  ExpectVerifyClean();  // also proves the freed objects are gone (no leaked refcount 0)
  ExpectExport("base", base_);
  if (present) ExpectExport("next", changed_);
}

INSTANTIATE_TEST_SUITE_P(EveryStage, DeleteCrashTest,
                         ::testing::Values(DeleteCase{"delete.before_commit", false},
                                           DeleteCase{"delete.after_commit", true},
                                           DeleteCase{"gc.before_batch", true}),
                         PointName<DeleteCase>);

}  // namespace
}  // namespace rpfs::testing
