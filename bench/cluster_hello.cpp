// brigade's side of the cluster benchmark: N worker processes, each an http::App answering
// "Hello, World!" with keep-alive, behind one port (Node's cluster + http hello).
// Usage: cluster_hello [--workers N] [--port P] [--policy rr|reuseport]
// The primary prints "listening on 127.0.0.1:PORT" once every worker is ready to serve.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string_view>

#include "brigade/http/app.hpp"
#include "brigade/process/cluster.hpp"

using namespace brigade;

namespace {

// One worker's server; lives until the worker is told to stop and the server has drained.
struct WorkerService {
  explicit WorkerService(Loop& loop) : server(loop, app.handler(), options()) {}
  static http::ServerOptions options() {
    http::ServerOptions o;
    o.keep_alive_timeout_ms = 60'000;  // as the Node twin
    return o;
  }
  http::App app;
  http::Server server;
  std::optional<std::stop_callback<std::function<void()>>> on_stop;
};
std::unique_ptr<WorkerService> g_service;

Task<void> worker_main(cluster::Worker& worker) {
  Loop* loop = &worker.loop();
  g_service = std::make_unique<WorkerService>(*loop);
  WorkerService* w = g_service.get();
  w->app.get("/", [](http::Req&, http::Res& res) { res.type("text/plain").send("Hello, World!"); });
  worker.serve([w](net::Stream s) { w->server.adopt(std::move(s)); });
  std::function<void()> stop = [w, loop] {
    w->server.close([loop] { loop->set_immediate([] { g_service.reset(); }); });
  };
  w->on_stop.emplace(worker.stopping(), std::move(stop));
  co_return;
}

}  // namespace

int main(int argc, char** argv) {
  cluster::Options options;
  options.workers = 2;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--workers" && i + 1 < argc) {
      options.workers = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (a == "--port" && i + 1 < argc) {
      options.port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (a == "--policy" && i + 1 < argc) {
      std::string_view p = argv[++i];
      options.policy =
          p == "reuseport" ? cluster::Policy::kReusePort : cluster::Policy::kRoundRobin;
    } else {
      std::fprintf(stderr, "usage: %s [--workers N] [--port P] [--policy rr|reuseport]\n", argv[0]);
      return 2;
    }
  }
  unsigned wanted = options.workers;
  options.on_primary = [wanted](cluster::Primary& primary) {
    auto ready = std::make_shared<unsigned>(0);
    primary.on_worker_ready([&primary, ready, wanted](unsigned, pid_t) {
      if (++*ready != wanted) return;  // respawns later count past `wanted`: printed once
      std::printf("listening on 127.0.0.1:%u\n", primary.port());
      std::fflush(stdout);
    });
  };
  return cluster::run(options, worker_main);
}
