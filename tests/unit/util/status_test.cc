#include "rpfs/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace rpfs {
namespace {

using Code = Status::Code;
using ::testing::HasSubstr;

TEST(StatusTest, DefaultIsOkWithEmptyMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.sys_errno(), 0);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::OK().ok());
}

struct FactoryCase {
  Status status;
  Code code;
  const char* name;
};

std::vector<FactoryCase> AllFactories() {
  return {
      {Status::NotFound("m"), Code::kNotFound, "NotFound"},
      {Status::AlreadyExists("m"), Code::kAlreadyExists, "AlreadyExists"},
      {Status::InvalidArgument("m"), Code::kInvalidArgument, "InvalidArgument"},
      {Status::Busy("m"), Code::kBusy, "Busy"},
      {Status::Corruption("m"), Code::kCorruption, "Corruption"},
      {Status::IOError("m"), Code::kIOError, "IOError"},
      {Status::NoSpace("m"), Code::kNoSpace, "NoSpace"},
      {Status::PermissionDenied("m"), Code::kPermissionDenied, "PermissionDenied"},
      {Status::NotSupported("m"), Code::kNotSupported, "NotSupported"},
      {Status::Aborted("m"), Code::kAborted, "Aborted"},
      {Status::ReadOnly("m"), Code::kReadOnly, "ReadOnly"},
      {Status::Stale("m"), Code::kStale, "Stale"},
      {Status::NotADirectory("m"), Code::kNotADirectory, "NotADirectory"},
      {Status::IsADirectory("m"), Code::kIsADirectory, "IsADirectory"},
      {Status::BadHandle("m"), Code::kBadHandle, "BadHandle"},
      {Status::NoData("m"), Code::kNoData, "NoData"},
      {Status::CrossDevice("m"), Code::kCrossDevice, "CrossDevice"},
      {Status::TooLarge("m"), Code::kTooLarge, "TooLarge"},
      {Status::NotPermitted("m"), Code::kNotPermitted, "NotPermitted"},
      {Status::NoAttribute("m"), Code::kNoAttribute, "NoAttribute"},
  };
}

TEST(StatusTest, EachFactorySetsItsCodeMessageAndName) {
  for (const FactoryCase& c : AllFactories()) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_STREQ(Status::CodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
  EXPECT_STREQ(Status::CodeName(Code::kOk), "OK");
}

TEST(StatusTest, PredicatesAreTrueOnlyForTheirOwnCode) {
  for (const FactoryCase& c : AllFactories()) {
    SCOPED_TRACE(c.name);
    const Status& s = c.status;
    EXPECT_EQ(s.IsNotFound(), c.code == Code::kNotFound);
    EXPECT_EQ(s.IsAlreadyExists(), c.code == Code::kAlreadyExists);
    EXPECT_EQ(s.IsInvalidArgument(), c.code == Code::kInvalidArgument);
    EXPECT_EQ(s.IsBusy(), c.code == Code::kBusy);
    EXPECT_EQ(s.IsCorruption(), c.code == Code::kCorruption);
    EXPECT_EQ(s.IsIOError(), c.code == Code::kIOError);
    EXPECT_EQ(s.IsNoSpace(), c.code == Code::kNoSpace);
  }
  EXPECT_FALSE(Status::OK().IsNotFound());
}

TEST(StatusTest, OnlyIOErrorAndNoSpaceCarryAnErrno) {
  EXPECT_EQ(Status::IOError("read", EIO).sys_errno(), EIO);
  EXPECT_EQ(Status::IOError("read").sys_errno(), 0);
  EXPECT_EQ(Status::NoSpace("full").sys_errno(), ENOSPC);
  EXPECT_EQ(Status::NotFound("x").sys_errno(), 0);
  EXPECT_EQ(Status::Corruption("x").sys_errno(), 0);
}

TEST(StatusTest, WithContextPrependsContextAndKeepsCodeAndErrno) {
  Status inner = Status::IOError("short read", EIO);
  Status outer = inner.WithContext("reading chunk ", "abcd");
  EXPECT_EQ(outer.code(), Code::kIOError);
  EXPECT_EQ(outer.sys_errno(), EIO);
  EXPECT_EQ(outer.message(), "reading chunk abcd: short read");
  EXPECT_EQ(outer.ToString(), "IOError: reading chunk abcd: short read");
  EXPECT_EQ(inner.message(), "short read");  // the original is unchanged
}

TEST(StatusTest, WithContextFormatsNumbersAndNestsOutermostFirst) {
  Status s = Status::NotFound("vm web01 does not exist")
                 .WithContext("reading disk ", 2, " of ", 3u)
                 .WithContext("creating rp web01/day1");
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.message(), "creating rp web01/day1: reading disk 2 of 3: vm web01 does not exist");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::OK().WithContext("doing ", 1, " thing");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, CopiesCompareEqualInCodeAndMessage) {
  Status a = Status::Busy("store is in use");
  Status b = a;
  EXPECT_EQ(b.code(), a.code());
  EXPECT_EQ(b.message(), a.message());
}

