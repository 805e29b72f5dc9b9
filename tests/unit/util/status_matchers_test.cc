#include "support/status_matchers.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

namespace rpfs {
namespace {

TEST(StatusMatchersTest, PassOnOkStatusAndResult) {
  EXPECT_OK(Status::OK());
  ASSERT_OK(Result<int>(7));
}

TEST(StatusMatchersTest, FailurePrintsTheExpressionAndTheStatus) {
  EXPECT_NONFATAL_FAILURE(EXPECT_OK(Status::NotFound("vm web01 does not exist")),
                          "NotFound: vm web01 does not exist");
  EXPECT_NONFATAL_FAILURE(EXPECT_OK(Result<int>(Status::Busy("store in use"))) << "while x",
                          "Busy: store in use while x");
  EXPECT_FATAL_FAILURE(ASSERT_OK(Status::IOError("read failed")), "IOError: read failed");
}

}  // namespace
}  // namespace rpfs
