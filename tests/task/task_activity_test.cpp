// The blocked-loop report names what held the loop (issue 16, item 16): a spawned task by its
// name, wherever it was resumed from; a plain timer as "timer", even right after a task ran.
// Also: an unhandled rejection goes to the loop's uncaught-exception handler, as in Node; and a
// sleep after blocking work counts from the call (item 4).
#include <gtest/gtest.h>

#include <string>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {
void busy_wait_ms(uint64_t ms) {
  uint64_t end = Loop::hrtime() + ms * 1'000'000u;
  while (Loop::hrtime() < end) {
  }
}

Task<void> crunch(uint64_t ms) {
  co_await brigade::sleep(5);
  busy_wait_ms(ms);
}

std::string last_blocked(Loop& loop) {
  const auto& r = loop.metrics().blocked_recent;
  return r.empty() ? "none" : r.back().activity;
}

void quiet(Loop& loop) {
  loop.metrics().on_blocked = nullptr;
  loop.set_blocked_threshold_ms(60);
}
}  // namespace

TEST(TaskActivity, ABlockingTaskIsReportedByItsName) {
  Loop loop;
  quiet(loop);
  spawn(crunch(150), "crunch-task");
  loop.run();
  ASSERT_EQ(loop.metrics().blocked_count, 1u);
  EXPECT_EQ(last_blocked(loop), "crunch-task");
  EXPECT_GE(loop.metrics().blocked_recent.back().duration_ns, 140'000'000u);
}

TEST(TaskActivity, NestedTasksAndTasksStartedInCallbacksCarryTheName) {
  Loop loop;
  quiet(loop);
  auto outer = []() -> Task<void> {
    co_await crunch(0);
    co_await crunch(150);  // blocks inside an awaited task, resumed by a timer
  };
  spawn(outer(), "outer-task");
  loop.run();
  EXPECT_EQ(last_blocked(loop), "outer-task");
  loop.set_immediate([] {
    spawn(
        []() -> Task<void> {
          busy_wait_ms(150);  // blocks before its first suspension, inside an immediate
          co_return;
        }(),
        "started-in-immediate");
  });
  loop.run();
  EXPECT_EQ(last_blocked(loop), "started-in-immediate");
}

TEST(TaskActivity, APlainTimerAfterATaskIsReportedAsTimer) {
  Loop loop;
  quiet(loop);
  spawn(crunch(0), "quick-task");
  loop.set_timeout(40, [] { busy_wait_ms(150); });
  loop.run();
  ASSERT_EQ(loop.metrics().blocked_count, 1u);
  EXPECT_EQ(last_blocked(loop), "timer");
  EXPECT_STREQ(loop.activity(), "idle");
}

TEST(TaskActivity, TheNameOutlivesTheTask) {
  Loop loop;
  quiet(loop);
  // The task ends inside the blocked period: the report is written after, from a copy-free name.
  spawn(crunch(150), std::string("temporary-") + "name");
  loop.run();
  EXPECT_EQ(last_blocked(loop), "temporary-name");
}

TEST(TaskActivity, AnUnhandledRejectionGoesToTheLoopsHandler) {
  Loop loop;
  std::string seen;
  loop.on_uncaught_exception([&](std::exception_ptr e, const char* origin) {
    seen = std::string(origin) + ": " + describe_exception(e);
  });
  spawn(
      []() -> Task<void> {
        co_await brigade::sleep(1);
        throw std::runtime_error("rejected");
      }(),
      "failing");
  loop.run();
  EXPECT_EQ(seen, "task 'failing': rejected");
}

TEST(TaskActivity, SleepAfterBlockingWorkCountsFromTheCall) {
  Loop loop;
  uint64_t waited = 0;
  spawn([](uint64_t& out) -> Task<void> {
    co_await brigade::sleep(1);
    busy_wait_ms(100);
    uint64_t t0 = Loop::hrtime();
    co_await brigade::sleep(50);
    out = Loop::hrtime() - t0;
  }(waited));
  loop.run();
  EXPECT_GE(waited, 49'000'000u);
}
