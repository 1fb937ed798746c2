#pragma once
// Loop metrics, always on: the delay histogram (how long the loop was busy between two polls,
// the longest any new event had to wait: perf_hooks.monitorEventLoopDelay's question),
// utilization (eventLoopUtilization) and the blocked-loop detector's reports.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "brigade/loop/histogram.hpp"

namespace brigade {

struct BlockedReport {
  std::string activity;  // what held the loop (a route, a task name, "timer", ...)
  uint64_t duration_ns;
};

struct Utilization {
  uint64_t idle_ns = 0;
  uint64_t active_ns = 0;
  double utilization() const noexcept {
    uint64_t total = idle_ns + active_ns;
    return total ? double(active_ns) / double(total) : 0.0;
  }
  // The utilization between an earlier reading and this one (eventLoopUtilization(prev)).
  Utilization since(const Utilization& earlier) const noexcept {
    return {idle_ns - earlier.idle_ns, active_ns - earlier.active_ns};
  }
};

struct LoopMetrics {
  LatencyHistogram delay;  // ns the loop was busy per iteration that did work
  Utilization elu;
  uint64_t blocked_count = 0;
  std::vector<BlockedReport> blocked_recent;  // the last few, newest last
  // Called on the loop thread once the blocked callback has returned; the default logs a warning
  // (log_sink.hpp). Set to an empty function to only count.
  std::function<void(const BlockedReport&)> on_blocked;
  // Extra gauges a layer publishes (thread-pool queue depth, open connections...).
  std::function<void(std::vector<std::pair<std::string, double>>&)> gauges;
};

}  // namespace brigade
