// WorkerPool: values and errors, 100,000 tasks with 10% throwing, dying workers replaced,
// cancellation (queued and running), timeouts, priority, maxQueue backpressure, idle shrink,
// close(), destruction with queued work, stats and JSON.
#include "brigade/worker/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/pool_stats_json.hpp"
#include "brigade/worker/shared_buffer.hpp"

using namespace brigade;

namespace {
// A gate tasks wait behind until the test opens it.
struct Gate {
  SharedBuffer b{4};
  void wait() const {
    while (b.load(0) == 0) b.wait(0, 0, 1000);
  }
  void open() {
    b.store(0, 1);
    b.notify(0);
  }
};

PoolOptions threads(std::size_t n) {
  PoolOptions o;
  o.min_threads = o.max_threads = n;
  return o;
}

// Waits (on the loop) until pred holds, for at most ms.
template <typename P>
Task<bool> eventually(P pred, int ms = 3000) {
  for (int i = 0; i < ms / 5; ++i) {
    if (pred()) co_return true;
    co_await brigade::sleep(5);
  }
  co_return pred();
}
}  // namespace

TEST(WorkerPool, ReturnsValuesAndRethrows) {
  Loop loop;
  WorkerPool pool(loop, threads(2));
  run(loop, [&]() -> Task<void> {
    EXPECT_EQ(co_await pool.run([](int a, int b) { return a * b; }, 6, 7), 42);
    std::string s = co_await pool.run([](std::string x) { return x + "!"; }, std::string("hi"));
    EXPECT_EQ(s, "hi!");
    co_await pool.run([] {});
    EXPECT_THROW(co_await pool.run([]() -> int { throw std::runtime_error("task failed"); }),
                 std::runtime_error);
    EXPECT_NE(std::this_thread::get_id(),
              co_await pool.run([] { return std::this_thread::get_id(); }));
  }());
  EXPECT_EQ(pool.stats().completed, 4u);
  EXPECT_EQ(pool.stats().failed, 1u);
}

TEST(WorkerPool, HundredThousandTasksTenPercentThrowNoneLostOrDuplicated) {
  Loop loop;
  WorkerPool pool(loop, threads(2));
  constexpr int kTasks = 100000;
  auto runs = std::make_shared<std::vector<std::atomic<int>>>(kTasks);
  int ok = 0, failed = 0, wrong = 0;
  run(loop, [&]() -> Task<void> {
    std::vector<PoolRun<int>> pending;
    pending.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i)
      pending.push_back(pool.run(
          [runs](int i) {
            (*runs)[i].fetch_add(1, std::memory_order_relaxed);
            if (i % 10 == 3) throw std::runtime_error("task " + std::to_string(i));
            return i * 2;
          },
          i));
    for (int i = 0; i < kTasks; ++i) {
      try {
        wrong += (co_await pending[i]) != i * 2;
        ++ok;
      } catch (const std::runtime_error& e) {
        wrong += std::string(e.what()) != "task " + std::to_string(i);
        ++failed;
      }
    }
  }());
  EXPECT_EQ(ok, 90000);
  EXPECT_EQ(failed, 10000);
  EXPECT_EQ(wrong, 0);
  int not_once = 0;
  for (auto& r : *runs) not_once += r.load() != 1;
  EXPECT_EQ(not_once, 0);
  PoolStats s = pool.stats();
  EXPECT_EQ(s.completed, 90000u);
  EXPECT_EQ(s.failed, 10000u);
  EXPECT_EQ(s.run_time.count(), uint64_t(kTasks));
  EXPECT_EQ(s.queue_size, 0u);
}

TEST(WorkerPool, DyingWorkersAreReplacedAndOnlyTheirTaskFails) {
  Loop loop;
  WorkerPool pool(loop, threads(2));
  constexpr int kTasks = 5000;
  auto runs = std::make_shared<std::vector<std::atomic<int>>>(kTasks);
  int ok = 0, died = 0;
  run(loop, [&]() -> Task<void> {
    std::vector<PoolRun<int>> pending;
    for (int i = 0; i < kTasks; ++i)
      pending.push_back(pool.run(
          [runs](int i) {
            (*runs)[i].fetch_add(1);
            if (i % 500 == 7) worker_exit(9);  // the worker thread dies with this task
            return i;
          },
          i));
    for (int i = 0; i < kTasks; ++i) {
      try {
        ok += (co_await pending[i]) == i;
      } catch (const WorkerDiedError& e) {
        died += e.exit_code() == 9 && i % 500 == 7;
      }
    }
    EXPECT_TRUE(co_await eventually([&] { return pool.threads() == 2; }));
  }());
  EXPECT_EQ(ok, kTasks - 10);
  EXPECT_EQ(died, 10);
  for (auto& r : *runs) EXPECT_EQ(r.load(), 1);
  EXPECT_EQ(pool.stats().workers_died, 10u);
  // The replacements work.
  EXPECT_EQ(run(loop, [&]() -> Task<int> { co_return co_await pool.run([] { return 5; }); }()), 5);
}

