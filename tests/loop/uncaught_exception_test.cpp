// Exceptions escaping callbacks (issue 16, items 5 and 6): Node's rule. With a handler the loop
// reports each one with its origin and goes on; without one the process prints it and exits 1;
// a handler that throws ends run() with the loop consistent.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade/loop.hpp"

using namespace brigade;

namespace {
struct Seen {
  std::vector<std::string> what;
  std::vector<std::string> origin;
};

void collect(Loop& loop, Seen& seen) {
  loop.on_uncaught_exception([&seen](std::exception_ptr e, const char* origin) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      seen.what.push_back(ex.what());
    }
    seen.origin.push_back(origin);
  });
}
}  // namespace

TEST(UncaughtException, TickAndMicrotaskErrorsLeaveTheQueuesWorking) {
  Loop loop;
  Seen seen;
  collect(loop, seen);
  std::vector<std::string> order;
  loop.next_tick([] { throw std::runtime_error("tick"); });
  loop.next_tick([&] { order.push_back("tick 2"); });
  loop.queue_microtask([] { throw std::runtime_error("microtask"); });
  loop.queue_microtask([&] { order.push_back("microtask 2"); });
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"tick 2", "microtask 2"}));
  EXPECT_EQ(seen.what, (std::vector<std::string>{"tick", "microtask"}));
  EXPECT_EQ(seen.origin.at(0), "next tick or microtask");
  EXPECT_FALSE(loop.running());
  // The drain is not left marked as running: later microtasks still run after each callback.
  bool later = false;
  loop.set_immediate([&] { loop.queue_microtask([&] { later = true; }); });
  loop.run();
  EXPECT_TRUE(later);
}

TEST(UncaughtException, EveryPhaseReportsItsOriginAndGoesOn) {
  Loop loop;
  Seen seen;
  collect(loop, seen);
  int after = 0;
  loop.set_timeout(1, [] { throw std::runtime_error("t"); });
  loop.set_timeout(1, [&] { ++after; });  // same batch, after the throwing one
  loop.set_immediate([] { throw std::runtime_error("i"); });
  loop.set_immediate([&] { ++after; });
  loop.post([] { throw std::runtime_error("p"); });
  loop.post([&] { ++after; });
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  IoWatch w;
  w.fd = fds[0];
  w.data = &loop;
  w.handler = [](IoWatch& self, uint32_t) {
    static_cast<Loop*>(self.data)->io_stop(self);
    throw std::runtime_error("io");
  };
  ASSERT_EQ(loop.io_start(w, io::kReadable), 0);
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  loop.run();
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(after, 3);
  std::vector<std::string> sorted = seen.origin;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted,
            (std::vector<std::string>{"immediate", "io callback", "posted callback", "timer"}));
}

TEST(UncaughtException, AThrowingIntervalKeepsItsCallback) {
  Loop loop;
  Seen seen;
  collect(loop, seen);
  int runs = 0;
  TimerId id;
  id = loop.set_interval(1, [&] {
    if (++runs == 3) loop.clear_timer(id);
    throw std::runtime_error("interval");
  });
  loop.run();
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(seen.what.size(), 3u);
}

TEST(UncaughtException, AThrowingHandlerEndsRunWithTheLoopConsistent) {
  Loop loop;
  loop.on_uncaught_exception([](std::exception_ptr e, const char*) { std::rethrow_exception(e); });
  bool same_turn = false, next_run = false;
  loop.set_timeout(1, [] { throw std::runtime_error("fatal"); });
  loop.set_immediate([&] { same_turn = true; });  // the iteration is finished first
  EXPECT_THROW(loop.run(), std::runtime_error);
  EXPECT_FALSE(loop.running());
  EXPECT_TRUE(same_turn);
  EXPECT_EQ(Loop::current(), &loop);
  loop.next_tick([&] { next_run = true; });
  loop.run();  // the loop runs again
  EXPECT_TRUE(next_run);
  EXPECT_FALSE(loop.running());
}

TEST(UncaughtExceptionDeathTest, WithoutAHandlerTheProcessExitsWithCode1) {
  EXPECT_EXIT(
      {
        Loop loop;
        loop.set_timeout(1, [] { throw std::runtime_error("boom"); });
        loop.run();
        std::exit(0);
      },
      testing::ExitedWithCode(1), "uncaught exception in timer: boom");
  EXPECT_EXIT(
      {
        Loop loop;
        loop.next_tick([] { throw std::logic_error("tock"); });
        loop.run();
        std::exit(0);
      },
      testing::ExitedWithCode(1), "uncaught exception in next tick or microtask: tock");
}
