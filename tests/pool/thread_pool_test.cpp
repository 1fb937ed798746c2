#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

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
    co_return worker_thread != loop_thread && std::this_thread::get_id() == loop_thread;
  };
  EXPECT_TRUE(run(loop, t()));
}

TEST(ThreadPool, ExceptionsComeBackToTheAwaiter) {
  Loop loop;
  ThreadPool pool(2);
  auto t = [&]() -> Task<void> { co_await pool.run([]() -> int { throw std::runtime_error("disk on fire"); }); };
  EXPECT_THROW(run(loop, t()), std::runtime_error);
}

TEST(ThreadPool, ManyConcurrentJobs) {
  Loop loop;
  ThreadPool pool(4);
  auto t = [&]() -> Task<long> {
    std::vector<Task<long>> jobs;
    for (long i = 0; i < 2000; ++i)
      jobs.push_back([](ThreadPool& p, long v) -> Task<long> { co_return co_await p.run([v] { return v * 2; }); }(pool, i));
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
  auto victim = [&]() -> Task<void> {
    co_await pool.run([&] { ++ran; }, src.get_token());
  };
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
