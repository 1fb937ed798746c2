// WorkerPool async tasks: a function returning Task<T> runs on its worker's own loop. Values and
// errors, cancellation and timeouts through the token, max_concurrent_per_worker (a task awaits a
// timer while another runs on the same worker), a dying worker, a pool destroyed mid-task.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/worker_pool.hpp"

namespace worker_pool_async_test {

using namespace brigade;

namespace {

PoolOptions threads(std::size_t n, std::size_t per_worker = 1) {
  PoolOptions o;
  o.min_threads = o.max_threads = n;
  o.max_concurrent_per_worker = per_worker;
  return o;
}

// Sleeps on the worker's loop, then answers with where it ran.
Task<std::string> where_after_sleep(uint64_t ms, Loop* main_loop, std::thread::id main_thread) {
  Loop* mine = Loop::current();
  co_await brigade::sleep(ms);
  bool on_worker = mine && mine != main_loop && Loop::current() == mine &&
                   std::this_thread::get_id() != main_thread;
  co_return on_worker ? "worker loop" : "wrong loop";
}

// Counts how many tasks run at once; each holds its slot for ms on its loop's timer.
struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  Task<int> hold(uint64_t ms) {
    int n = ++now;
    int p = peak.load();
    while (n > p && !peak.compare_exchange_weak(p, n)) {
    }
    co_await brigade::sleep(ms);
    --now;
    co_return n;
  }
};

}  // namespace

TEST(WorkerPoolAsync, ReturnsValuesFromTheWorkersLoop) {
  Loop loop;
  WorkerPool pool(loop, threads(2));
  Loop* main_loop = &loop;
  run(loop, [&]() -> Task<void> {
    const auto main_thread = std::this_thread::get_id();
    auto job = pool.run([=] { return where_after_sleep(5, main_loop, main_thread); });
    EXPECT_EQ(co_await job, "worker loop");
    auto twice = pool.run(
        [](int x) -> Task<int> {
          co_await brigade::sleep(1);
          co_return 2 * x;
        },
        21);
    EXPECT_EQ(co_await twice, 42);
    bool ran = false;
    auto void_job = pool.run([&ran]() -> Task<void> {
      co_await brigade::yield_now();
      ran = true;
    });
    co_await void_job;
    EXPECT_TRUE(ran);
  }());
  EXPECT_EQ(pool.stats().completed, 3u);
}

TEST(WorkerPoolAsync, RethrowsAnExceptionFromTheTask) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  run(loop, [&]() -> Task<void> {
    auto job = pool.run([]() -> Task<int> {
      co_await brigade::sleep(2);
      throw std::runtime_error("async task failed");
    });
    try {
      co_await job;
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "async task failed");
    }
    auto after = pool.run([]() -> Task<int> { co_return 7; });  // the worker is still fine
    EXPECT_EQ(co_await after, 7);
  }());
  EXPECT_EQ(pool.stats().failed, 1u);
}