TEST(WorkerPool, CancelAQueuedTaskRemovesIt) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  Gate gate;
  auto ran = std::make_shared<std::atomic<bool>>(false);
  run(loop, [&]() -> Task<void> {
    auto blocker = pool.run([g = gate] { g.wait(); });
    co_await eventually([&] { return pool.queue_size() == 0; });  // the blocker is running
    std::stop_source cancel;
    auto queued = pool.run_with({cancel.get_token()}, [ran] { *ran = true; });
    EXPECT_EQ(pool.queue_size(), 1u);
    cancel.request_stop();
    EXPECT_THROW(co_await queued, CancelledError);
    EXPECT_EQ(pool.queue_size(), 0u);
    gate.open();
    co_await blocker;
  }());
  EXPECT_FALSE(*ran);
  EXPECT_EQ(pool.stats().cancelled, 1u);
}

TEST(WorkerPool, CancelARunningTaskStopsItsToken) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  auto saw_stop = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  run(loop, [&]() -> Task<void> {
    std::stop_source cancel;
    auto task = pool.run_with({cancel.get_token()}, [=](std::stop_token st) {
      *started = true;
      while (!st.stop_requested()) std::this_thread::sleep_for(std::chrono::microseconds(100));
      *saw_stop = true;
      return 1;
    });
    co_await eventually([&] { return started->load(); });
    // Cancelled from another thread, as an AbortController in another part of the program might.
    std::thread([&] { cancel.request_stop(); }).join();
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_TRUE(co_await eventually([&] { return saw_stop->load(); }));
    EXPECT_EQ(co_await pool.run([] { return 2; }), 2);  // the thread is free again
  }());
  EXPECT_EQ(pool.stats().cancelled, 1u);
}

TEST(WorkerPool, TimeoutsForRunningAndQueuedTasks) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  run(loop, [&]() -> Task<void> {
    TaskOptions o;
    o.timeout_ms = 300;
    auto slow = pool.run_with(o, [](std::stop_token st) {
      while (!st.stop_requested()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    });
    // Its deadline comes well before `slow`'s: it times out while still waiting in the queue
    // (with equal deadlines the freed thread could start it first).
    TaskOptions short_wait;
    short_wait.timeout_ms = 30;
    auto queued = pool.run_with(short_wait, [] { return 1; });
    EXPECT_THROW(co_await slow, TimeoutError);
    EXPECT_THROW(co_await queued, TimeoutError);
    TaskOptions generous;
    generous.timeout_ms = 5000;
    EXPECT_EQ(co_await pool.run_with(generous, [] { return 3; }), 3);
  }());
  EXPECT_EQ(pool.stats().timed_out, 2u);
}

TEST(WorkerPool, HigherPriorityRunsFirstFifoWithin) {
  Loop loop;
  WorkerPool pool(loop, threads(1));
  Gate gate;
  auto mu = std::make_shared<std::mutex>();
  auto order = std::make_shared<std::vector<int>>();
  run(loop, [&]() -> Task<void> {
    auto blocker = pool.run([g = gate] { g.wait(); });
    co_await eventually([&] { return pool.queue_size() == 0; });
    std::vector<PoolRun<void>> tasks;
    int prio[] = {0, 5, 1, 5, 10, 0};
    for (int i = 0; i < 6; ++i) {
      TaskOptions o;
      o.priority = prio[i];
      tasks.push_back(pool.run_with(o, [=] {
        std::lock_guard lock(*mu);
        order->push_back(i);
      }));
    }
    gate.open();
    co_await blocker;
    for (auto& t : tasks) co_await t;
  }());
  EXPECT_EQ(*order, (std::vector<int>{4, 1, 3, 2, 0, 5}));
}

