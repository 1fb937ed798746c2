// Async WorkerPool tasks: each task is a coroutine that runs on its worker thread's own Loop, so
// it can await timers (or files, sockets) there. Two workers, each running up to 4 tasks at once
// (max_concurrent_per_worker): 8 "fetches" of 100 ms each finish in about 100 ms, not 400.
// Then a task that would wait 10 s is given a 50 ms timeout: its token stops its sleep.
#include <cstdio>
#include <stop_token>
#include <string>
#include <vector>

#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/worker_pool.hpp"

using namespace brigade;

namespace {

// Stands in for a request to a slow service: waits on the worker's loop, then answers.
Task<std::string> fetch(int id, uint64_t ms) {
  co_await brigade::sleep(ms);
  co_return "item " + std::to_string(id) + " (" + std::to_string(ms) + " ms)";
}

Task<void> demo(WorkerPool& pool) {
  const uint64_t start = Loop::hrtime();
  std::vector<PoolRun<std::string>> fetches;
  for (int i = 0; i < 8; ++i) fetches.push_back(pool.run([i] { return fetch(i, 100); }));
  for (auto& f : fetches) std::printf("got %s\n", (co_await f).c_str());
  std::printf("8 tasks of 100 ms on 2 workers x 4 slots: %.0f ms\n",
              double(Loop::hrtime() - start) / 1e6);

  TaskOptions quick;
  quick.timeout_ms = 50;
  auto slow = pool.run_with(quick, [](std::stop_token token) -> Task<int> {
    co_await brigade::sleep(10'000, token);  // ends early with CancelledError once stopped
    co_return 1;
  });
  try {
    co_await slow;
    std::printf("the slow task finished?\n");
  } catch (const TimeoutError& e) {
    std::printf("slow task: %s\n", e.what());
  }
}

}  // namespace

int main() {
  Loop loop;
  PoolOptions options;
  options.min_threads = options.max_threads = 2;
  options.max_concurrent_per_worker = 4;
  WorkerPool pool(loop, options);
  run(loop, demo(pool));
  run(loop, pool.close());
  PoolStats s = pool.stats();
  std::printf("completed %llu, timed out %llu\n", static_cast<unsigned long long>(s.completed),
              static_cast<unsigned long long>(s.timed_out));
  return 0;
}