struct ErrnoCase {
  int err;
  Code code;
};

TEST(StatusTest, FromErrnoMapsErrnoToCode) {
  const std::vector<ErrnoCase> cases = {
      {ENOSPC, Code::kNoSpace},
      {EDQUOT, Code::kNoSpace},
      {EACCES, Code::kPermissionDenied},
      {EPERM, Code::kPermissionDenied},
      {EROFS, Code::kReadOnly},
      {ENOTDIR, Code::kNotADirectory},
      {EISDIR, Code::kIsADirectory},
      {EXDEV, Code::kCrossDevice},
      {EFBIG, Code::kTooLarge},
      {ENOENT, Code::kNotFound},
      {EBUSY, Code::kBusy},
      {EAGAIN, Code::kBusy},
      {EIO, Code::kIOError},
      {EINVAL, Code::kIOError},
  };
  for (const ErrnoCase& c : cases) {
    SCOPED_TRACE(std::strerror(c.err));
    Status s = Status::FromErrno(c.err, "opening /x");
    EXPECT_EQ(s.code(), c.code);
    EXPECT_EQ(s.sys_errno(), c.err);
  }
}

TEST(StatusTest, FromErrnoMessageNamesWhatAndCause) {
  Status s = Status::FromErrno(ENOENT, "cannot open /store/LOCK");
  EXPECT_EQ(s.message(), std::string("cannot open /store/LOCK: ") + std::strerror(ENOENT));
}

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("odd " + std::to_string(v));
  return v / 2;
}

Result<int> Quarter(int v, int* steps) {
  RPFS_ASSIGN_OR_RETURN(int h, Half(v));
  ++*steps;
  int q = 0;
  RPFS_ASSIGN_OR_RETURN(q, Half(h));  // assigning to an existing variable
  ++*steps;
  return q;
}

TEST(ResultTest, HoldsAValueWithOkStatus) {
  Result<std::string> r = std::string("vda");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(*r, "vda");
  EXPECT_EQ(r->size(), 3u);
  EXPECT_EQ(r.value(), "vda");
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = Status::NotFound("no such rp");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_EQ(r.status().message(), "no such rp");
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, AssignOrReturnPassesValuesThrough) {
  int steps = 0;
  Result<int> r = Quarter(12, &steps);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(steps, 2);
}

TEST(ResultTest, AssignOrReturnReturnsTheFirstErrorAndStops) {
  int steps = 0;
  Result<int> first = Quarter(5, &steps);
  EXPECT_TRUE(first.status().IsInvalidArgument());
  EXPECT_EQ(first.status().message(), "odd 5");
  EXPECT_EQ(steps, 0);

  steps = 0;
  Result<int> second = Quarter(6, &steps);
  EXPECT_EQ(second.status().message(), "odd 3");
  EXPECT_EQ(steps, 1);
}

Status Both(const Status& a, const Status& b, int* reached) {
  RPFS_RETURN_IF_ERROR(a);
  ++*reached;
  RPFS_RETURN_IF_ERROR(b);
  ++*reached;
  return Status::OK();
}

TEST(ResultTest, ReturnIfErrorStopsAtTheFirstError) {
  int reached = 0;
  EXPECT_TRUE(Both(Status::OK(), Status::OK(), &reached).ok());
  EXPECT_EQ(reached, 2);

  reached = 0;
  Status s = Both(Status::Busy("first"), Status::Corruption("second"), &reached);
  EXPECT_TRUE(s.IsBusy());
  EXPECT_THAT(s.message(), HasSubstr("first"));
  EXPECT_EQ(reached, 0);

  reached = 0;
  EXPECT_TRUE(Both(Status::OK(), Status::Corruption("second"), &reached).IsCorruption());
  EXPECT_EQ(reached, 1);
}

}  // namespace
}  // namespace rpfs
