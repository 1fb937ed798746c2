// Worker: workerData, messages both ways and in order, error/exit events, worker_exit, terminate
// (cooperative stop and the unresponsive report), and the exited() awaitable.
#include "brigade/worker/worker.hpp"

#include <atomic>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"

using namespace brigade;

namespace {
long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
}  // namespace

TEST(Worker, WorkerDataInResultOutThenExitZero) {
  Loop loop;
  long got = 0;
  std::vector<std::string> events;
  Worker w(
      loop,
      [](WorkerContext& ctx) { ctx.parent_port.post_message(fib(ctx.worker_data.get<int>())); },
      Message(20));
  w.on_message([&](Message m) {
    got = m.get<long>();
    events.push_back("message");
  });
  w.on_exit([&](int code) { events.push_back("exit " + std::to_string(code)); });
  loop.run();
  EXPECT_EQ(got, 6765);
  EXPECT_EQ(events, (std::vector<std::string>{"message", "exit 0"}));
  EXPECT_FALSE(w.running());
}

TEST(Worker, ManyMessagesArriveInOrderBeforeExit) {
  Loop loop;
  constexpr int kCount = 50000;
  int next = 0;
  bool ordered = true, exit_after_all = false;
  Worker w(loop, [](WorkerContext& ctx) {
    for (int i = 0; i < kCount; ++i) ctx.parent_port.post_message(i);
  });
  w.on_message([&](Message m) { ordered &= m.get<int>() == next++; });
  w.on_exit([&](int) { exit_after_all = next == kCount; });
  loop.set_blocked_threshold_ms(0);
  loop.run();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(next, kCount);
  EXPECT_TRUE(exit_after_all);
}

TEST(Worker, EchoesOverParentPortUntilClosed) {
  Loop loop;
  Worker w(loop, [](WorkerContext& ctx) {
    ctx.parent_port.on_message([&ctx](Message m) {
      int v = m.get<int>();
      if (v < 0) return ctx.parent_port.close();
      ctx.parent_port.post_message(v + 1);
    });
  });
  int rounds = 0;
  w.on_message([&](Message m) {
    int v = m.get<int>();
    ++rounds;
    w.post_message(v < 1000 ? v : -1);
  });
  w.post_message(0);
  run(loop, [&]() -> Task<void> { EXPECT_EQ(co_await w.exited(), 0); }());
  EXPECT_EQ(rounds, 1000);
}

TEST(Worker, ExceptionEscapingIsAnErrorEventThenExitOne) {
  Loop loop;
  std::string message;
  int code = -1;
  Worker w(loop, [](WorkerContext&) { throw std::runtime_error("boom in worker"); });
  w.on_error([&](std::exception_ptr e) { message = describe_exception(e); });
  w.on_exit([&](int c) { code = c; });
  loop.run();
  EXPECT_EQ(message, "boom in worker");
  EXPECT_EQ(code, 1);
}

TEST(Worker, ExceptionInAMessageHandlerOrCoroutineEndsTheWorker) {
  Loop loop;
  std::string message;
  Worker w(loop, [](WorkerContext& ctx) -> Task<void> {
    co_await brigade::sleep(1);
    ctx.parent_port.post_message(1);
    throw std::logic_error("after await");
  });
  int messages = 0;
  w.on_message([&](Message) { ++messages; });
  w.on_error([&](std::exception_ptr e) { message = describe_exception(e); });
  loop.run();
  EXPECT_EQ(messages, 1);
  EXPECT_EQ(message, "after await");
  EXPECT_EQ(w.exit_code(), 1);
}

TEST(Worker, WorkerExitSetsTheCode) {
  Loop loop;
  Worker w(loop, [](WorkerContext& ctx) {
    ctx.parent_port.on_message([](Message m) { worker_exit(m.get<int>()); });
  });
  w.post_message(42);
  bool errored = false;
  w.on_error([&](std::exception_ptr) { errored = true; });
  loop.run();
  EXPECT_EQ(w.exit_code(), 42);
  EXPECT_FALSE(errored);
}

TEST(Worker, TerminateStopsAnIdleWorkerAtItsNextTurn) {
  Loop loop;
  Worker w(loop, [](WorkerContext& ctx) { ctx.parent_port.on_message([](Message) {}); });
  loop.set_timeout(20, [&] { w.terminate(); });
  loop.run();
  EXPECT_EQ(w.exit_code(), 1);
}

TEST(Worker, TerminateStopsACpuLoopThatChecksItsToken) {
  Loop loop;
  int ticks = 0;
  Worker w(loop, [](WorkerContext& ctx) {
    volatile uint64_t x = 0;
    while (!ctx.stop_token.stop_requested()) x = x + 1;
  });
  loop.set_interval(5, [&] {
    if (++ticks == 4) w.terminate();  // the main loop kept ticking meanwhile
  });
  Timer stop(loop);
  w.on_exit([&](int) { loop.stop(); });
  loop.run();
  EXPECT_EQ(w.exit_code(), 1);
  EXPECT_GE(ticks, 4);
}

TEST(Worker, AWorkerIgnoringTerminateIsReported) {
  Loop loop;
  std::string error;
  WorkerOptions opts;
  std::atomic<bool> started{false};
  opts.name = "stubborn";
  opts.terminate_grace_ms = 30;
  Worker w(
      loop,
      [&started](WorkerContext&) {
        started = true;
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
        while (std::chrono::steady_clock::now() < end) {  // ignores its stop token
        }
      },
      Message{}, opts);
  w.on_error([&](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const WorkerUnresponsiveError& u) {
      error = u.what();
    }
  });
  // Terminate once the worker is surely inside its loop (a loaded machine may start it late).
  brigade::TimerId poll;
  poll = loop.set_interval(2, [&] {
    if (!started) return;
    loop.clear_timer(poll);
    w.terminate();
  });
  loop.run();
  EXPECT_NE(error.find("stubborn"), std::string::npos) << error;
  EXPECT_EQ(w.exit_code(), 1);
}

TEST(Worker, DestroyingARunningWorkerTerminatesAndJoins) {
  Loop loop;
  {
    Worker w(loop, [](WorkerContext& ctx) { ctx.parent_port.on_message([](Message) {}); });
    loop.run_once(false);
  }
  EXPECT_FALSE(loop.alive());
}

TEST(Worker, RoundTripLatency) {
  Loop loop;
  Worker w(loop, [](WorkerContext& ctx) {
    ctx.parent_port.on_message([&ctx](Message m) {
      int v = m.get<int>();
      if (v < 0) return ctx.parent_port.close();
      ctx.parent_port.post_message(v);
    });
  });
  constexpr int kRounds = 20000;
  int n = 0;
  uint64_t start = 0;
  w.on_message([&](Message) {
    if (++n == 100) start = Loop::hrtime();  // warmed up
    w.post_message(n < kRounds ? n : -1);
  });
  w.post_message(0);
  loop.run();
  double us = double(Loop::hrtime() - start) / (kRounds - 100) / 1000.0;
  std::printf("worker message round trip: %.2f us\n", us);
  EXPECT_EQ(n, kRounds);
  EXPECT_LT(us, 1000.0);
}
