// Listener::accept_backlog (take every queued connection before a close, as a draining cluster
// does) and reserve_port (hold a port for SO_REUSEPORT listeners).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "brigade/error.hpp"
#include "brigade/net/listener.hpp"

using namespace brigade;

namespace {

// A blocking client connect: the kernel completes the handshake into the listener's backlog.
int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

TEST(Listener, AcceptBacklogTakesEveryQueuedConnection) {
  Loop loop;
  net::Listener l = net::listen_tcp(loop, "127.0.0.1", 0);
  std::vector<int> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(connect_to(l.port()));
  std::vector<int> taken;
  // The loop has not polled: no readable edge was seen, the backlog is still taken whole.
  EXPECT_EQ(l.accept_backlog([&](int fd) { taken.push_back(fd); }), 5u);
  ASSERT_EQ(taken.size(), 5u);
  for (int fd : taken) {
    EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK);
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ::close(fd);
  }
  EXPECT_EQ(l.accepted(), 5u);
  EXPECT_EQ(l.accept_backlog([&](int) { ADD_FAILURE() << "nothing was queued"; }), 0u);
  l.close();
  EXPECT_EQ(l.accept_backlog([&](int) { ADD_FAILURE() << "closed"; }), 0u);
  for (int fd : clients) ::close(fd);
}

TEST(Listener, ReservePortHoldsAPortForReusePortListeners) {
  Loop loop;
  uint16_t port = 0;
  int held = net::reserve_port("127.0.0.1", port);
  ASSERT_GE(held, 0);
  EXPECT_NE(port, 0);
  EXPECT_TRUE(::fcntl(held, F_GETFD) & FD_CLOEXEC);
  net::ListenOptions reuse;
  reuse.reuse_port = true;
  net::Listener a = net::listen_tcp(loop, "127.0.0.1", port, reuse);
  net::Listener b = net::listen_tcp(loop, "127.0.0.1", port, reuse);
  EXPECT_EQ(a.port(), port);
  EXPECT_EQ(b.port(), port);
  try {
    net::listen_tcp(loop, "127.0.0.1", port);  // without SO_REUSEPORT: refused
    ADD_FAILURE() << "bound a reserved port without reuse_port";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EADDRINUSE);
  }
  ::close(held);
  uint16_t p6 = 0;
  int v6 = -1;
  try {
    v6 = net::reserve_port("::1", p6);
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EADDRNOTAVAIL) << e.what();  // no IPv6 here
  }
  if (v6 >= 0) {
    EXPECT_NE(p6, 0);
    ::close(v6);
  }
  uint16_t p = 0;
  try {
    net::reserve_port("localhost", p);
    ADD_FAILURE() << "a hostname was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
  }
}

}  // namespace
