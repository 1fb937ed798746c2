// The /metrics handler, per-route request durations and the server's figures.
#include "brigade/http/metrics.hpp"

#include <atomic>
#include <string_view>
#include <unordered_map>

#include "brigade/loop/loop.hpp"
#include "brigade/metrics/exposition.hpp"

namespace brigade::http {

void MetricsHandler::operator()(Req&, Res& res) const {
  res.type(metrics::kTextContentType).send(registry->expose());
}

namespace {

std::atomic<uint64_t> g_next_track_id{1};

// The histogram of one (instance, method, status class, route), looked up without a lock: each
// thread keeps its own map; the route is compared by its text (an App at a reused address
// may have other patterns).
struct LookupKey {
  uint64_t id;
  Method method;
  int status_class;
  std::string_view route;
};
struct StoredKey {
  uint64_t id;
  Method method;
  int status_class;
  std::string route;
};
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(const LookupKey& k) const noexcept {
    return std::hash<std::string_view>()(k.route) ^ (k.id * 0x9E3779B97F4A7C15ull) ^
           (std::size_t(k.method) << 8) ^ std::size_t(k.status_class);
  }
  std::size_t operator()(const StoredKey& k) const noexcept {
    return (*this)(LookupKey{k.id, k.method, k.status_class, k.route});
  }
};
struct KeyEq {
  using is_transparent = void;
  static bool same(const LookupKey& a, const LookupKey& b) noexcept {
    return a.id == b.id && a.method == b.method && a.status_class == b.status_class &&
           a.route == b.route;
  }
  static LookupKey view(const StoredKey& k) noexcept {
    return {k.id, k.method, k.status_class, k.route};
  }
  bool operator()(const StoredKey& a, const StoredKey& b) const noexcept {
    return same(view(a), view(b));
  }
  bool operator()(const LookupKey& a, const StoredKey& b) const noexcept {
    return same(a, view(b));
  }
  bool operator()(const StoredKey& a, const LookupKey& b) const noexcept {
    return same(view(a), b);
  }
};
thread_local std::unordered_map<StoredKey, metrics::Histogram*, KeyHash, KeyEq> t_histograms;

std::string_view method_label(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
    case Method::kConnect:
      return "CONNECT";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kTrace:
      return "TRACE";
    case Method::kPatch:
      return "PATCH";
    case Method::kOther:
      break;
  }
  return "other";
}

}  // namespace

TrackRequests track_requests(metrics::Registry& registry, std::vector<double> buckets) {
  auto& family = registry.histogram(
      "brigade_http_request_duration_seconds",
      "HTTP request duration from its first byte to the end of its handling, by route pattern",
      {"method", "route", "status_class"}, std::move(buckets));
  return TrackRequests{&family, g_next_track_id.fetch_add(1)};
}

void TrackRequests::operator()(Req& req, Res& res) const {
  uint64_t now = Loop::hrtime();
  uint64_t start = req.received_ns();
  double seconds = start && start < now ? double(now - start) * 1e-9 : 0.0;
  int status_class = res.status() / 100;
  if (status_class < 1 || status_class > 5) status_class = 0;
  std::string_view route = req.route();
  if (req.method() == Method::kOther && !route.empty()) {  // a custom method a route named
    const char cls[] = {char('0' + status_class), 'x', 'x', 0};
    durations->labels({std::string(req.method_name()), std::string(route), std::string(cls)})
        .observe(seconds);
    return;
  }
  LookupKey key{id, req.method(), status_class, route};
  auto it = t_histograms.find(key);
  if (it == t_histograms.end()) {
    const char cls[] = {char('0' + status_class), 'x', 'x', 0};
    metrics::Histogram& h =
        durations->labels({std::string(method_label(req.method())),
                           route.empty() ? std::string("unmatched") : std::string(route),
                           status_class ? std::string(cls) : std::string("other")});
    it = t_histograms.emplace(StoredKey{id, req.method(), status_class, std::string(route)}, &h)
             .first;
  }
  it->second->observe(seconds);
}

metrics::Collector collect_server(metrics::Registry& registry, const Server& server) {
  return registry.add_collector([&server](std::vector<metrics::MetricFamily>& out) {
    ServerStats s = server.stats();
    auto one = [&out](const char* name, const char* help, metrics::MetricType type, double v) {
      metrics::add_family(out, name, help, type).samples.push_back({name, {}, v});
    };
    using metrics::MetricType;
    one("brigade_http_open_connections", "HTTP connections open now", MetricType::kGauge,
        double(s.connections));
    one("brigade_http_active_requests", "HTTP requests being handled now", MetricType::kGauge,
        double(s.active_requests));
    one("brigade_http_requests_total", "HTTP responses completed", MetricType::kCounter,
        double(s.requests));
    one("brigade_http_connections_total", "HTTP connections accepted", MetricType::kCounter,
        double(s.accepted));
    one("brigade_http_bad_requests_total", "Requests answered with a parser error",
        MetricType::kCounter, double(s.bad_requests));
    one("brigade_http_timeouts_total", "Connections closed by the headers or request timeout",
        MetricType::kCounter, double(s.timeouts));
  });
}

}  // namespace brigade::http
