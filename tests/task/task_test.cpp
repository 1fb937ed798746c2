#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {
Task<int> add_later(int a, int b, uint64_t ms) {
  co_await brigade::sleep(ms);
  co_return a + b;
}

Task<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}

Task<void> fail_after(uint64_t ms) {
  co_await brigade::sleep(ms);
  throw std::runtime_error("boom");
}
}  // namespace

TEST(Task, RunReturnsValue) {
  Loop loop;
  EXPECT_EQ(run(loop, add_later(2, 3, 5)), 5);
}

TEST(Task, ExceptionsPropagateThroughAwait) {
  Loop loop;
  auto outer = []() -> Task<std::string> {
    try {
      co_await fail_after(1);
    } catch (const std::runtime_error& e) {
      co_return std::string("caught ") + e.what();
    }
    co_return "not thrown";
  };
  EXPECT_EQ(run(loop, outer()), "caught boom");
  EXPECT_THROW(run(loop, fail_after(1)), std::runtime_error);
}

TEST(Task, DeepChainsOfAwaitsComplete) {
  Loop loop;
  EXPECT_EQ(run(loop, deep(2000)), 2000);
}

TEST(Task, SpawnStartsAtOnceAndRunsDetached) {
  Loop loop;
  std::vector<std::string> order;
  auto job = [&]() -> Task<void> {
    order.push_back("start");
    co_await brigade::sleep(2);
    order.push_back("end");
  };
  spawn(job(), "job");
  order.push_back("after spawn");
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"start", "after spawn", "end"}));
}

TEST(Task, UnhandledRejectionIsReportedWithName) {
  Loop loop;
  std::string seen;
  set_unhandled_rejection_handler([&](const std::string& name, std::exception_ptr e) {
    seen = name + ": " + describe_exception(e);
  });
  spawn(fail_after(1), "worker-7");
  loop.run();
  set_unhandled_rejection_handler(nullptr);
  EXPECT_EQ(seen, "worker-7: boom");
}

TEST(TaskDeathTest, UnhandledRejectionEndsProcessByDefault) {
  EXPECT_EXIT(
      {
        Loop loop;
        spawn(fail_after(1), "fatal-task");
        loop.run();
      },
      testing::ExitedWithCode(1), "unhandled rejection in task 'fatal-task': boom");
}

TEST(Task, WhenAllRunsConcurrently) {
  Loop loop;
  uint64_t t0 = Loop::hrtime();
  auto [a, b, c] = run(loop, when_all(add_later(1, 1, 50), add_later(2, 2, 50), add_later(3, 3, 50)));
  uint64_t ms = (Loop::hrtime() - t0) / 1'000'000u;
  EXPECT_EQ(a + b + c, 12);
  EXPECT_LT(ms, 140u);  // three 50 ms sleeps overlap
  std::vector<Task<int>> v;
  for (int i = 0; i < 100; ++i) v.push_back(add_later(i, 0, 1 + i % 7));
  auto all = run(loop, when_all(std::move(v)));
  ASSERT_EQ(all.size(), 100u);
  EXPECT_EQ(all[42], 42);
}

TEST(Task, WhenAllRethrowsFirstFailure) {
  Loop loop;
  auto ok = []() -> Task<void> { co_await brigade::sleep(1); };
  EXPECT_THROW(run(loop, when_all(ok(), fail_after(2), ok())), std::runtime_error);
}

TEST(Task, WhenAnyResumesWithTheFirst) {
  Loop loop;
  std::vector<Task<int>> v;
  v.push_back(add_later(10, 0, 60));
  v.push_back(add_later(20, 0, 5));
  v.push_back(add_later(30, 0, 40));
  auto r = run(loop, when_any(std::move(v)));
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(r.value, 20);
  loop.run();  // the losers finish and are freed (ASan checks)
}