TEST(WorkerPool, MaxQueueBackpressure) {
  Loop loop;
  PoolOptions o = threads(1);
  o.max_queue = 3;
  WorkerPool pool(loop, o);
  Gate gate;
  run(loop, [&]() -> Task<void> {
    auto blocker = pool.run([g = gate] { g.wait(); });
    co_await eventually([&] { return pool.queue_size() == 0; });  // the blocker is running
    std::vector<PoolRun<int>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(pool.run([i] { return i; }));
    EXPECT_TRUE(pool.needs_drain());
    EXPECT_THROW(co_await pool.run([] { return 0; }), QueueFullError);
    loop.set_timeout(10, [&] { gate.open(); });
    co_await pool.drain();  // resumes once the queue has room
    EXPECT_FALSE(pool.needs_drain());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(co_await tasks[i], i);
  }());
}

// Piscina's rule: max_queue counts only tasks that cannot start at once. Two idle threads take
// two tasks submitted back to back even with max_queue 0 (the first used to sit in the queue
// until its thread woke, and the second was refused); a third, with both busy, is refused.
TEST(WorkerPool, MaxQueueZeroAcceptsWhatIdleThreadsCanStart) {
  Loop loop;
  PoolOptions o = threads(2);
  o.max_queue = 0;
  WorkerPool pool(loop, o);
  EXPECT_EQ(pool.stats().max_queue, 0u);
  run(loop, [&]() -> Task<void> {
    for (int round = 0; round < 50; ++round) {
      EXPECT_TRUE(co_await eventually([&] { return pool.stats().idle_threads == 2; }));
      Gate gate;
      auto a = pool.run([g = gate] { g.wait(); });
      auto b = pool.run([g = gate] { g.wait(); });  // threw QueueFullError in most rounds
      EXPECT_TRUE(co_await eventually([&] { return pool.stats().running == 2; }));
      EXPECT_TRUE(pool.needs_drain());
      EXPECT_THROW(co_await pool.run([] { return 0; }), QueueFullError);
      gate.open();
      co_await a;
      co_await b;
    }
  }());
}

// With max_queue 0, drain() resumes once a thread is free again, even when that thread goes idle
// after the loop heard of its task's end; run() then takes the task.
TEST(WorkerPool, MaxQueueZeroDrainWaitsForAFreeThread) {
  Loop loop;
  PoolOptions o = threads(1);
  o.max_queue = 0;
  WorkerPool pool(loop, o);
  run(loop, [&]() -> Task<void> {
    for (int round = 0; round < 20; ++round) {
      Gate gate;
      auto a = pool.run([g = gate] { g.wait(); });
      EXPECT_TRUE(pool.needs_drain());
      loop.set_timeout(2, [&] { gate.open(); });
      co_await pool.drain();
      EXPECT_FALSE(pool.needs_drain());
      EXPECT_EQ(co_await pool.run([round] { return round; }), round);
      co_await a;
    }
  }());
}

// With room for one waiting task, the idle threads' tasks do not take that room.
TEST(WorkerPool, MaxQueueCountsOnlyTasksThatMustWait) {
  Loop loop;
  PoolOptions o = threads(2);
  o.max_queue = 1;
  WorkerPool pool(loop, o);
  Gate gate;
  run(loop, [&]() -> Task<void> {
    EXPECT_TRUE(co_await eventually([&] { return pool.stats().idle_threads == 2; }));
    auto a = pool.run([g = gate] { g.wait(); });
    auto b = pool.run([g = gate] { g.wait(); });
    auto c = pool.run([] { return 3; });  // waits: the one queue place
    EXPECT_THROW(co_await pool.run([] { return 0; }), QueueFullError);
    gate.open();
    co_await a;
    co_await b;
    EXPECT_EQ(co_await c, 3);
  }());
}

TEST(WorkerPool, IdleThreadsShrinkBackToMin) {
  Loop loop;
  PoolOptions o;
  o.min_threads = 1;
  o.max_threads = 4;
  o.idle_timeout_ms = 30;
  WorkerPool pool(loop, o);
  EXPECT_EQ(pool.threads(), 1u);
  Gate gate;
  run(loop, [&]() -> Task<void> {
    std::vector<PoolRun<void>> tasks;
    for (int i = 0; i < 4; ++i) tasks.push_back(pool.run([g = gate] { g.wait(); }));
    EXPECT_EQ(pool.threads(), 4u);  // grew while work waited
    gate.open();
    for (auto& t : tasks) co_await t;
    EXPECT_TRUE(co_await eventually([&] { return pool.threads() == 1; }));
  }());
  EXPECT_EQ(pool.stats().threads, 1u);
}

