// Spin hooks (the poll phase lends its sleep to a bounded busy-wait) and post() while the loop is
// awake (no eventfd write): the spin counts as idle time, a hook that finds work stops the loop
// from blocking, a removed hook is not called, a post during a busy callback is not left waiting.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "brigade/loop.hpp"

using namespace brigade;

namespace {
void busy_wait_ns(uint64_t ns) {
  const uint64_t end = Loop::hrtime() + ns;
  while (Loop::hrtime() < end) {
  }
}
}  // namespace

TEST(SpinHook, SpinTimeCountsAsIdle) {
  Loop loop;
  int calls = 0;
  loop.add_spin_hook([&](uint64_t max_ns) {
    ++calls;
    busy_wait_ns(std::min<uint64_t>(max_ns, 20'000'000));  // 20 ms of "spinning"
    return false;
  });
  loop.set_timeout(60, [] {});
  const Utilization before = loop.metrics().elu;
  loop.run();
  const Utilization used = loop.metrics().elu.since(before);
  EXPECT_GE(calls, 1);
  EXPECT_GE(used.idle_ns, 40'000'000u);  // the spins and the sleeps: most of the 60 ms
  EXPECT_LT(used.active_ns, 20'000'000u);
}

TEST(SpinHook, ASpinThatFindsWorkKeepsTheLoopFromBlocking) {
  Loop loop;
  bool ran = false;
  uint64_t id = 0;
  id = loop.add_spin_hook([&](uint64_t) {
    loop.set_immediate([&] { ran = true; });
    loop.remove_hook(id);
    return true;
  });
  loop.set_timeout(5'000, [] {});  // would block the poll for 5 s
  const uint64_t start = Loop::hrtime();
  while (!ran) loop.run_once();
  EXPECT_LT(Loop::hrtime() - start, 1'000'000'000u);
  loop.stop();
}

TEST(SpinHook, PostDuringABusyCallbackRunsWithoutAWakeup) {
  Loop loop;
  bool got = false;
  loop.ref();  // alive until the post arrives
  loop.set_immediate([&] {
    std::thread poster([&] {
      loop.post([&] {
        got = true;
        loop.unref();
      });
    });
    poster.join();  // the post lands while this callback keeps the loop awake
  });
  const uint64_t start = Loop::hrtime();
  loop.set_timeout(10'000, [] {});  // a 10 s poll if the post were missed
  while (!got && Loop::hrtime() - start < 5'000'000'000u) loop.run_once();
  EXPECT_TRUE(got);
  EXPECT_LT(Loop::hrtime() - start, 2'000'000'000u);
}
