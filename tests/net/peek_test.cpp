// Stream::try_peek: whether bytes wait, without taking them (MSG_PEEK).
#include "net_support.hpp"

using namespace net_test;

TEST(StreamPeek, PeekLeavesTheBytesForTheNextRead) {
  Loop loop;
  Listener l = listen_tcp(loop, "127.0.0.1", 0);
  int fd = connect_blocking(l.port());
  ASSERT_GE(fd, 0);
  int accepted = -1;
  ASSERT_EQ(l.accept_backlog([&](int a) { accepted = a; }), 1u);
  Stream s = Stream::adopt(loop, accepted, Stream::Kind::kSocket);
  char buf[8];
  EXPECT_EQ(s.try_peek(buf), -EAGAIN);  // nothing yet
  ASSERT_EQ(::send(fd, "abc", 3, 0), 3);
  long n = -1;
  for (int i = 0; i < 100 && n < 3; ++i) {  // loopback delivers at once; allow the scheduler
    n = s.try_peek(buf);
    if (n < 3) ::usleep(1000);
  }
  ASSERT_EQ(n, 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
  EXPECT_EQ(s.try_peek(buf), 3);  // still there
  EXPECT_EQ(s.try_read(buf), 3);  // and the read gets them
  EXPECT_EQ(std::string(buf, 3), "abc");
  ::close(fd);
  for (int i = 0; i < 100 && (n = s.try_peek(buf)) != 0; ++i) ::usleep(1000);
  EXPECT_EQ(n, 0);  // EOF
  s.close();
  EXPECT_EQ(s.try_peek(buf), -EBADF);
}