TEST(WorkerPoolAsync, CancellingStopsTheTasksToken) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  std::atomic<bool> saw_cancel{false};
  run(loop, [&]() -> Task<void> {
    std::stop_source stop;
    TaskOptions o;
    o.token = stop.get_token();
    auto job = pool.run_with(o, [&saw_cancel](std::stop_token token) -> Task<int> {
      try {
        co_await brigade::sleep(60'000, token);
      } catch (const CancelledError&) {
        saw_cancel = true;
        throw;
      }
      co_return 1;
    });
    co_await brigade::sleep(20);  // it is running: waiting on the worker's timer
    const uint64_t start = Loop::hrtime();
    stop.request_stop();
    EXPECT_THROW(co_await job, CancelledError);
    EXPECT_LT(Loop::hrtime() - start, 5'000'000'000u);
    // The worker's slot comes back once the task has ended on its loop.
    auto next = pool.run([]() -> Task<int> { co_return 2; });
    EXPECT_EQ(co_await next, 2);
  }());
  EXPECT_TRUE(saw_cancel);
  EXPECT_EQ(pool.stats().cancelled, 1u);
}

TEST(WorkerPoolAsync, TimeoutEndsAWaitingTask) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  run(loop, [&]() -> Task<void> {
    TaskOptions o;
    o.timeout_ms = 30;
    const uint64_t start = Loop::hrtime();
    auto job = pool.run_with(
        o, [](std::stop_token token) -> Task<void> { co_await brigade::sleep(60'000, token); });
    EXPECT_THROW(co_await job, TimeoutError);
    const uint64_t took = Loop::hrtime() - start;
    EXPECT_GE(took, 10'000'000u);  // not at once; the loop's cached clock may start it early
    EXPECT_LT(took, 5'000'000'000u);
  }());
  EXPECT_EQ(pool.stats().timed_out, 1u);
}

TEST(WorkerPoolAsync, OneTaskAtATimePerWorkerByDefault) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  Concurrency c;
  run(loop, [&]() -> Task<void> {
    std::vector<PoolRun<int>> jobs;
    for (int i = 0; i < 4; ++i) jobs.push_back(pool.run([&c] { return c.hold(10); }));
    for (auto& j : jobs) EXPECT_EQ(co_await j, 1);
  }());
  EXPECT_EQ(c.peak.load(), 1);
}

TEST(WorkerPoolAsync, AWorkerRunsUpToItsLimitAtOnce) {
  Loop loop;
  WorkerPool pool(loop, threads(1, 3));
  Concurrency c;
  run(loop, [&]() -> Task<void> {
    std::vector<PoolRun<int>> jobs;
    for (int i = 0; i < 9; ++i) jobs.push_back(pool.run([&c] { return c.hold(30); }));
    for (auto& j : jobs) co_await j;
  }());
  EXPECT_EQ(c.peak.load(), 3);
  EXPECT_EQ(pool.stats().completed, 9u);
}

TEST(WorkerPoolAsync, ATaskAwaitingATimerLetsAnotherRunOnItsWorker) {
  Loop loop;
  WorkerPool pool(loop, threads(1, 2));
  std::vector<std::string> order;
  run(loop, [&]() -> Task<void> {
    auto slow = pool.run([]() -> Task<std::string> {
      co_await brigade::sleep(150);
      co_return "slow";
    });
    co_await brigade::sleep(10);  // the slow one waits on the worker's timer by now
    auto quick = pool.run([] { return std::string("quick"); });
    order.push_back(co_await quick);
    order.push_back(co_await slow);
  }());
  EXPECT_EQ(order, (std::vector<std::string>{"quick", "slow"}));
}

TEST(WorkerPoolAsync, ADyingWorkerFailsItsTaskAndIsReplaced) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  run(loop, [&]() -> Task<void> {
    auto dies = pool.run([]() -> Task<int> {
      co_await brigade::sleep(1);
      worker_exit(3);
    });
    try {
      co_await dies;
      ADD_FAILURE() << "no exception";
    } catch (const WorkerDiedError& e) {
      EXPECT_EQ(e.exit_code(), 3);
    }
    auto after = pool.run([]() -> Task<int> { co_return 5; });
    EXPECT_EQ(co_await after, 5);
  }());
  EXPECT_EQ(pool.stats().workers_died, 1u);
}

TEST(WorkerPoolAsync, DestroyingThePoolFailsATaskInFlight) {
  Loop loop;
  auto pool = std::make_unique<WorkerPool>(loop, threads(1));
  std::atomic<bool> started{false};
  std::string outcome;
  auto waiter = [&]() -> Task<void> {
    auto job = pool->run([&started]() -> Task<int> {
      started = true;
      co_await brigade::sleep(60'000);  // no token: only the pool's end stops it
      co_return 1;
    });
    try {
      co_await job;
      outcome = "value";
    } catch (const PoolClosedError&) {
      outcome = "closed";
    }
  };
  spawn(waiter());
  run(loop, [&]() -> Task<void> {
    for (int i = 0; i < 600 && !started; ++i) co_await brigade::sleep(5);
  }());
  ASSERT_TRUE(started);
  const uint64_t start = Loop::hrtime();
  pool.reset();
  EXPECT_LT(Loop::hrtime() - start, 5'000'000'000u);  // the worker's timer did not hold it
  EXPECT_EQ(outcome, "closed");
}

}  // namespace worker_pool_async_test
