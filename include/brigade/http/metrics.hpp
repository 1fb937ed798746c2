#pragma once
// Prometheus for an App (prom-client with express-prom-bundle's request histogram):
//
//   metrics::Registry& registry = metrics::Registry::global();
//   auto runtime = metrics::collect_runtime(registry, loop);  // loop, thread pool, process
//   app.after(http::track_requests());                        // per-route durations
//   app.get("/metrics", http::metrics_handler());
//   http::Server server = app.listen(loop, "127.0.0.1", 8080);
//   auto served = http::collect_server(registry, server);     // open connections, requests
//
// track_requests() is an after-middleware (it runs once the chain has ended, whatever ended it)
// observing brigade_http_request_duration_seconds{method, route, status_class}: from when the
// loop began reading the request (ServerRequest::received_ns) to the chain's end. `route` is
// the matched pattern ("/users/:id"), never the raw path, so the label set stays bounded;
// requests no route matched are route="unmatched", methods outside the standard ones "other"
// unless a route matched them. It is two clock reads and three relaxed atomic adds per request,
// no lock (each thread keeps its own lookup of the labelled histograms).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brigade/http/router.hpp"
#include "brigade/http/server.hpp"
#include "brigade/metrics/registry.hpp"
#include "brigade/metrics/runtime.hpp"

namespace brigade::http {

// GET handler answering with the registry's exposition (text format 0.0.4). Gathers on the
// serving thread, where the loop collectors must read.
struct MetricsHandler {
  metrics::Registry* registry;
  void operator()(Req& req, Res& res) const;
};
inline MetricsHandler metrics_handler(metrics::Registry& registry = metrics::Registry::global()) {
  return MetricsHandler{&registry};
}

struct TrackRequests {
  metrics::Family<metrics::Histogram>* durations;
  uint64_t id;  // tells this instance's entries apart in the per-thread lookup
  void operator()(Req& req, Res& res) const;
};
TrackRequests track_requests(metrics::Registry& registry = metrics::Registry::global(),
                             std::vector<double> buckets = metrics::default_buckets());

// brigade_http_open_connections, brigade_http_active_requests, brigade_http_requests_total,
// brigade_http_connections_total, brigade_http_bad_requests_total, brigade_http_timeouts_total,
// read from `server` (on the thread that gathers, the server's loop's). Keep it no longer than
// the server.
metrics::Collector collect_server(metrics::Registry& registry, const Server& server);

}  // namespace brigade::http
