// A queue consumer process (BullMQ's Worker): runs the jobs of one queue until SIGTERM or
// SIGINT, then finishes the jobs in flight and exits. Start as many as you like, on any host.
//
//   REDIS_URL=redis://127.0.0.1:6379 ./queue_worker            # queue "jobs", 16 at once
//   QUEUE=jobs CONCURRENCY=50 VISIBILITY_MS=30000 ./queue_worker
//
// Job names it knows: "fib" (payload n: fib(n) computed on a WorkerPool thread, the loop stays
// free), "echo" (returns the payload; with SLEEP_MS it waits that long first), "poison"
// (always throws: after its attempts it lands in the dead-letter stream), "crash" (aborts the
// whole process, as a segfaulting native library would: each lost run counts as an attempt,
// and after its attempts the job lands in the dead-letter stream instead of killing workers
// forever).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "brigade/loop/loop.hpp"
#include "brigade/loop/signal.hpp"
#include "brigade/queue.hpp"
#include "brigade/redis.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/worker_pool.hpp"

using namespace brigade;

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

int main() {
  Loop loop;
  const char* url = std::getenv("REDIS_URL");
  const char* queue_name = std::getenv("QUEUE");
  redis::Client redis(redis::parse_url(url ? url : "redis://127.0.0.1:6379"));
  queue::Queue jobs(redis, queue_name ? queue_name : "jobs");
  WorkerPool pool(loop);
  uint64_t sleep_ms = env_number("SLEEP_MS", 0);

  auto handler = [&](queue::Job& job) -> Task<std::string> {
    if (job.name == "fib") {
      int n = std::atoi(job.payload.c_str());
      if (n < 0 || n > 50) throw std::invalid_argument("fib: n must be in 0..50");
      auto work = pool.run([n] { return fib(n); });
      long value = co_await work;
      co_return std::to_string(value);
    }
    if (job.name == "echo") {
      if (sleep_ms) co_await brigade::sleep(sleep_ms);
      co_return job.payload;
    }
    if (job.name == "poison") throw std::runtime_error("poison job " + job.id);
    if (job.name == "crash") {
      std::fprintf(stderr, "queue_worker: job %s (attempt %d) aborts the process\n", job.id.c_str(),
                   job.attempt);
      std::abort();
    }
    throw std::invalid_argument("unknown job name: " + job.name);
  };
  queue::ConsumerOptions options;
  options.concurrency = env_number("CONCURRENCY", 16);
  options.visibility_timeout_ms = env_number("VISIBILITY_MS", 30000);
  options.block_ms = env_number("BLOCK_MS", 1000);
  queue::Consumer consumer(jobs, handler, options);

  auto stop = [&](int signo) {
    std::fprintf(stderr, "queue_worker: signal %d, finishing the jobs in flight\n", signo);
    consumer.close();
  };
  SignalWatcher term(loop, SIGTERM, stop), intr(loop, SIGINT, stop);
  term.unref();
  intr.unref();
  std::printf("queue_worker %s ready on queue %s\n", consumer.name().c_str(), jobs.name().c_str());
  std::fflush(stdout);
  run(loop, consumer.run());
  queue::ConsumerStats s = consumer.stats();
  std::printf("queue_worker done: completed %llu (duplicates %llu), failed %llu, claimed %llu\n",
              (unsigned long long)s.completed, (unsigned long long)s.duplicates,
              (unsigned long long)s.failed, (unsigned long long)s.claimed);
  return 0;
}
