// The job queue against BullMQ (bench/node/bullmq_jobs.js), one process each:
//   jobs_per_s       COUNT no-op jobs added by one producer (1000 in flight at a time) and run
//                    by two consumers (concurrency 50 each), from the first add to the last
//                    completion; cpu_us_per_job the process's CPU time (user + system) per
//                    job over that phase (producer and consumers: the whole client side);
//   latency_ms       one job at a time, add() to its result (result() on the queue), median of
//                    RUNS; latency_tail_ms the 99th percentile.
// Usage: queue_jobs URL [COUNT=20000] [RUNS=300]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/queue.hpp"
#include "brigade/redis.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"

using namespace brigade;
using Clock = std::chrono::steady_clock;

double cpu_us() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

Task<std::string> noop(queue::Job& job) { co_return job.payload; }

Task<void> produce(queue::Queue& q, int count) {
  for (int base = 0; base < count; base += 1000) {
    std::vector<Task<std::string>> adds;
    for (int i = base; i < std::min(count, base + 1000); ++i) adds.push_back(q.add("noop", "x"));
    co_await when_all(std::move(adds));
  }
}

Task<double> throughput(queue::Queue& q, queue::Consumer& a, queue::Consumer& b, int count) {
  auto start = Clock::now();
  co_await produce(q, count);
  while (a.stats().completed + b.stats().completed < static_cast<uint64_t>(count))
    co_await brigade::sleep(1);
  co_return count / std::chrono::duration<double>(Clock::now() - start).count();
}

Task<std::vector<double>> latencies(queue::Queue& q, int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    std::string id = co_await q.add("noop", "x");
    co_await q.result(id, 10000);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  co_return ms;
}

Task<void> close_after(queue::Consumer& c, Task<void> body) {
  co_await body;
  c.close();
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: queue_jobs URL [COUNT] [RUNS]\n");
    return 2;
  }
  int count = argc > 2 ? std::atoi(argv[2]) : 20000;
  int runs = argc > 3 ? std::atoi(argv[3]) : 300;
  Loop loop;
  redis::Options o = redis::parse_url(argv[1]);
  redis::Client producer(o), consumers_a(o), consumers_b(o);
  run(loop, [](redis::Client& r) -> Task<void> { co_await r.command("FLUSHALL"); }(producer));

  queue::Queue q(producer, "bench");
  queue::Queue qa(consumers_a, "bench"), qb(consumers_b, "bench");
  queue::ConsumerOptions co;
  co.concurrency = 50;
  queue::Consumer a(qa, noop, co), b(qb, noop, co);
  double per_s = 0;
  double cpu0 = cpu_us();
  auto body = [](queue::Queue& q, queue::Consumer& a, queue::Consumer& b, int count,
                 double& out) -> Task<void> {
    out = co_await throughput(q, a, b, count);
    a.close();
    b.close();
  };
  run(loop, [](Task<void> ra, Task<void> rb, Task<void> body) -> Task<void> {
    co_await when_all(std::move(ra), std::move(rb), std::move(body));
  }(a.run(), b.run(), body(q, a, b, count, per_s)));
  double cpu_per_job = (cpu_us() - cpu0) / count;

  queue::Queue lq(producer, "latency"), lqc(consumers_a, "latency");
  co.concurrency = 1;
  queue::Consumer one(lqc, noop, co);
  std::vector<double> ms;
  auto measure = [](queue::Queue& q, int runs, std::vector<double>& out) -> Task<void> {
    out = co_await latencies(q, runs);
  };
  run(loop, [](Task<void> r, Task<void> body) -> Task<void> {
    co_await when_all(std::move(r), std::move(body));
  }(one.run(), close_after(one, measure(lq, runs, ms))));

  std::printf("jobs_per_s %.0f\n", per_s);
  std::printf("cpu_us_per_job %.2f\n", cpu_per_job);
  std::printf("latency_ms %.3f\n", ms[ms.size() / 2]);
  std::printf("latency_tail_ms %.3f\n", ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]);
  return 0;
}
