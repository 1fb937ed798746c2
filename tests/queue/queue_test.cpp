// Queue and Consumer in one process against a redis-server of the test's own.
#include "brigade/queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "../redis/redis_server.hpp"
#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/redis.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/worker_pool.hpp"

using namespace brigade;
using namespace brigade::queue;

namespace {

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::redis_server_installed()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<test::RedisServer>();
    ASSERT_TRUE(server_->running()) << "redis-server did not start";
    redis::Options o = redis::parse_url(server_->url());
    o.loop = &loop_;
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 200;
    redis_ = std::make_unique<redis::Client>(o);
  }
  void TearDown() override { redis_.reset(); }
  ConsumerOptions fast() {
    ConsumerOptions o;
    o.block_ms = 100;
    o.promote_ms = 20;
    return o;
  }
  Loop loop_;
  std::unique_ptr<test::RedisServer> server_;
  std::unique_ptr<redis::Client> redis_;
};

// Polls the counts until `n` jobs have completed (at most 500 polls, 10 ms apart).
Task<void> until_completed(Queue& jobs, int64_t n) {
  for (int i = 0; i < 500; ++i) {
    QueueCounts c = co_await jobs.counts();
    if (c.completed == n) co_return;
    co_await brigade::sleep(10);
  }
}

// Runs `consumer` while `body` runs, then closes it and waits for run() to return.
Task<void> with_consumer(Consumer& consumer, Task<void> body) {
  auto running = consumer.run();
  auto driver = [](Consumer& c, Task<void> body) -> Task<void> {
    try {
      co_await body;
    } catch (...) {
      c.close();
      throw;
    }
    c.close();
  }(consumer, std::move(body));
  co_await when_all(std::move(running), std::move(driver));
}

TEST_F(QueueTest, AJobRunsAndItsResultIsReturned) {
  Queue jobs(*redis_, "t");
  Consumer consumer(
      jobs, [](Job& job) -> Task<std::string> { co_return "hello " + job.payload; }, fast());
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        std::string id = co_await jobs.add("greet", "world");
        EXPECT_EQ(id, "1");
        EXPECT_EQ(co_await jobs.result(id, 5000), "hello world");
        std::optional<JobInfo> info = co_await jobs.get(id);
        EXPECT_EQ(info->state, JobState::kCompleted);
        EXPECT_EQ(info->name, "greet");
        EXPECT_FALSE(co_await jobs.get("nope"));
      }(jobs)));
  EXPECT_EQ(consumer.stats().completed, 1u);
}

TEST_F(QueueTest, AJobIdIsAnIdempotencyKey) {
  Queue jobs(*redis_, "t");
  int runs = 0;
  Consumer consumer(
      jobs,
      [&runs](Job& job) -> Task<std::string> {
        ++runs;
        co_return job.payload;
      },
      fast());
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        EXPECT_EQ(co_await jobs.add("x", "first", {.job_id = "order-7"}), "order-7");
        EXPECT_EQ(co_await jobs.add("x", "second", {.job_id = "order-7"}), "order-7");
        EXPECT_EQ(co_await jobs.result("order-7", 5000), "first");
        EXPECT_EQ(co_await jobs.add("x", "third", {.job_id = "order-7"}), "order-7");
        co_await brigade::sleep(200);
        QueueCounts c = co_await jobs.counts();
        EXPECT_EQ(c.completed, 1);
        EXPECT_EQ(c.waiting + c.pending + c.delayed, 0);
      }(jobs)));
  EXPECT_EQ(runs, 1);
}

TEST_F(QueueTest, FailuresAreRetriedWithBackoffThenDeadLettered) {
  Queue jobs(*redis_, "t");
  std::vector<std::pair<int, uint64_t>> runs;  // attempt, time
  Loop& loop = loop_;
  Consumer consumer(
      jobs,
      [&](Job& job) -> Task<std::string> {
        loop.update_time();
        runs.emplace_back(job.attempt, loop.now());
        if (job.payload == "flaky" && job.attempt == 2) co_return "ok at 2";
        throw std::runtime_error("boom " + std::to_string(job.attempt));
      },
      fast());
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        std::string poison = co_await jobs.add("p", "always", {.attempts = 3, .backoff_ms = 60});
        try {
          co_await jobs.result(poison, 5000);
          ADD_FAILURE() << "no failure";
        } catch (const JobFailedError& e) {
          EXPECT_STREQ(e.what(), "boom 3");
        }
        std::string flaky = co_await jobs.add("p", "flaky", {.attempts = 3, .backoff_ms = 10});
        EXPECT_EQ(co_await jobs.result(flaky, 5000), "ok at 2");
        std::vector<JobInfo> dead = co_await jobs.dead_letters();
        EXPECT_EQ(dead.size(), 1u);
        if (dead.empty()) co_return;
        EXPECT_EQ(dead[0].id, poison);
        EXPECT_EQ(dead[0].error, "boom 3");
        EXPECT_EQ(dead[0].attempts_made, 3);
      }(jobs)));
  ASSERT_GE(runs.size(), 5u);
  EXPECT_EQ(runs[0].first, 1);
  EXPECT_EQ(runs[1].first, 2);
  EXPECT_EQ(runs[2].first, 3);
  EXPECT_GE(runs[1].second - runs[0].second, 50u);   // backoff 60 ms
  EXPECT_GE(runs[2].second - runs[1].second, 110u);  // then 120 ms
}

