#include "brigade/worker/pool_stats_json.hpp"

namespace brigade {

nlohmann::json histogram_json(const LatencyHistogram& h) {
  auto us = [](uint64_t ns) { return double(ns) / 1000.0; };
  return {{"count", h.count()},
          {"min_us", us(h.min())},
          {"mean_us", h.mean() / 1000},
          {"p50_us", us(h.percentile(50))},
          {"p90_us", us(h.percentile(90))},
          {"p99_us", us(h.percentile(99))},
          {"max_us", us(h.max())}};
}

nlohmann::json to_json(const PoolStats& s) {
  return {{"threads", s.threads},
          {"idle_threads", s.idle_threads},
          {"min_threads", s.min_threads},
          {"max_threads", s.max_threads},
          {"queue_size", s.queue_size},
          {"max_queue", s.max_queue == SIZE_MAX ? nlohmann::json() : nlohmann::json(s.max_queue)},
          {"running", s.running},
          {"submitted", s.submitted},
          {"completed", s.completed},
          {"failed", s.failed},
          {"cancelled", s.cancelled},
          {"timed_out", s.timed_out},
          {"workers_died", s.workers_died},
          {"utilization", s.utilization},
          {"run_time", histogram_json(s.run_time)},
          {"wait_time", histogram_json(s.wait_time)}};
}

}  // namespace brigade
