// The exit-code table (docs/cli.md, "Exit codes"): each cause a script tells apart has its
// own code, and the codes agree with the control file's errnos (fs::ToErrno) cause by cause.
#include "cli/exit_codes.h"

#include <gtest/gtest.h>

namespace rpfs::cli {
namespace {

TEST(ExitCodesTest, EachCauseHasItsCode) {
  EXPECT_EQ(ExitCodeFor(Status::OK()), 0);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("bad name")), 2);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("rp vm/x does not exist")), 3);
  EXPECT_EQ(ExitCodeFor(Status::FromErrno(ENOENT, "cannot open /x")), 3);
  EXPECT_EQ(ExitCodeFor(Status::AlreadyExists("rp vm/x already exists")), 4);
  EXPECT_EQ(ExitCodeFor(Status::Busy("vm vm is busy")), 5);
  EXPECT_EQ(ExitCodeFor(Status::FromErrno(EBUSY, "image vda")), 5);
  EXPECT_EQ(ExitCodeFor(Status::PermissionDenied("rp vm/x is protected")), 6);
  EXPECT_EQ(ExitCodeFor(Status::NotPermitted("rollback not confirmed")), 6);
  EXPECT_EQ(ExitCodeFor(Status::ReadOnly("read-only")), 6);
  EXPECT_EQ(ExitCodeFor(Status::NotSupported("a FIFO")), 6);
  EXPECT_EQ(ExitCodeFor(Status::Corruption("chunk 7")), 7);
  EXPECT_EQ(ExitCodeFor(Status::IOError("read", EIO)), 1);
  EXPECT_EQ(ExitCodeFor(Status::NoSpace("store full")), 1);
  EXPECT_EQ(ExitCodeFor(Status::Aborted("interrupted")), 1);
}

TEST(ExitCodesTest, CodesAreDistinctAndClearOfShellMeanings) {
  const int codes[] = {kExitOk,   kExitFailed,  kExitUsage,   kExitNotFound, kExitExists,
                       kExitBusy, kExitRefused, kExitDamaged, kExitInternal};
  for (size_t i = 0; i < std::size(codes); ++i) {
    EXPECT_LT(codes[i], 126) << "126 and up mean 'not executable', 'not found' or a signal";
    for (size_t j = i + 1; j < std::size(codes); ++j) EXPECT_NE(codes[i], codes[j]);
  }
}

}  // namespace
}  // namespace rpfs::cli
