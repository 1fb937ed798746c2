#pragma once
// PoolStats as JSON (for a /stats endpoint): counts, utilization, and histogram summaries in us.
#include <nlohmann/json.hpp>

#include "brigade/worker/pool_stats.hpp"

namespace brigade {

nlohmann::json histogram_json(const LatencyHistogram& h);  // count, min/mean/p50/p90/p99/max in us
nlohmann::json to_json(const PoolStats& s);  // "max_queue": null when unbounded

}  // namespace brigade
