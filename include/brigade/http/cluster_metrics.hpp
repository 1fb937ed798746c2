#pragma once
// Prometheus across a cluster (prom-client's AggregatorRegistry): each worker keeps its own
// registry; the primary asks every ready worker for its families when scraped, merges them
// (metrics/aggregate.hpp: counters and histograms add up, percentiles take the largest...) and
// serves the result on a port of its own:
//
//   // the worker main
//   http::answer_metrics_requests(worker);   // takes worker.on_message
//   // Options::on_primary
//   static http::ClusterMetrics cluster_metrics(primary);   // takes primary.on_message
//   static http::App metrics_app;
//   metrics_app.get("/metrics", http::cluster_metrics_handler(cluster_metrics));
//   static http::Server metrics_server = metrics_app.listen(primary.loop(), "127.0.0.1", 9464);
//
// A program with messages of its own calls answer_metrics_request / ClusterMetrics::on_message
// from its handlers instead: each returns true for a message that was the metrics exchange's.
// A worker that does not answer within timeout_ms is left out of that scrape.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "brigade/http/router.hpp"
#include "brigade/metrics/registry.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

// A worker: if `message` is the primary's metrics request, answers it with `registry`'s
// families and returns true.
bool answer_metrics_request(cluster::Worker& worker, const std::string& message,
                            metrics::Registry& registry = metrics::Registry::global());
void answer_metrics_requests(cluster::Worker& worker,
                             metrics::Registry& registry = metrics::Registry::global());

class ClusterMetrics {
 public:
  // `own`: the primary's registry, merged in too (nullptr: none). Takes primary.on_message.
  explicit ClusterMetrics(cluster::Primary& primary, metrics::Registry* own = nullptr,
                          uint64_t timeout_ms = 2000);
  ClusterMetrics(const ClusterMetrics&) = delete;
  ClusterMetrics& operator=(const ClusterMetrics&) = delete;

  // Every answering worker's families and the primary's own, merged.
  Task<std::vector<metrics::MetricFamily>> gather();
  // True if `message` was a worker's metrics answer (then taken).
  bool on_message(unsigned worker, const std::string& message);

 private:
  struct Pending {
    std::size_t expected = 0;
    std::vector<std::vector<metrics::MetricFamily>> answers;
  };
  cluster::Primary& primary_;
  metrics::Registry* own_;
  uint64_t timeout_ms_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Pending> pending_;
};

struct ClusterMetricsHandler {
  ClusterMetrics* metrics;
  Task<void> operator()(Req& req, Res& res) const;
};
inline ClusterMetricsHandler cluster_metrics_handler(ClusterMetrics& metrics) {
  return ClusterMetricsHandler{&metrics};
}

}  // namespace brigade::http
