#include "brigade/loop.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <thread>
#include <vector>

using namespace brigade;

TEST(Loop, ExitsWhenNothingKeepsItAlive) {
  Loop loop;
  loop.run();
  SUCCEED();
}

TEST(Loop, TimersFireInDeadlineThenCreationOrder) {
  Loop loop;
  std::vector<int> order;
  loop.set_timeout(20, [&] { order.push_back(3); });
  loop.set_timeout(5, [&] { order.push_back(1); });
  loop.set_timeout(5, [&] { order.push_back(2); });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Loop, ClearedTimerNeverFires) {
  Loop loop;
  bool fired = false;
  TimerId id = loop.set_timeout(5, [&] { fired = true; });
  EXPECT_TRUE(loop.clear_timer(id));
  EXPECT_FALSE(loop.clear_timer(id));
  loop.run();
  EXPECT_FALSE(fired);
}

TEST(Loop, IntervalRepeatsUntilCleared) {
  Loop loop;
  int n = 0;
  TimerId id;
  id = loop.set_interval(2, [&] {
    if (++n == 5) loop.clear_timer(id);
  });
  loop.run();
  EXPECT_EQ(n, 5);
}

TEST(Loop, RefreshPushesTheDeadline) {
  Loop loop;
  std::vector<std::string> order;
  // Each timer counts from its own set_timeout call, and a slow (sanitized, loaded) start can
  // put milliseconds between the calls: 40 ms separate a's new deadline (>= 150) from c's (110).
  TimerId a = loop.set_timeout(100, [&] { order.push_back("a"); });
  loop.set_timeout(50, [&] {
    order.push_back("b");
    loop.refresh_timer(a);  // now due 100 ms after this call: past c
  });
  loop.set_timeout(110, [&] { order.push_back("c"); });
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"b", "c", "a"}));
}

TEST(Loop, UnrefTimerDoesNotKeepLoopAlive) {
  Loop loop;
  bool fired = false;
  TimerId id = loop.set_timeout(10'000, [&] { fired = true; });
  loop.unref_timer(id);
  uint64_t t0 = Loop::hrtime();
  loop.run();
  EXPECT_FALSE(fired);
  EXPECT_LT(Loop::hrtime() - t0, 2'000'000'000u);
}

TEST(Loop, RaiiTimerClearsOnDestruction) {
  Loop loop;
  bool fired = false;
  {
    Timer t(loop);
    t.start(5, [&] { fired = true; });
    EXPECT_TRUE(t.active());
  }
  loop.run();
  EXPECT_FALSE(fired);
}

TEST(Loop, NextTickRunsBeforeMicrotasksAfterEveryCallback) {
  Loop loop;
  std::vector<std::string> order;
  loop.set_immediate([&] {
    order.push_back("immediate1");
    loop.queue_microtask([&] { order.push_back("micro1"); });
    loop.next_tick([&] {
      order.push_back("tick1");
      loop.queue_microtask([&] {
        order.push_back("micro2");
        loop.next_tick([&] { order.push_back("tick2"); });
      });
    });
  });
  loop.set_immediate([&] { order.push_back("immediate2"); });
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"immediate1", "tick1", "micro1", "micro2", "tick2",
                                             "immediate2"}));
}

TEST(Loop, ImmediatesQueuedDuringCheckRunNextIteration) {
  Loop loop;
  std::vector<std::string> order;
  loop.set_immediate([&] {
    order.push_back("i1");
    loop.set_immediate([&] { order.push_back("i3"); });
  });
  loop.set_immediate([&] { order.push_back("i2"); });
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"i1", "i2", "i3"}));
}

TEST(Loop, PostFromManyThreadsRunsEverythingOnTheLoop) {
  Loop loop;
  constexpr int kThreads = 4, kEach = 10'000;
  int count = 0;
  auto loop_thread = std::this_thread::get_id();
  bool wrong_thread = false;
  loop.ref();  // alive until all posts arrived
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        loop.post([&] {
          if (std::this_thread::get_id() != loop_thread) wrong_thread = true;
          if (++count == kThreads * kEach) loop.unref();
        });
    });
  loop.run();
  for (auto& t : threads) t.join();
  EXPECT_EQ(count, kThreads * kEach);
  EXPECT_FALSE(wrong_thread);
}

TEST(Loop, IoWatchSeesPipeReadable) {
  Loop loop;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  IoWatch w;
  std::string got;
  struct Ctx {
    Loop* loop;
    std::string* got;
  } ctx{&loop, &got};
  w.fd = fds[0];
  w.data = &ctx;
  w.handler = [](IoWatch& watch, uint32_t) {
    auto* c = static_cast<Ctx*>(watch.data);
    char buf[16];
    ssize_t n = read(watch.fd, buf, sizeof buf);
    c->got->append(buf, n > 0 ? size_t(n) : 0);
    c->loop->io_stop(watch);
  };
  ASSERT_EQ(loop.io_start(w, io::kReadable), 0);
  loop.set_timeout(5, [&] { ASSERT_EQ(write(fds[1], "hi", 2), 2); });
  loop.run();
  EXPECT_EQ(got, "hi");
  close(fds[0]);
  close(fds[1]);
}

TEST(Loop, SignalArrivesAsLoopCallback) {
  Loop loop;
  int got = 0;
  SignalWatcher w(loop, SIGUSR1, [&](int s) {
    got = s;
    loop.stop();
  });
  w.ref();
  loop.set_timeout(5, [] { kill(getpid(), SIGUSR1); });
  loop.run();
  EXPECT_EQ(got, SIGUSR1);
}

TEST(Loop, BlockedLoopIsReportedWithItsActivity) {
  Loop loop;
  loop.set_blocked_threshold_ms(50);
  std::vector<BlockedReport> reports;
  loop.metrics().on_blocked = [&](const BlockedReport& r) { reports.push_back(r); };
  loop.set_timeout(1, [&] {
    loop.set_activity("busy handler");
    uint64_t until = Loop::hrtime() + 200'000'000u;
    while (Loop::hrtime() < until) {
    }
  });
  loop.set_timeout(300, [] {});
  loop.run();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].activity, "busy handler");
  EXPECT_GE(reports[0].duration_ns, 150'000'000u);
  EXPECT_EQ(loop.metrics().blocked_count, 1u);
  EXPECT_GE(loop.metrics().delay.max(), 150'000'000u);
  EXPECT_GT(loop.metrics().elu.active_ns, 150'000'000u);
  EXPECT_GT(loop.metrics().elu.idle_ns, 50'000'000u);
}

TEST(Loop, MillionTimersFitAndFireInOrder) {
  Loop loop;
  constexpr int kN = 1'000'000;
  uint64_t last_due = 0;
  bool ordered = true;
  int fired = 0;
  std::vector<uint64_t> dues(kN);  // each counts from its own call (the clock is read there)
  for (int i = 0; i < kN; ++i) {
    uint64_t ms = (uint64_t(i) * 7919u) % 50u;
    loop.set_timeout(ms, [&, i] {
      if (dues[i] < last_due) ordered = false;
      last_due = dues[i];
      ++fired;
    });
    dues[i] = loop.now() + (ms ? ms : 1);
  }
  EXPECT_EQ(loop.timer_count(), size_t(kN));
  loop.run();
  EXPECT_EQ(fired, kN);
  EXPECT_TRUE(ordered);
}
