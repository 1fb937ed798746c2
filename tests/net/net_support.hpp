#pragma once
// Shared pieces of the net tests: an echo handler, a hang guard, byte patterns.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/loop.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task.hpp"

namespace net_test {

using namespace brigade;
using namespace brigade::net;

// Echoes until EOF, then closes; a reset peer just ends it.
inline Task<void> echo(Stream s) {
  char buf[16384];
  try {
    for (;;) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      co_await s.write(std::span<const char>(buf, n));
    }
  } catch (const Error&) {
  }
}

// A test that hangs is a failure, not a stuck CI: abort after `ms` (an unref'd timer).
class HangGuard {
 public:
  HangGuard(Loop& loop, uint64_t ms) : timer_(loop) {
    timer_.start(ms, [] {
      std::fprintf(stderr, "net test: timed out\n");
      std::abort();
    });
    timer_.unref();
  }

 private:
  Timer timer_;
};

inline std::vector<char> pattern(std::size_t n, unsigned seed = 1) {
  std::vector<char> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : v) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return v;
}

// brigade::run itself returns as soon as its task ends (even in the timer phase).
template <typename T>
T run_test(Loop& loop, Task<T> task) {
  return run(loop, std::move(task));
}

// Closes the server and runs the loop until its connections have ended, so that no connection
// coroutine outlives the test (clients must be closed by then).
inline void drain(Loop& loop, Listener& server) {
  server.close();
  loop.run();
}

// A blocking client connect to 127.0.0.1 (the kernel completes it into the listener's backlog):
// the fd, or -1.
inline int connect_blocking(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

// Lowers the soft RLIMIT_NOFILE so that only `spare` fd numbers are free; restores it after.
class FdLimit {
 public:
  explicit FdLimit(int spare) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int lowest = ::dup(0);
    ::close(lowest);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(lowest + spare);
    ::setrlimit(RLIMIT_NOFILE, &low);
  }
  ~FdLimit() { restore(); }
  void restore() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

// Reads until EOF.
inline Task<std::string> read_all(Stream& s) {
  std::string out;
  char buf[4096];
  for (;;) {
    std::size_t n = co_await s.read(buf);
    if (n == 0) co_return out;
    out.append(buf, n);
  }
}

}  // namespace net_test
