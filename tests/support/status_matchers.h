// ASSERT_OK / EXPECT_OK for a Status or a Result<T>: on failure they print the expression
// and the status (as RocksDB's test_util/testharness.h does), and take more context with <<:
//   ASSERT_OK(fs->Lookup(dir, name)) << "looking up " << name;
#pragma once

#include <gtest/gtest.h>

#include "rpfs/status.h"

namespace rpfs::testing {

inline Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace rpfs::testing

#define RPFS_TEST_CHECK_OK_(expr, fail)                                       \
  GTEST_AMBIGUOUS_ELSE_BLOCKER_                                               \
  if (::rpfs::Status _rpfs_s = ::rpfs::testing::StatusOf(expr); _rpfs_s.ok()) \
    ;                                                                         \
  else                                                                        \
    fail() << #expr << ": " << _rpfs_s.ToString() << " "

#define ASSERT_OK(expr) RPFS_TEST_CHECK_OK_(expr, FAIL)
#define EXPECT_OK(expr) RPFS_TEST_CHECK_OK_(expr, ADD_FAILURE)
