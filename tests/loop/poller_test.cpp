// Poller::wait: 0 on EINTR, but any other epoll_wait error aborts with its reason (a broken
// poller would otherwise make the loop spin silently; issue 13, point 4).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "brigade/loop/poller.hpp"

using namespace brigade;

namespace {
// Closes every epoll instance of this process behind its owner's back.
void close_epoll_fds() {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec && target.string() == "anon_inode:[eventpoll]")
      ::close(std::stoi(e.path().filename().string()));
  }
}
}  // namespace

TEST(Poller, WaitsWithoutEvents) {
  Poller p;
  PollEvent ev[1];
  EXPECT_EQ(p.wait(ev, 1, 0), 0);
}

TEST(PollerDeathTest, AnEpollWaitErrorOtherThanEintrAborts) {
  EXPECT_DEATH(
      {
        Poller p;
        close_epoll_fds();
        PollEvent ev[1];
        p.wait(ev, 1, 0);
      },
      "epoll_wait failed: Bad file descriptor");
}
