// README "Past one machine": the job queue block, compiled and run against a redis-server of
// the test's own (skipped where redis-server is not installed).
#include <gtest/gtest.h>

#include <string>

#include "../redis/redis_server.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/queue.hpp"
#include "brigade/redis.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/worker_pool.hpp"

namespace redis_snippets_test {

using namespace brigade;

long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

Task<std::string> queue_block(std::string url, WorkerPool& pool) {
  // clang-format off
// readme:begin queue
redis::Client redis(redis::parse_url(url));        // "redis://127.0.0.1:6379"
co_await redis.set("greeting", "hello");
queue::Queue jobs(redis, "jobs");
std::string id = co_await jobs.add("fib", "30", {.attempts = 3, .backoff_ms = 500, .job_id = "fib-30"});
queue::Consumer worker(jobs, [&pool](queue::Job& job) -> Task<std::string> {
  int n = std::stoi(job.payload);
  auto work = pool.run([n] { return fib(n); });     // CPU work on the WorkerPool
  co_return std::to_string(co_await work);
}, {.concurrency = 8});
spawn(worker.run());                                 // until worker.close(), then graceful
std::string result = co_await jobs.result(id, 10000);
// readme:end
  // clang-format on
  worker.close();
  co_await brigade::sleep(1100);  // run() returns after its last read (block_ms)
  co_return result;
}

TEST(ReadmeQueue, TheBlockRuns) {
  if (!test::redis_server_installed()) GTEST_SKIP() << "redis-server is not installed";
  test::RedisServer server;
  ASSERT_TRUE(server.running());
  Loop loop;
  WorkerPool pool(loop);
  EXPECT_EQ(run(loop, queue_block(server.url(), pool)), "832040");
}

}  // namespace redis_snippets_test
