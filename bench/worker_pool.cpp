// WorkerPool with 2 threads, same workloads as bench/node/piscina_pool.js (Piscina, 2 threads):
//   tiny_per_s       COUNT tasks returning x + 1, submitted in batches of 1000 (all of a batch in
//                    flight, then awaited), tasks per second;
//   fib_per_s        FIBS tasks computing fib(25) recursively, same batching;
//   single_task_us   one x + 1 task at a time on the warm pool, SINGLES times, microseconds each.
// Usage: worker_pool [COUNT=100000] [FIBS=2000] [SINGLES=10000]
#include "brigade/worker/worker_pool.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "brigade/task/spawn.hpp"

using namespace brigade;

namespace {

constexpr long kBatch = 1000;

long add_one(long x) { return x + 1; }

[[gnu::noinline]] long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

// Runs `count` tasks fn(arg) in batches; returns tasks per second.
Task<double> throughput(WorkerPool& pool, long (*fn)(long), long arg, long count) {
  std::vector<PoolRun<long>> batch;
  batch.reserve(kBatch);
  long sum = 0;
  const uint64_t start = Loop::hrtime();
  for (long done = 0; done < count; done += kBatch) {
    for (long i = 0; i < kBatch && done + i < count; ++i) batch.push_back(pool.run(fn, arg));
    for (auto& job : batch) sum += co_await job;
    batch.clear();
  }
  const uint64_t elapsed = Loop::hrtime() - start;
  if (sum == 0) std::fprintf(stderr, "no results\n");
  co_return double(count) * 1e9 / double(elapsed);
}

Task<double> single_task_us(WorkerPool& pool, long count) {
  long x = 0;
  const uint64_t start = Loop::hrtime();
  for (long i = 0; i < count; ++i) {
    auto job = pool.run(add_one, x);
    x = co_await job;
  }
  const uint64_t elapsed = Loop::hrtime() - start;
  if (x != count) std::fprintf(stderr, "wrong result %ld\n", x);
  co_return double(elapsed) / 1e3 / double(count);
}

}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 100'000;
  const long fibs = argc > 2 ? std::atol(argv[2]) : 2000;
  const long singles = argc > 3 ? std::atol(argv[3]) : 10'000;
  Loop loop;
  PoolOptions options;
  options.min_threads = 2;
  options.max_threads = 2;
  WorkerPool pool(loop, options);
  std::printf("tiny_per_s %.0f\n", run(loop, throughput(pool, add_one, 1, count)));
  std::printf("fib_per_s %.0f\n", run(loop, throughput(pool, fib, 25, fibs)));
  std::printf("single_task_us %.2f\n", run(loop, single_task_us(pool, singles)));
  run(loop, pool.close());
  return 0;
}
