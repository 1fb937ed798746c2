// Slowloris memory, measured on the demo process: connections that each send a partial head
// cost about the bytes they sent plus a small constant, and the memory goes back once they
// are gone.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "demo_process.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace {

using namespace std::chrono_literals;

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Waits until the demo has `n` open connections (its /stats), at most ~10 s.
bool wait_connections(uint16_t port, std::size_t n) {
  for (int i = 0; i < 200; ++i) {
    RawClient c(port);
    c.send("GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    c.read_to_eof();
    std::size_t at = c.buffer().find("\"connections\":");
    if (at != std::string::npos && std::stoul(c.buffer().substr(at + 14)) == n + 1) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(DemoMemory, PartialHeadsCostTheirBytesAndMemoryReturnsAfterwards) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "RSS under a sanitizer's allocator says nothing about the server's";
#endif
  DemoProcess demo;
  if (!demo.built()) GTEST_SKIP() << "demo not built";
  ASSERT_NE(demo.port(), 0);
  // Warm up: the pools, the date cache, a few requests of each kind.
  for (int i = 0; i < 20; ++i) {
    RawClient c(demo.port());
    c.send("GET /users/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    c.read_to_eof();
  }
  ASSERT_TRUE(wait_connections(demo.port(), 0));
  long base = demo.rss_kib();
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;  // the client side holds every connection too
  ::setrlimit(RLIMIT_NOFILE, &nofile);
  int env = std::getenv("BRIGADE_SLOWLORIS_CONNS")
                ? std::atoi(std::getenv("BRIGADE_SLOWLORIS_CONNS"))
                : 3000;
  const int kConns = std::min<int>(env, int(nofile.rlim_cur) - 100);
  ASSERT_GE(kConns, 500) << "too few file descriptors for the test";
  const std::string partial = "GET /users/1 HTTP/1.1\r\nHost: t\r\nX-Slow: ";  // 41 bytes
  std::vector<int> fds;
  for (int i = 0; i < kConns; ++i) {
    int fd = connect_to(demo.port());
    ASSERT_GE(fd, 0) << i;
    ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL), ssize_t(partial.size()));
    fds.push_back(fd);
  }
  ASSERT_TRUE(wait_connections(demo.port(), kConns));
  long loaded = demo.rss_kib();
  for (int fd : fds) ::close(fd);
  ASSERT_TRUE(wait_connections(demo.port(), 0));
  std::this_thread::sleep_for(1500ms);  // an idle server trims what it cached
  ASSERT_TRUE(wait_connections(demo.port(), 0));
  long after = demo.rss_kib();
  double per_conn = double(loaded - base) * 1024 / kConns;
  std::printf(
      "demo RSS: %ld KiB at rest, %ld KiB with %d partial heads (%.0f bytes each), "
      "%ld KiB after they closed\n",
      base, loaded, kConns, per_conn, after);
  // Generous: the socket's own kernel memory is not in RSS; a partial head costs its bytes,
  // the connection's state and a small parse buffer (a page or two), not a whole buffer.
  EXPECT_LT(per_conn, 4096.0);
  EXPECT_LT(after, base + 4 * 1024) << "memory kept after the connections closed";
}

}  // namespace
}  // namespace brigade::http::testing
