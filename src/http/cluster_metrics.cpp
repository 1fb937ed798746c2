// The cluster's metrics exchange: "brigade:metrics?ID" from the primary, "brigade:metrics=ID\n"
// and the families as JSON from each worker.
#include "brigade/http/cluster_metrics.hpp"

#include <cstdlib>
#include <stdexcept>

#include "brigade/loop/loop.hpp"
#include "brigade/metrics/aggregate.hpp"
#include "brigade/metrics/exposition.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"

namespace brigade::http {

namespace {

constexpr std::string_view kRequest = "brigade:metrics?";
constexpr std::string_view kAnswer = "brigade:metrics=";
constexpr uint64_t kPollMs = 2;  // how often gather() looks for answers

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

bool answer_metrics_request(cluster::Worker& worker, const std::string& message,
                            metrics::Registry& registry) {
  if (!starts_with(message, kRequest)) return false;
  std::string answer = std::string(kAnswer) + message.substr(kRequest.size()) + "\n" +
                       metrics::to_json(registry.gather());
  spawn(worker.send(std::move(answer)), "metrics answer");
  return true;
}

void answer_metrics_requests(cluster::Worker& worker, metrics::Registry& registry) {
  worker.on_message([&worker, &registry](std::string message) {
    answer_metrics_request(worker, message, registry);
  });
}

ClusterMetrics::ClusterMetrics(cluster::Primary& primary, metrics::Registry* own,
                               uint64_t timeout_ms)
    : primary_(primary), own_(own), timeout_ms_(timeout_ms) {
  primary.on_message([this](unsigned worker, std::string message) { on_message(worker, message); });
}

bool ClusterMetrics::on_message(unsigned, const std::string& message) {
  if (!starts_with(message, kAnswer)) return false;
  std::size_t eol = message.find('\n');
  if (eol == std::string::npos) return true;  // malformed: ours, dropped
  uint64_t id = std::strtoull(message.c_str() + kAnswer.size(), nullptr, 10);
  auto it = pending_.find(id);
  if (it == pending_.end()) return true;  // late: that scrape is over
  try {
    it->second.answers.push_back(metrics::from_json(std::string_view(message).substr(eol + 1)));
  } catch (const std::invalid_argument&) {
    --it->second.expected;  // a worker's bad answer is left out, not waited for
  }
  return true;
}

Task<std::vector<metrics::MetricFamily>> ClusterMetrics::gather() {
  uint64_t id = next_id_++;
  Pending& p = pending_[id];
  for (const cluster::WorkerInfo& w : primary_.workers()) {
    if (!w.ready) continue;
    primary_.send(w.id, std::string(kRequest) + std::to_string(id));
    ++p.expected;
  }
  uint64_t deadline = Loop::hrtime() / 1'000'000u + timeout_ms_;
  while (p.answers.size() < p.expected && Loop::hrtime() / 1'000'000u < deadline)
    co_await sleep(kPollMs);
  std::vector<std::vector<metrics::MetricFamily>> all = std::move(p.answers);
  pending_.erase(id);
  if (own_) all.push_back(own_->gather());
  co_return metrics::aggregate(all);
}

Task<void> ClusterMetricsHandler::operator()(Req&, Res& res) const {
  std::vector<metrics::MetricFamily> families = co_await metrics->gather();
  res.type(metrics::kTextContentType).send(metrics::format_text(families));
}

}  // namespace brigade::http
