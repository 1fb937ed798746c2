// SharedBuffer: atomics, blocking wait/notify across threads, wait_async that leaves the loop free.
#include "brigade/worker/shared_buffer.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

TEST(SharedBuffer, AtomicsOnSlots) {
  SharedBuffer b(16);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(b.slots(), 4u);
  EXPECT_EQ(b.load(0), 0);
  b.store(1, 5);
  EXPECT_EQ(b.add(1, 3), 5);
  EXPECT_EQ(b.sub(1, 1), 8);
  EXPECT_EQ(b.exchange(1, 100), 7);
  EXPECT_EQ(b.compare_exchange(1, 99, 1), 100);  // no match: unchanged
  EXPECT_EQ(b.compare_exchange(1, 100, 1), 100);
  EXPECT_EQ(b.load(1), 1);
  SharedBuffer copy = b;  // shares the memory
  copy.store(2, 9);
  EXPECT_EQ(b.load(2), 9);
}

TEST(SharedBuffer, ConcurrentAddsAreAtomic) {
  SharedBuffer b(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([b] {
      for (int i = 0; i < 100000; ++i) b.add(0, 1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(b.load(0), 400000);
}

TEST(SharedBuffer, WaitReturnsNotEqualAndTimesOut) {
  SharedBuffer b(4);
  b.store(0, 1);
  EXPECT_EQ(b.wait(0, 0), WaitResult::kNotEqual);
  EXPECT_EQ(b.wait(0, 1, 20), WaitResult::kTimedOut);
  EXPECT_EQ(b.notify(0), 0);
  EXPECT_STREQ(to_string(WaitResult::kTimedOut), "timed-out");
}

TEST(SharedBuffer, WaitNotifyAcrossThreads) {
  SharedBuffer b(8);
  std::thread t([b] {
    while (b.load(0) == 0) b.wait(0, 0);  // re-check: a wakeup may be spurious
    b.store(1, b.load(0) * 2);
    b.notify(1);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  b.store(0, 21);
  b.notify(0);
  while (b.load(1) == 0) b.wait(1, 0, 1000);
  t.join();
  EXPECT_EQ(b.load(1), 42);
}

TEST(SharedBuffer, PingPongWithAWorker) {
  Loop loop;
  SharedBuffer b(4);  // slot 0: whose turn (0 = main, 1 = worker); the count in slot 0 parity
  constexpr int kRounds = 2000;
  Worker w(
      loop,
      [](WorkerContext& ctx) {
        auto buf = ctx.worker_data.get<SharedBuffer>();
        for (int i = 0; i < kRounds; ++i) {
          while (buf.load(0) != 2 * i + 1) buf.wait(0, 2 * i);
          buf.store(0, 2 * i + 2);
          buf.notify(0);
        }
      },
      Message(b));
  for (int i = 0; i < kRounds; ++i) {
    b.store(0, 2 * i + 1);
    b.notify(0);
    while (b.load(0) != 2 * i + 2) b.wait(0, 2 * i + 1, 1000);
  }
  loop.run();
  EXPECT_EQ(b.load(0), 2 * kRounds);
  EXPECT_EQ(w.exit_code(), 0);
}

TEST(SharedBuffer, WaitAsyncLeavesTheLoopFree) {
  Loop loop;
  SharedBuffer b(4);
  int ticks = 0;
  Timer ticker(loop);
  ticker.start(
      2, [&] { ++ticks; }, true);
  std::thread t([b] {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    b.store(0, 1);
    b.notify(0);
  });
  WaitResult r = run(loop, [&]() -> Task<WaitResult> {
    WaitResult r = co_await b.wait_async(0, 0, 5000);
    ticker.clear();
    co_return r;
  }());
  t.join();
  EXPECT_EQ(r, WaitResult::kOk);
  EXPECT_GE(ticks, 3);  // the timer kept firing while the coroutine waited
}

TEST(SharedBuffer, WaitAsyncNotEqualAndTimeout) {
  Loop loop;
  SharedBuffer b(4);
  b.store(0, 7);
  run(loop, [&]() -> Task<void> {
    EXPECT_EQ(co_await b.wait_async(0, 0), WaitResult::kNotEqual);
    EXPECT_EQ(co_await b.wait_async(0, 7, 20), WaitResult::kTimedOut);
    EXPECT_EQ(b.notify(0), 0);  // the timed-out waiter left the list
  }());
}

TEST(SharedBuffer, NotifyCountsAsyncWaitersAndWakesOnlyCount) {
  Loop loop;
  SharedBuffer b(4);
  int woken = 0;
  auto waiter = [&]() -> Task<void> {
    if (co_await b.wait_async(0, 0, 2000) == WaitResult::kOk) ++woken;
  };
  spawn(waiter());
  spawn(waiter());
  spawn(waiter());
  EXPECT_EQ(b.notify(0, 2), 2);
  loop.run_once(false);
  loop.set_timeout(50, [&] { EXPECT_EQ(b.notify(0), 1); });
  loop.run();
  EXPECT_EQ(woken, 3);
}