TEST_F(QueueTest, DelayedJobsWaitForTheirTime) {
  Queue jobs(*redis_, "t");
  Loop& loop = loop_;
  uint64_t ran_at = 0;
  Consumer consumer(
      jobs,
      [&](Job&) -> Task<std::string> {
        loop.update_time();
        ran_at = loop.now();
        co_return "";
      },
      fast());
  loop_.update_time();
  uint64_t start = loop_.now();
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        std::string id = co_await jobs.add("later", "", {.delay_ms = 300});
        EXPECT_EQ((co_await jobs.get(id))->state, JobState::kDelayed);
        co_await jobs.result(id, 5000);
      }(jobs)));
  EXPECT_GE(ran_at - start, 290u);
}

TEST_F(QueueTest, HigherPriorityRunsFirstAndConcurrencyIsLimited) {
  Queue jobs(*redis_, "t");
  std::vector<std::string> order;
  int now_running = 0, most = 0;
  ConsumerOptions o = fast();
  o.concurrency = 3;
  Consumer consumer(
      jobs,
      [&](Job& job) -> Task<std::string> {
        order.push_back(job.payload);
        most = std::max(most, ++now_running);
        co_await brigade::sleep(20);
        --now_running;
        co_return "";
      },
      o);
  run(loop_, [](Queue& jobs) -> Task<void> {
    for (int i = 0; i < 9; ++i) co_await jobs.add("j", "low" + std::to_string(i));
    co_await jobs.add("j", "urgent", {.priority = 3});
  }(jobs));
  run(loop_, with_consumer(consumer, until_completed(jobs, 10)));
  ASSERT_EQ(order.size(), 10u);
  EXPECT_EQ(order[0], "urgent");
  EXPECT_EQ(most, 3);
}

// Entry ids are per stream: jobs of two priority levels added in the same millisecond share
// ids, and each must still run once (the consumer once kept one of two such jobs only).
TEST_F(QueueTest, JobsOfTwoLevelsAddedInTheSameMillisecondAllRun) {
  Queue jobs(*redis_, "t");
  std::set<std::string> ran;
  int runs = 0;
  ConsumerOptions o = fast();
  o.concurrency = 4;
  Consumer consumer(
      jobs,
      [&](Job& job) -> Task<std::string> {
        ran.insert(job.payload);
        ++runs;
        co_return "";
      },
      o);
  run(loop_, [](Queue& jobs) -> Task<void> {
    std::vector<std::string> payloads;  // outlive the adds, which keep views of them
    for (int i = 0; i < 40; ++i) payloads.push_back("job" + std::to_string(i));
    std::vector<Task<std::string>> adds;  // pipelined on one connection: a burst of ~1 ms
    for (int i = 0; i < 40; ++i) {
      JobOptions a;
      a.priority = i % 2 ? 3 : 0;
      adds.push_back(jobs.add("j", payloads[static_cast<std::size_t>(i)], a));
    }
    co_await when_all(std::move(adds));
  }(jobs));
  run(loop_, with_consumer(consumer, until_completed(jobs, 40)));
  EXPECT_EQ(ran.size(), 40u);
  EXPECT_EQ(runs, 40);
}

TEST_F(QueueTest, ProgressAndCompletionAreEvents) {
  Queue jobs(*redis_, "t");
  redis::Options o = redis_->options();
  redis::Subscriber events(o);
  Consumer consumer(
      jobs,
      [](Job& job) -> Task<std::string> {
        co_await job.progress("50");
        co_return "done";
      },
      fast());
  run(loop_, with_consumer(consumer, [](Queue& jobs, redis::Subscriber& events) -> Task<void> {
        co_await events.subscribe(jobs.events_channel());
        std::string id = co_await jobs.add("p", "");
        EXPECT_EQ((co_await events.next(5000)).payload, "progress " + id + " 50");
        EXPECT_EQ((co_await events.next(5000)).payload, "completed " + id);
        EXPECT_EQ((co_await jobs.get(id))->progress, "50");
      }(jobs, events)));
}

