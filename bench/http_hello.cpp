// brigade's side of the HTTP benchmark: a plaintext "Hello, World!" App with keep-alive.
// With --tls CERT KEY the same App over HTTPS (the TLS benchmarks: https_c50, https_handshakes,
// https_idle). With --metrics what a production service adds for Prometheus: per-route request
// durations (track_requests), the runtime and server collectors and GET /metrics (the
// http_metrics benchmark).
// Usage: http_hello [--tls CERT KEY] [--metrics] [--port N]   (binds 127.0.0.1; prints
// "listening on 127.0.0.1:PORT")
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "brigade/http/app.hpp"
#include "brigade/http/metrics.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/metrics/runtime.hpp"

int main(int argc, char** argv) {
  uint16_t port = 8080;
  bool metrics = false;
  brigade::http::ServerOptions options;
  options.keep_alive_timeout_ms = 60'000;  // as the Node twin
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--tls") == 0 && i + 2 < argc) {
      options.tls.emplace();
      options.tls->cert_file = argv[++i];
      options.tls->key_file = argv[++i];
    } else if (std::strcmp(argv[i], "--metrics") == 0) {
      metrics = true;
    }
  }
  brigade::Loop loop;
  brigade::http::App app;
  brigade::metrics::Registry& registry = brigade::metrics::Registry::global();
  std::optional<brigade::metrics::RuntimeCollectors> runtime;
  if (metrics) {
    runtime = brigade::metrics::collect_runtime(registry, loop);
    app.after(brigade::http::track_requests(registry));
    app.get("/metrics", brigade::http::metrics_handler(registry));
  }
  app.get("/", [](brigade::http::Req&, brigade::http::Res& res) {
    res.type("text/plain").send("Hello, World!");
  });
  brigade::http::Server server = app.listen(loop, "127.0.0.1", port, options);
  brigade::metrics::Collector served;
  if (metrics) served = brigade::http::collect_server(registry, server);
  std::printf("listening on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  loop.run();
}
