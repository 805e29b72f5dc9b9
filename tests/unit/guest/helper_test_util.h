// Shared by the helper tests: options that start rpfs_guest_fake_helper, its volume, and the
// zombie check.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "guest/helper_client.h"

namespace rpfs::guest {

inline HelperOptions FakeHelper(std::vector<std::string> args = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  HelperOptions o;
  o.argv = {RPFS_GUEST_FAKE_HELPER};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.call_timeout = timeout;
  return o;
}

// "Hello" then 9 MiB of a pattern: bigger than two VolumeReads and two Read calls.
inline const std::string& FakeVolumeBytes() {
  static const std::string bytes = [] {
    std::string b = "Hello";
    b.resize(9u << 20);
    for (size_t i = 5; i < b.size(); ++i) b[i] = static_cast<char>(i * 7 + i / 4096);
    return b;
  }();
  return bytes;
}

// Every helper this process started has been reaped: waitpid sees no child at all.
inline void ExpectNoChildren() {
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "a child is left over";
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace rpfs::guest
