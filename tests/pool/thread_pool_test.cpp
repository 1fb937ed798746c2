#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade/loop.hpp"
#include "brigade/pool.hpp"
#include "brigade/task.hpp"

using namespace brigade;
using namespace std::chrono_literals;

TEST(ThreadPool, RunsOffTheLoopAndResumesOnIt) {
  Loop loop;
  ThreadPool pool(2);
  auto loop_thread = std::this_thread::get_id();
  auto t = [&]() -> Task<bool> {
    auto worker_thread = co_await pool.run([] { return std::this_thread::get_id(); });
    co_return worker_thread != loop_thread&& std::this_thread::get_id() == loop_thread;
  };
  EXPECT_TRUE(run(loop, t()));
}

TEST(ThreadPool, ExceptionsComeBackToTheAwaiter) {
  Loop loop;
  ThreadPool pool(2);
  auto t = [&]() -> Task<void> {
    co_await pool.run([]() -> int { throw std::runtime_error("disk on fire"); });
  };
  EXPECT_THROW(run(loop, t()), std::runtime_error);
}

TEST(ThreadPool, ManyConcurrentJobs) {
  Loop loop;
  ThreadPool pool(4);
  auto t = [&]() -> Task<long> {
    std::vector<Task<long>> jobs;
    for (long i = 0; i < 2000; ++i)
      jobs.push_back([](ThreadPool& p, long v) -> Task<long> {
        co_return co_await p.run([v] { return v * 2; });
      }(pool, i));
    auto all = co_await when_all(std::move(jobs));
    long sum = 0;
    for (long v : all) sum += v;
    co_return sum;
  };
  EXPECT_EQ(run(loop, t()), 2L * (1999L * 2000L / 2));
  EXPECT_EQ(pool.stats().completed, 2000u);
}

TEST(ThreadPool, QueuedWorkCanBeCancelled) {
  Loop loop;
  ThreadPool pool(1);
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  std::stop_source src;
  auto blocker = [&]() -> Task<void> {
    co_await pool.run([&] {
      while (!release) std::this_thread::sleep_for(1ms);
    });
  };
  auto victim = [&]() -> Task<void> { co_await pool.run([&] { ++ran; }, src.get_token()); };
  bool cancelled = false;
  spawn(blocker());
  spawn([&]() -> Task<void> {
    try {
      co_await victim();
    } catch (const CancelledError&) {
      cancelled = true;
    }
    release = true;
  }());
  loop.set_timeout(5, [&] { src.request_stop(); });
  loop.run();
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(pool.stats().cancelled, 1u);
}

TEST(ThreadPool, SlowWorkHoldsAtMostHalfTheThreads) {
  Loop loop;
  ThreadPool pool(4);
  std::atomic<int> slow_running{0}, max_slow{0};
  std::atomic<bool> fast_done{false};
  auto slow = [&]() -> Task<void> {
    co_await pool.run(
        [&] {
          int now = ++slow_running;
          int m = max_slow;
          while (now > m && !max_slow.compare_exchange_weak(m, now)) {
          }
          std::this_thread::sleep_for(30ms);
          --slow_running;
        },
        WorkKind::kSlow);
  };
  uint64_t fast_latency = 0;
  auto fast = [&]() -> Task<void> {
    co_await brigade::sleep(5);
    uint64_t t0 = Loop::hrtime();
    co_await pool.run([] {});
    fast_latency = Loop::hrtime() - t0;
    fast_done = true;
  };
  for (int i = 0; i < 8; ++i) spawn(slow());
  spawn(fast());
  loop.run();
  EXPECT_EQ(max_slow.load(), 2);
  EXPECT_TRUE(fast_done);
  EXPECT_LT(fast_latency, 25'000'000u);  // not stuck behind the slow queue
}

TEST(ThreadPool, DestroyingTheLoopWithWorkInFlightIsSafe) {
  ThreadPool pool(2);
  std::atomic<bool> finished{false};
  auto job = [&]() -> Task<void> {
    co_await pool.run([&] {
      std::this_thread::sleep_for(30ms);
      finished = true;
    });
    ADD_FAILURE() << "resumed after its loop was destroyed";
  };
  Task<void> task = job();
  {
    Loop loop;
    task.handle().resume();  // start it: it suspends on the pool
    loop.run_once(false);
  }
  while (!finished) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(10ms);  // the completion finds its loop gone and is dropped
  // Destroying the suspended task afterwards frees its frame and its share of the work.
}

