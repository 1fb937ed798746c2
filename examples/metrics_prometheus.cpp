// Prometheus metrics (prom-client's model): the app's own counter and histogram, the runtime's
// figures (loop delay, utilization, pools, CPU, memory, fds) and per-route request durations,
// served at /metrics in the text format. It requests a few routes from itself, prints what a
// scrape of /metrics sees, and exits; with --serve it stays up for Prometheus:
//   scrape_configs: [{job_name: app, static_configs: [{targets: ['127.0.0.1:9464']}]}]
#include <cstdio>
#include <string>
#include <string_view>

#include "brigade/http/app.hpp"
#include "brigade/http/fetch.hpp"
#include "brigade/http/metrics.hpp"
#include "brigade/metrics/runtime.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"

using namespace brigade;
using http::Req;
using http::Res;

int main(int argc, char** argv) {
  bool serve = argc > 1 && std::string_view(argv[1]) == "--serve";
  Loop loop;
  metrics::Registry& registry = metrics::Registry::global();
  metrics::Family<metrics::Counter>& orders =
      registry.counter("shop_orders_total", "Orders placed", {"payment"});
  metrics::Histogram& basket =
      registry.histogram("shop_basket_items", "Items per order", {}, {1, 2, 5, 10, 20}).labels();
  metrics::RuntimeCollectors runtime = metrics::collect_runtime(registry, loop);

  http::App app;
  app.after(http::track_requests());  // brigade_http_request_duration_seconds{method,route,...}
  app.post("/orders/:payment", [&](Req& req, Res& res) {
    orders.labels({std::string(req.param("payment"))}).inc();  // keep a child for hot paths
    basket.observe(3);
    res.status(201).send("ordered\n");
  });
  app.get("/metrics", http::metrics_handler(registry));
  http::Server server = app.listen(loop, "127.0.0.1", serve ? 9464 : 0);
  metrics::Collector served = http::collect_server(registry, server);
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  std::printf("metrics at %s/metrics\n", base.c_str());

  if (!serve)
    spawn(
        [](std::string base, http::Server& server) -> Task<void> {
          for (const char* path : {"/orders/card", "/orders/card", "/orders/cash"}) {
            http::FetchOptions post;
            post.method = "POST";
            auto placed = http::fetch(base + path, post);  // named: see the g++ 12 note
            co_await placed;
          }
          http::Response scrape = co_await http::fetch(base + "/metrics");
          std::string text = co_await scrape.text();
          for (std::string_view prefix :
               {"shop_", "brigade_http_request", "brigade_eventloop_delay_p",
                "process_resident"}) {  // a sample of the ~200 lines
            for (std::size_t at = 0; (at = text.find(prefix, at)) != std::string::npos;) {
              std::size_t eol = text.find('\n', at);
              if (at == 0 || text[at - 1] == '\n')
                std::printf("%s\n", text.substr(at, eol - at).c_str());
              at = eol;
            }
          }
          server.close();
        }(base, server),
        "self-scrape");
  loop.run();
}
