#pragma once
// PoolStats: a snapshot of a WorkerPool (what Piscina reports), a plain struct. Times in ns.
#include <cstddef>
#include <cstdint>

#include "brigade/loop/histogram.hpp"

namespace brigade {

struct PoolStats {
  std::size_t threads = 0;       // worker threads alive
  std::size_t idle_threads = 0;  // waiting for work
  std::size_t min_threads = 0;
  std::size_t max_threads = 0;
  std::size_t queue_size = 0;  // tasks waiting for a thread
  std::size_t max_queue = 0;
  std::size_t running = 0;  // tasks on a thread now
  uint64_t submitted = 0;
  uint64_t completed = 0;  // returned a value
  uint64_t failed = 0;     // threw, or their worker died
  uint64_t cancelled = 0;  // stopped through their token
  uint64_t timed_out = 0;
  uint64_t workers_died = 0;   // threads replaced after worker_exit() in a task
  double utilization = 0;      // time spent running tasks / (time alive * max_threads)
  LatencyHistogram run_time;   // per task: start to end on its thread
  LatencyHistogram wait_time;  // per task: run() to start
};

}  // namespace brigade
