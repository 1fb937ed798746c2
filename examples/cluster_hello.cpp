// cluster_hello: N hello-world HTTP workers on one port (Node's cluster + http hello).
//   cluster_hello [--workers N] [--port P] [--policy rr|reuseport] [--crash] [--tls CERT KEY]
// The primary prints "listening on 127.0.0.1:PORT" and one line per worker event; SIGTERM
// drains and exits, SIGHUP restarts the workers one at a time. --crash makes every worker exit
// at once (to watch the respawn backoff). Each worker serves an http::App; stopping, it answers
// the requests in flight (Connection: close) before it exits. --tls serves HTTPS with that
// certificate and key: each worker does the handshakes of the connections it is handed.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "brigade/http/app.hpp"
#include "brigade/http/cluster_server.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/task.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  cluster::Options options;
  bool crash = false;
  http::ServerOptions server_options;
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
    } else if (a == "--crash") {
      crash = true;
    } else if (a == "--tls" && i + 2 < argc) {
      server_options.tls.emplace();
      server_options.tls->cert_file = argv[++i];
      server_options.tls->key_file = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--workers N] [--port P] [--policy rr|reuseport] [--crash] "
                   "[--tls CERT KEY]\n",
                   argv[0]);
      return 2;
    }
  }
  options.on_primary = [](cluster::Primary& primary) {
    std::printf("listening on 127.0.0.1:%u\n", primary.port());
    std::fflush(stdout);
    primary.on_worker_ready([&primary](unsigned id, pid_t pid) {
      std::printf("worker %u ready pid %d\n", id, pid);
      std::fflush(stdout);
      primary.send(id, "hello worker " + std::to_string(id));
    });
    primary.on_worker_exit([](unsigned id, pid_t pid, int code, int signal) {
      std::printf("worker %u exit pid %d code %d signal %d\n", id, pid, code, signal);
      std::fflush(stdout);
    });
    primary.on_message([](unsigned id, std::string m) {
      std::printf("worker %u says: %s\n", id, m.c_str());
      std::fflush(stdout);
    });
  };
  return cluster::run(options, [crash, server_options](cluster::Worker& worker) -> Task<void> {
    if (crash) std::_Exit(3);                  // a crash: no cleanup
    auto app = std::make_shared<http::App>();  // lives as long as the server's handler
    app->get("/", [](http::Req&, http::Res& res) { res.type("text/plain").send("Hello, World!"); });
    http::serve(
        worker, [app](http::Req& req, http::Res& res) { app->handle(req, res); }, server_options);
    worker.on_message([&worker](std::string m) { spawn(worker.send("got '" + m + "'"), "reply"); });
    co_return;
  });
}
