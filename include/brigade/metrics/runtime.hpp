#pragma once
// Runtime collectors: what brigade measures already (loop metrics, pool stats, the process),
// reported in Prometheus' names at scrape time. Each returns a Collector handle: the figures are
// read while it lives, so keep it no longer than the loop or pool it reads.
//
//   auto loop_metrics = metrics::collect_loop(registry, loop);   // on the loop's thread
//   auto pool_metrics = metrics::collect_thread_pool(registry);  // ThreadPool::shared()
//   auto heavy_metrics = metrics::collect_worker_pool(registry, heavy, "heavy");
//   auto process_metrics = metrics::collect_process(registry);
//
// Loop (read on the thread that gathers: gather on the loop's own thread, as metrics_handler
// does): brigade_eventloop_delay_seconds (histogram) and _p50/_p90/_p99/_min/_max/_mean gauges
// (since start, as prom-client's nodejs_eventloop_lag_*), brigade_eventloop_active_seconds_total
// and _idle_seconds_total (rate(active) / (rate(active) + rate(idle)) is the utilization),
// brigade_eventloop_utilization_ratio (since start), brigade_eventloop_blocked_total.
// Thread pool: brigade_threadpool_threads, _queued_tasks, _running_tasks,
// _completed_tasks_total, _wait_seconds (histogram, enqueue to start).
// Worker pool (label pool): brigade_workerpool_threads, _idle_threads, _queued_tasks,
// _running_tasks, _tasks_total{outcome}, _utilization_ratio, _wait_seconds, _run_seconds.
// Process: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "brigade/loop/histogram.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/metrics/registry.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/worker/worker_pool.hpp"

namespace brigade::metrics {

Collector collect_loop(Registry& registry, Loop& loop);
Collector collect_thread_pool(Registry& registry, ThreadPool& pool = ThreadPool::shared());
Collector collect_worker_pool(Registry& registry, const WorkerPool& pool, std::string name);
Collector collect_process(Registry& registry);

// The loop, the shared thread pool and the process, held together.
struct RuntimeCollectors {
  Collector loop, thread_pool, process;
};
inline RuntimeCollectors collect_runtime(Registry& registry, Loop& loop) {
  return {collect_loop(registry, loop), collect_thread_pool(registry), collect_process(registry)};
}

// ---- LatencyHistogram (ns) as Prometheus buckets (s) -----------------------------------------

// How many recorded values are at most `ns`, at the histogram's 6% bucket precision.
uint64_t count_at_most(const LatencyHistogram& h, uint64_t ns);
// Adds a histogram's samples for `h` with `bounds_s` (seconds) to `family`.
void add_latency_samples(MetricFamily& family, const LatencyHistogram& h,
                         const std::vector<double>& bounds_s, const Labels& labels = {});

// The values recorded into a growing histogram since the previous take(): the loop's delay
// over the last interval (its own histogram only grows, since start).
class LatencyWindow {
 public:
  LatencyHistogram take(const LatencyHistogram& cumulative);

 private:
  std::vector<std::pair<uint64_t, uint64_t>> previous_;  // (value, cumulative count) steps
  uint64_t previous_count_ = 0;
};

}  // namespace brigade::metrics