TEST(ThreadPool, DestroyingThePoolFailsQueuedWork) {
  Loop loop;
  int cancelled = 0, done = 0;
  {
    ThreadPool pool(1);
    for (int i = 0; i < 5; ++i)
      spawn([&]() -> Task<void> {
        try {
          co_await pool.run([] { std::this_thread::sleep_for(20ms); });
          ++done;
        } catch (const CancelledError&) {
          ++cancelled;
        }
      }());
  }
  loop.run();
  EXPECT_EQ(done + cancelled, 5);
  EXPECT_GE(cancelled, 3);
}

TEST(ThreadPool, DefaultSizeFollowsEnvironment) {
  setenv("BRIGADE_THREADPOOL_SIZE", "7", 1);
  EXPECT_EQ(ThreadPool::default_size(), 7u);
  setenv("BRIGADE_THREADPOOL_SIZE", "junk", 1);
  EXPECT_EQ(ThreadPool::default_size(), 4u);
  unsetenv("BRIGADE_THREADPOOL_SIZE");
  EXPECT_EQ(ThreadPool::default_size(), 4u);
}

// Issue 16, item 1: the pool destroyed while coroutines await its work.
namespace {
// Destroys the pool from a loop callback once its first work runs.
void destroy_once_running(Loop& loop, std::unique_ptr<ThreadPool>& pool,
                          std::atomic<bool>& started) {
  auto id = std::make_shared<TimerId>();
  *id = loop.set_interval(1, [&loop, &pool, &started, id] {
    if (!started) return;
    loop.clear_timer(*id);
    pool.reset();
  });
}
}  // namespace

TEST(ThreadPool, DestroyedWhileAwaitedRunningWorkGivesItsResult) {
  Loop loop;
  auto pool = std::make_unique<ThreadPool>(1);
  std::atomic<bool> started{false};
  int got = 0;
  spawn([](ThreadPool* p, int& out, std::atomic<bool>& s) -> Task<void> {
    out = co_await p->run([&s] {
      s = true;
      std::this_thread::sleep_for(80ms);
      return 1;
    });
  }(pool.get(), got, started));
  destroy_once_running(loop, pool, started);  // waits for the running work
  loop.run();
  EXPECT_EQ(got, 1);
}

TEST(ThreadPool, DestroyedWhileAwaitedRunningFinishesQueuedFails) {
  Loop loop;
  auto pool = std::make_unique<ThreadPool>(1);
  std::vector<std::string> results(4);
  std::atomic<bool> started{false};
  for (int i = 0; i < 4; ++i)
    spawn([](ThreadPool* p, std::string& out, int i, std::atomic<bool>& s) -> Task<void> {
      try {
        int v = co_await p->run([i, &s] {
          s = true;
          std::this_thread::sleep_for(40ms);
          return i;
        });
        out = "value " + std::to_string(v);
      } catch (const CancelledError&) {
        out = "cancelled";
      }
    }(pool.get(), results[i], i, started));
  destroy_once_running(loop, pool, started);
  loop.run();
  EXPECT_EQ(results, (std::vector<std::string>{"value 0", "cancelled", "cancelled", "cancelled"}));
}

TEST(ThreadPool, AFrameDestroyedAfterThePoolIsSafe) {
  Loop loop;
  auto pool = std::make_unique<ThreadPool>(1);
  std::stop_source stop;
  auto job = [](ThreadPool* p, std::stop_token t) -> Task<void> {
    co_await p->run([] { std::this_thread::sleep_for(30ms); }, t);
  };
  auto queued = [](ThreadPool* p, std::stop_token t) -> Task<void> { co_await p->run([] {}, t); };
  Task<void> running = job(pool.get(), stop.get_token());
  Task<void> waiting = queued(pool.get(), stop.get_token());
  running.handle().resume();  // both suspend on the pool
  waiting.handle().resume();
  pool.reset();         // the running one finished, the queued one is cancelled: both posted
  stop.request_stop();  // the stop watch must not reach the freed pool
  running = {};         // frames go before their completions arrive
  waiting = {};
  loop.run();  // the completions find no one and only drop their references (ASan checks)
  SUCCEED();
}
