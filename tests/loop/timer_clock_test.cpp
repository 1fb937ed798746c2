// Timers count from the call, not from the loop's cached time (issue 16, item 4): after a
// callback that blocked, set_timeout(50) still waits >= 50 ms, as in Node.
#include <gtest/gtest.h>

#include <vector>

#include "brigade/loop.hpp"

using namespace brigade;

namespace {
void busy_wait_ms(uint64_t ms) {
  uint64_t end = Loop::hrtime() + ms * 1'000'000u;
  while (Loop::hrtime() < end) {
  }
}
// The loop's clock has millisecond steps: a delay may read up to 1 ms short on the ns clock.
constexpr uint64_t kStepNs = 1'000'000u;
}  // namespace

TEST(TimerClock, ATimeoutSetAfterBlockingWorkCountsFromTheCall) {
  Loop loop;
  uint64_t set_at = 0, fired_at = 0;
  loop.set_immediate([&] {
    busy_wait_ms(100);
    set_at = Loop::hrtime();
    loop.set_timeout(50, [&] { fired_at = Loop::hrtime(); });
  });
  loop.run();
  ASSERT_NE(fired_at, 0u);
  EXPECT_GE(fired_at - set_at, 50'000'000u - kStepNs);
}

TEST(TimerClock, IntervalsAndRefreshCountFromTheCallToo) {
  Loop loop;
  uint64_t set_at = 0, fired_at = 0, refreshed_at = 0, refired_at = 0;
  TimerId interval;
  Timer timer(loop);
  loop.set_immediate([&] {
    busy_wait_ms(60);
    set_at = Loop::hrtime();
    interval = loop.set_interval(30, [&] {
      fired_at = Loop::hrtime();
      loop.clear_timer(interval);
    });
    timer.start(20, [&] { refired_at = Loop::hrtime(); });
    busy_wait_ms(40);  // the timer is due by now; a refresh restarts it from here
    refreshed_at = Loop::hrtime();
    timer.refresh();
  });
  loop.run();
  EXPECT_GE(fired_at - set_at, 30'000'000u - kStepNs);
  EXPECT_GE(refired_at - refreshed_at, 20'000'000u - kStepNs);
}

TEST(TimerClock, TimersSetInOneCallbackStillFireInOrder) {
  Loop loop;
  std::vector<int> order;
  loop.set_immediate([&] {
    // Wide margins: a loaded machine may preempt between the calls.
    loop.set_timeout(200, [&] { order.push_back(1); });  // due at +200
    busy_wait_ms(100);
    loop.set_timeout(150, [&] { order.push_back(2); });  // due at +250
    loop.set_timeout(50, [&] { order.push_back(0); });   // due at +150
  });
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));  // by deadline, each counted from its call
}