TEST_F(QueueTest, AnEntryLeftByADeadConsumerIsClaimedAfterTheVisibilityTimeout) {
  Queue jobs(*redis_, "t");
  ConsumerOptions o = fast();
  o.visibility_timeout_ms = 300;
  int runs = 0;
  Consumer consumer(
      jobs,
      [&runs](Job& job) -> Task<std::string> {
        ++runs;
        co_return "claimed " + job.id + " on attempt " + std::to_string(job.attempt);
      },
      o);
  run(loop_, [](Queue& jobs, redis::Client& redis) -> Task<void> {
    co_await redis.command("XGROUP", "CREATE", jobs.prefix() + "s:0", "workers", "0", "MKSTREAM");
    std::string id = co_await jobs.add("j", "", {.attempts = 2});
    // A consumer that reads the job and dies without acknowledging it.
    redis::Reply r = co_await redis.command("XREADGROUP", "GROUP", "workers", "ghost", "COUNT", "1",
                                            "STREAMS", jobs.prefix() + "s:0", ">");
    EXPECT_EQ(r.elements.size(), 1u);
  }(jobs, *redis_));
  loop_.update_time();
  uint64_t start = loop_.now();
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        EXPECT_EQ(co_await jobs.result("1", 5000), "claimed 1 on attempt 2");  // the lost run: 1
      }(jobs)));
  EXPECT_GE(loop_.now() - start, 250u);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(consumer.stats().claimed, 1u);
  EXPECT_EQ(consumer.stats().lost, 0u);
}

TEST_F(QueueTest, AJobLostWithItsConsumerOnItsLastAttemptIsDeadLettered) {
  Queue jobs(*redis_, "t");
  ConsumerOptions o = fast();
  o.visibility_timeout_ms = 100;
  int runs = 0;
  Consumer consumer(
      jobs,
      [&runs](Job&) -> Task<std::string> {
        ++runs;
        co_return "ran";
      },
      o);
  run(loop_, [](Queue& jobs, redis::Client& redis) -> Task<void> {
    co_await redis.command("XGROUP", "CREATE", jobs.prefix() + "s:0", "workers", "0", "MKSTREAM");
    co_await jobs.add("j", "x", {.job_id = "once"});  // one attempt, lost with "ghost"
    co_await redis.command("XREADGROUP", "GROUP", "workers", "ghost", "COUNT", "1", "STREAMS",
                           jobs.prefix() + "s:0", ">");
  }(jobs, *redis_));
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        bool failed = false;
        try {
          co_await jobs.result("once", 5000);
        } catch (const JobFailedError& e) {
          failed = std::string(e.what()).find("worker running it died") != std::string::npos;
        }
        EXPECT_TRUE(failed);
        std::vector<JobInfo> dead = co_await jobs.dead_letters();
        EXPECT_EQ(dead.size(), 1u);
        if (!dead.empty()) {
          EXPECT_EQ(dead[0].attempts_made, 1);
        }
        QueueCounts c = co_await jobs.counts();
        EXPECT_EQ(c.pending, 0);
        EXPECT_EQ(c.dead, 1);
      }(jobs)));
  EXPECT_EQ(runs, 0);  // not run again
  EXPECT_EQ(consumer.stats().lost, 1u);
}

TEST_F(QueueTest, CloseFinishesTheJobsInFlightAndTakesNoMore) {
  Queue jobs(*redis_, "t");
  ConsumerOptions o = fast();
  o.concurrency = 2;
  int started = 0, finished = 0;
  Consumer consumer(
      jobs,
      [&](Job&) -> Task<std::string> {
        ++started;
        co_await brigade::sleep(150);
        ++finished;
        co_return "";
      },
      o);
  run(loop_, [](Queue& jobs) -> Task<void> {
    for (int i = 0; i < 6; ++i) co_await jobs.add("j", "");
  }(jobs));
  run(loop_, with_consumer(consumer, [](int& started) -> Task<void> {
        while (started < 2) co_await brigade::sleep(5);
      }(started)));
  EXPECT_EQ(started, 2);
  EXPECT_EQ(finished, 2);
  QueueCounts c = run(loop_, jobs.counts());
  EXPECT_EQ(c.completed, 2);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(c.waiting, 4);
}

TEST_F(QueueTest, CpuWorkRunsOnTheWorkerPool) {
  Queue jobs(*redis_, "t");
  WorkerPool pool(loop_);
  Consumer consumer(
      jobs,
      [&pool](Job& job) -> Task<std::string> {
        int n = std::stoi(job.payload);
        auto work = pool.run([n] {
          long a = 0, b = 1;
          for (int i = 0; i < n; ++i) b = std::exchange(a, b) + b;
          return a;
        });
        long v = co_await work;
        co_return std::to_string(v);
      },
      fast());
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        std::string id = co_await jobs.add("fib", "40");
        EXPECT_EQ(co_await jobs.result(id, 5000), "102334155");
      }(jobs)));
}

TEST_F(QueueTest, JobsAddedWhileRedisRestartsAreKept) {
  Queue jobs(*redis_, "t");
  Consumer consumer(
      jobs, [](Job& job) -> Task<std::string> { co_return job.payload; }, fast());
  run(loop_, [](Queue& jobs) -> Task<void> { co_await jobs.add("j", "a", {.job_id = "a"}); }(jobs));
  server_->restart();
  run(loop_, with_consumer(consumer, [](Queue& jobs) -> Task<void> {
        co_await brigade::sleep(50);
        co_await jobs.add("j", "b", {.job_id = "b"});
        EXPECT_EQ(co_await jobs.result("a", 5000), "a");
        EXPECT_EQ(co_await jobs.result("b", 5000), "b");
      }(jobs)));
}

}  // namespace