TEST(Task, SleepCancelledByStopToken) {
  Loop loop;
  std::stop_source src;
  loop.set_timeout(5, [&] { src.request_stop(); });
  uint64_t t0 = Loop::hrtime();
  EXPECT_THROW(run(loop, [](std::stop_token t) -> Task<void> { co_await brigade::sleep(10'000, t); }(src.get_token())),
               CancelledError);
  EXPECT_LT(Loop::hrtime() - t0, 2'000'000'000u);
}

TEST(Task, SleepCancelledFromAnotherThread) {
  Loop loop;
  std::stop_source src;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    src.request_stop();
  });
  EXPECT_THROW(run(loop, [](std::stop_token tok) -> Task<void> { co_await brigade::sleep(10'000, tok); }(src.get_token())),
               CancelledError);
  t.join();
}

TEST(Task, WithTimeoutThrowsTimeoutErrorAndStopsTheTask) {
  Loop loop;
  bool saw_cancel = false;
  auto slow = [&](std::stop_token t) -> Task<int> {
    try {
      co_await brigade::sleep(10'000, t);
    } catch (const CancelledError&) {
      saw_cancel = true;
      throw;
    }
    co_return 1;
  };
  EXPECT_THROW(run(loop, with_timeout(10, slow)), TimeoutError);
  EXPECT_TRUE(saw_cancel);
  auto fast = [](std::stop_token t) -> Task<int> {
    co_await brigade::sleep(1, t);
    co_return 7;
  };
  EXPECT_EQ(run(loop, with_timeout(1000, fast)), 7);
}

TEST(Task, YieldLetsTimersAndImmediatesInterleave) {
  Loop loop;
  std::vector<std::string> order;
  auto t = [&]() -> Task<void> {
    order.push_back("a");
    co_await yield_now();
    order.push_back("b");
    co_await next_microtask();
    order.push_back("c");
  };
  loop.set_immediate([&] { order.push_back("imm"); });
  spawn(t());
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "imm", "b", "c"}));
}

TEST(Task, AsyncLocalFlowsThroughAwaitAndSpawn) {
  Loop loop;
  AsyncLocal<std::string> request_id;
  std::vector<std::string> seen;
  auto inner = [&]() -> Task<void> {
    co_await brigade::sleep(1);
    seen.push_back(request_id.get() ? *request_id.get() : "none");
  };
  auto handler = [&](int ms) -> Task<void> {
    co_await brigade::sleep(ms);
    seen.push_back(*request_id.get());
    co_await inner();
    spawn(inner(), "child");
    seen.push_back(*request_id.get());
  };
  spawn(request_id.run("req-1", handler(5)));
  spawn(request_id.run("req-2", handler(1)));
  spawn(inner());
  loop.run();
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"none", "req-1", "req-1", "req-1", "req-1", "req-2",
                                            "req-2", "req-2", "req-2"}));
}

TEST(Task, WhenAllAndWhenAnyKeepMovableValues) {
  Loop loop;
  auto text = [](std::string s, uint64_t ms) -> Task<std::string> {
    co_await brigade::sleep(ms);
    co_return s;
  };
  auto [a, b] = run(loop, when_all(text(std::string(100, 'a'), 2), text(std::string(200, 'b'), 1)));
  EXPECT_EQ(a.size(), 100u);
  EXPECT_EQ(b.size(), 200u);
  std::vector<Task<std::string>> v;
  v.push_back(text(std::string(50, 'x'), 30));
  v.push_back(text(std::string(70, 'y'), 1));
  auto r = run(loop, when_any(std::move(v)));
  EXPECT_EQ(r.value, std::string(70, 'y'));
  loop.run();
}

TEST(Task, RunReturnsWhenTheTaskEndsEvenIfTheLoopStaysAlive) {
  Loop loop;
  loop.ref();  // a listener, say: the loop would never run out of work
  uint64_t t0 = Loop::hrtime();
  EXPECT_EQ(run(loop, add_later(1, 2, 5)), 3);
  EXPECT_LT(Loop::hrtime() - t0, 2'000'000'000u);
  loop.unref();
}

TEST(Task, AsyncLocalReachesEveryTaskOfWhenAll) {
  Loop loop;
  AsyncLocal<int> id;
  auto read_id = [&](uint64_t ms) -> Task<int> {
    co_await brigade::sleep(ms);
    co_return id.get() ? *id.get() : -1;
  };
  auto [a, b, c] = run(loop, id.run(7, when_all(read_id(3), read_id(1), read_id(2))));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, 7);
  EXPECT_EQ(c, 7);
}

// A directly awaited task borrows its awaiter's context uncounted; a when_any loser cannot, as it
// outlives the call, the task that made it and the context bound to that task: it keeps it.
TEST(Task, AWhenAnyLoserKeepsItsContextAfterItsParentEnded) {
  Loop loop;
  AsyncLocal<std::string> id;
  std::vector<std::string> seen;
  auto read_after = [&](uint64_t ms) -> Task<int> {
    co_await brigade::sleep(ms);
    seen.push_back(id.get() ? *id.get() : "none");
    co_return 0;
  };
  auto parent = [&]() -> Task<void> {
    std::vector<Task<int>> v;
    v.push_back(read_after(1));
    v.push_back(read_after(30));  // ends long after parent and its context node are gone
    co_await when_any(std::move(v));
    co_await read_after(0);  // an awaited child sees the same context
  };
  spawn(id.run(std::string(64, 'r'), parent()), "parent");
  loop.run();
  EXPECT_EQ(seen, (std::vector<std::string>{std::string(64, 'r'), std::string(64, 'r'),
                                            std::string(64, 'r')}));
}

// Contexts nest: an inner run() binds over the outer one for its task and what it awaits, and
// the outer task sees its own again afterwards (the borrowed context is restored on resumption).
TEST(Task, AsyncLocalNestsAndIsRestoredAfterAnInnerRun) {
  Loop loop;
  AsyncLocal<int> id;
  std::vector<int> seen;
  auto read = [&]() -> Task<void> {
    co_await brigade::next_microtask();
    seen.push_back(id.get() ? *id.get() : -1);
  };
  auto outer = [&]() -> Task<void> {
    co_await read();
    co_await id.run(2, read());
    co_await read();
  };
  run(loop, id.run(1, outer()));
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 1}));
}