TEST(WorkerPool, CloseFinishesQueuedWorkThenRefusesMore) {
  Loop loop;
  WorkerPool pool(loop, threads(2));
  auto done = std::make_shared<std::atomic<int>>(0);
  run(loop, [&]() -> Task<void> {
    std::vector<PoolRun<void>> tasks;
    for (int i = 0; i < 200; ++i)
      tasks.push_back(pool.run([done] {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        ++*done;
      }));
    co_await pool.close();
    EXPECT_EQ(done->load(), 200);
    EXPECT_EQ(pool.threads(), 0u);
    EXPECT_THROW(co_await pool.run([] {}), PoolClosedError);
  }());
  EXPECT_FALSE(loop.alive());
}

TEST(WorkerPool, DestroyingWithQueuedWorkFailsItCleanly) {
  Loop loop;
  auto pool = std::make_unique<WorkerPool>(loop, threads(1));
  int closed = 0, finished = 0;
  auto waiter = [&](PoolRun<int> r) -> Task<void> {
    try {
      co_await r;
      ++finished;
    } catch (const PoolClosedError&) {
      ++closed;
    }
  };
  // The running task ends when the pool stops its token; the 10 queued ones never start.
  auto started = std::make_shared<std::atomic<bool>>(false);
  spawn(waiter(pool->run([started](std::stop_token st) {
    *started = true;
    while (!st.stop_requested()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    return 1;
  })));
  for (int i = 0; i < 10 && !*started; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(*started);
  for (int i = 0; i < 10; ++i) spawn(waiter(pool->run([] { return 0; })));
  pool.reset();
  EXPECT_EQ(closed, 10);
  EXPECT_EQ(finished, 1);
}

TEST(WorkerPool, AbandonedRunsStillRunAndAreFreed) {
  Loop loop;
  WorkerPool pool(loop, threads(2));
  auto count = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < 100; ++i) (void)pool.run([count] { ++*count; });
  run(loop, [&]() -> Task<void> {
    // completed counts results back on the loop: the last may still be on its way when count is 100
    EXPECT_TRUE(co_await eventually(
        [&] { return count->load() == 100 && pool.stats().completed == 100u; }));
  }());
  EXPECT_EQ(pool.stats().completed, 100u);  // and ASan sees no leak
}

TEST(WorkerPool, StatsAndJson) {
  Loop loop;
  WorkerPool pool(loop, threads(2));
  run(loop, [&]() -> Task<void> {
    for (int i = 0; i < 50; ++i) co_await pool.run([] { return 1; });
  }());
  PoolStats s = pool.stats();
  EXPECT_EQ(s.completed, 50u);
  EXPECT_EQ(s.submitted, 50u);
  EXPECT_EQ(s.threads, 2u);
  EXPECT_GT(s.utilization, 0.0);
  EXPECT_LE(s.utilization, 1.0);
  nlohmann::json j = to_json(s);
  EXPECT_EQ(j["completed"], 50);
  EXPECT_EQ(j["run_time"]["count"], 50);
  EXPECT_TRUE(j["wait_time"].contains("p99_us"));
  EXPECT_TRUE(j["max_queue"].is_null());  // unbounded: null, not SIZE_MAX
  s.max_queue = 8;
  EXPECT_EQ(to_json(s)["max_queue"], 8);
}

TEST(WorkerPool, ThroughputAndLatency) {
  Loop loop;
  loop.set_blocked_threshold_ms(0);
  WorkerPool pool(loop, threads(2));
  constexpr int kTasks = 200000;
  uint64_t t0 = Loop::hrtime();
  long sum = run(loop, [&]() -> Task<long> {
    std::vector<PoolRun<int>> pending;
    pending.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i) pending.push_back(pool.run([](int i) { return i & 1; }, i));
    long s = 0;
    for (auto& p : pending) s += co_await p;
    co_return s;
  }());
  double secs = double(Loop::hrtime() - t0) / 1e9;
  EXPECT_EQ(sum, kTasks / 2);
  uint64_t t1 = Loop::hrtime();
  constexpr int kSerial = 5000;
  run(loop, [&]() -> Task<void> {
    for (int i = 0; i < kSerial; ++i) co_await pool.run([] { return 0; });
  }());
  double lat_us = double(Loop::hrtime() - t1) / kSerial / 1000.0;
  std::printf("pool: %.0f tiny tasks/s, single-task latency %.2f us\n", kTasks / secs, lat_us);
}
