#include "util/unix_socket.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "support/status_matchers.h"
#include "support/temp_dir.h"

namespace rpfs {
namespace {

TEST(UnixSocketTest, PassesMessagesAndDescriptors) {
  testing::TempDir dir;
  auto listener = ListenUnix(dir.path(), "s.sock");
  ASSERT_OK(listener);
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  std::thread client([&] {
    auto c = ConnectUnix(dir.path(), "s.sock");
    ASSERT_OK(c);
    ASSERT_OK(SendMessage(c->get(), "hello", {pipefd[1]}));
    auto reply = ReceiveMessage(c->get(), 16);
    ASSERT_OK(reply);
    EXPECT_EQ(*reply, "bye");
  });
  auto conn = AcceptUnix(listener->get());
  ASSERT_OK(conn);
  std::vector<UniqueFd> fds;
  auto msg = ReceiveMessage(conn->get(), 64, &fds);
  ASSERT_OK(msg);
  EXPECT_EQ(*msg, "hello");
  ASSERT_EQ(fds.size(), 1u);
  // The received descriptor is the client's pipe: what we write arrives at its other end.
  ASSERT_EQ(::write(fds[0].get(), "x", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  auto peer = PeerOf(conn->get());
  ASSERT_OK(peer);
  EXPECT_EQ(peer->uid, ::geteuid());
  EXPECT_EQ(peer->pid, ::getpid());  // the client is a thread of this process
  ASSERT_OK(SendMessage(conn->get(), "bye"));
  client.join();
  ::close(pipefd[0]);
  ::close(pipefd[1]);
}

TEST(UnixSocketTest, NobodyListeningIsNotFound) {
  testing::TempDir dir;
  EXPECT_TRUE(ConnectUnix(dir.path(), "none.sock").status().IsNotFound());
  {
    auto l = ListenUnix(dir.path(), "stale.sock");  // closed at once: a dead daemon's socket
    ASSERT_OK(l);
  }
  EXPECT_TRUE(ConnectUnix(dir.path(), "stale.sock").status().IsNotFound());
  auto again = ListenUnix(dir.path(), "stale.sock");  // replaces the stale file
  EXPECT_OK(again);
}

TEST(UnixSocketTest, DirectoriesDeeperThanSunPathWork) {
  testing::TempDir dir;
  std::string deep = dir.path();
  while (deep.size() < 200) deep += "/a-rather-long-directory-name";
  ASSERT_EQ(std::system(("mkdir -p " + deep).c_str()), 0);
  auto l = ListenUnix(deep, "s.sock");
  ASSERT_OK(l);
  auto c = ConnectUnix(deep, "s.sock");
  EXPECT_OK(c);
}

TEST(UnixSocketTest, OversizedMessageIsRefused) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
  ASSERT_OK(SendMessage(sv[0], std::string(100, 'x')));
  auto m = ReceiveMessage(sv[1], 10);
  EXPECT_TRUE(m.status().IsInvalidArgument()) << m.status().ToString();
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace rpfs
