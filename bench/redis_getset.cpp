// Redis GET/SET from CONCURRENCY coroutines on one client (its automatic pipelining), the same
// workload as bench/node/redis_getset.js on ioredis:
//   ops_per_s        COUNT commands (SET and GET alternating per coroutine) per second;
//   cpu_us_per_op    the client process's CPU time (user + system) per command: on a shared
//                    machine the rate follows the scheduler, this does not.
// Usage: redis_getset URL [COUNT=200000] [CONCURRENCY=50]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "brigade/loop/loop.hpp"
#include "brigade/redis.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/spawn.hpp"

using namespace brigade;

double cpu_us() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

Task<void> client_task(redis::Client& redis, int id, int ops) {
  std::string key = "bench:key:" + std::to_string(id);
  std::string value(32, 'v');
  for (int i = 0; i < ops; i += 2) {
    co_await redis.set(key, value);
    std::optional<std::string> got = co_await redis.get(key);
    if (!got || got->size() != value.size()) std::abort();
  }
}

Task<double> measure(redis::Client& redis, int count, int concurrency) {
  std::vector<Task<void>> tasks;
  auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < concurrency; ++c) tasks.push_back(client_task(redis, c, count / concurrency));
  co_await when_all(std::move(tasks));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  co_return count / s;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: redis_getset URL [COUNT] [CONCURRENCY]\n");
    return 2;
  }
  int count = argc > 2 ? std::atoi(argv[2]) : 200000;
  int concurrency = argc > 3 ? std::atoi(argv[3]) : 50;
  Loop loop;
  redis::Client redis(redis::parse_url(argv[1]));
  run(loop, measure(redis, count / 10, concurrency));  // warm-up
  double cpu0 = cpu_us();
  double ops = run(loop, measure(redis, count, concurrency));
  double cpu = cpu_us() - cpu0;
  std::printf("ops_per_s %.0f\n", ops);
  std::printf("cpu_us_per_op %.2f\n", cpu / count);
  return 0;
}
