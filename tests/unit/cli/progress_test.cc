// The progress bar as a terminal shows it (a pseudo-terminal here): never past 100 %, never
// more done than the total.
#include "cli/progress.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace rpfs::cli {
namespace {

TEST(ProgressBarTest, AnUnderestimatedTotalGrowsWithTheWork) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    GTEST_SKIP() << "no pseudo-terminal here";
  }
  FILE* tty = ::fdopen(slave, "w");
  ASSERT_NE(tty, nullptr);
  {
    ProgressBar bar(tty, "create");
    bar.Update(50, 100);
    bar.Update(300, 200);  // more done than the estimate said
  }
  std::fclose(tty);
  std::string shown;
  char buf[4096];
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;)
    shown.append(buf, static_cast<size_t>(n));
  ::close(master);
  EXPECT_NE(shown.find("create  50%  50 B / 100 B"), std::string::npos) << shown;
  EXPECT_NE(shown.find("create 100%  300 B / 300 B"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("300 B / 200 B"), std::string::npos) << shown;
}

}  // namespace
}  // namespace rpfs::cli
