// The poller backend returns a failed wait's error (-EINTR for a signal), and the loop aborts
// with the reason on anything but EINTR: a broken poller would otherwise make it spin silently
// (issue 13, point 4).
#include "../../src/loop/poller.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "brigade/loop/loop.hpp"

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
constexpr int64_t kSecondNs = 1'000'000'000;  // Poller::wait counts in ns
}  // namespace

TEST(Poller, WaitsWithoutEvents) {
  auto p = make_poller();
  PollEvent ev[1];
  EXPECT_EQ(p->wait(ev, 1, 0), 0);
}

TEST(Poller, ReportsReadinessWithTheGivenPointer) {
  auto p = make_poller();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  int tag = 0;
  ASSERT_EQ(p->add(fds[0], io::kReadable, &tag), 0);
  EXPECT_EQ(p->add(fds[0], io::kReadable, &tag), EEXIST);
  PollEvent ev[4];
  EXPECT_EQ(p->wait(ev, 4, 0), 0);
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  ASSERT_EQ(p->wait(ev, 4, kSecondNs), 1);
  EXPECT_EQ(ev[0].data, &tag);
  EXPECT_TRUE(ev[0].events & io::kReadable);
  ::close(fds[1]);
  ASSERT_EQ(p->wait(ev, 4, kSecondNs), 1);
  EXPECT_TRUE(ev[0].events & io::kHangup);
  EXPECT_EQ(p->remove(fds[0]), 0);
  EXPECT_EQ(p->remove(fds[0]), ENOENT);
  ::close(fds[0]);
}

TEST(Poller, ASignalEndsTheWaitWithEintr) {
  struct sigaction sa {};
  sa.sa_handler = [](int) {};  // no SA_RESTART: epoll_wait returns EINTR
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  auto p = make_poller();
  pthread_t self = pthread_self();
  std::atomic<bool> done{false};
  std::thread killer([self, &done] {  // again and again: one signal may land before the wait
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!done.load()) pthread_kill(self, SIGUSR2);
    }
  });
  PollEvent ev[1];
  EXPECT_EQ(p->wait(ev, 1, 10 * kSecondNs), -EINTR);
  done.store(true);
  killer.join();
  sigaction(SIGUSR2, &old, nullptr);
}

TEST(PollerDeathTest, ALoopWhosePollerFailsAbortsWithTheReason) {
  EXPECT_DEATH(
      {
        ::setenv("BRIGADE_BACKEND", "epoll", 1);  // a ring's registered fd outlives its close
        Loop loop;
        loop.set_timeout(1000, [] {});
        close_epoll_fds();
        loop.run_once();
      },
      "the event loop cannot wait for I/O: epoll wait failed: Bad file descriptor");
}
