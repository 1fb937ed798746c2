// SharedBuffer::wait spins before it sleeps: only a notify ends the wait (a changed value alone
// does not), notify counts and wakes spinning and sleeping waiters alike, up to its count.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/shared_buffer.hpp"

using namespace brigade;

TEST(SharedBufferSpin, AChangedValueWithoutNotifyDoesNotEndTheWait) {
  SharedBuffer b(4);
  std::atomic<bool> waiting{false};
  WaitResult r = WaitResult::kOk;
  std::thread t([&] {
    waiting = true;
    r = b.wait(0, 0, 200);
  });
  while (!waiting) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  b.store(0, 1);  // no notify: the waiter keeps waiting (spinning or asleep) until its timeout
  t.join();
  EXPECT_EQ(r, WaitResult::kTimedOut);
}

TEST(SharedBufferSpin, NotifyWakesUpToCountWaiters) {
  SharedBuffer b(4);
  std::atomic<int> woken{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; ++i)
    ts.emplace_back([&] {
      if (b.wait(0, 0, 5'000) == WaitResult::kOk) ++woken;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // all three wait by now
  int n = 0;
  for (int i = 0; i < 200 && n == 0; ++i) {  // a waiter may still be on its way in
    n = b.notify(0, 1);
    if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(n, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(b.notify(0), 2);
  for (auto& t : ts) t.join();
  EXPECT_EQ(woken.load(), 3);
}

TEST(SharedBufferSpin, NotifyWithNobodyWaitingWakesNoOne) {
  SharedBuffer b(8);
  EXPECT_EQ(b.notify(0), 0);
  EXPECT_EQ(b.notify(1, 1), 0);
}

TEST(SharedBufferSpin, FastPingPongLosesNoTurn) {
  SharedBuffer b(4);
  constexpr int kRounds = 20'000;
  std::thread t([b] {
    for (int i = 0; i < kRounds; ++i) {
      while (b.load(0) != 2 * i + 1) b.wait(0, 2 * i);
      b.store(0, 2 * i + 2);
      b.notify(0);
    }
  });
  const uint64_t start = Loop::hrtime();
  for (int i = 0; i < kRounds; ++i) {
    b.store(0, 2 * i + 1);
    b.notify(0);
    while (b.load(0) != 2 * i + 2) b.wait(0, 2 * i + 1);
  }
  t.join();
  EXPECT_EQ(b.load(0), 2 * kRounds);
  EXPECT_LT(Loop::hrtime() - start, 30'000'000'000u);
}
