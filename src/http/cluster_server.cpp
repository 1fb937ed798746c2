// A cluster worker's HTTP server: holds the worker open until its graceful close completes.
#include "brigade/http/cluster_server.hpp"

#include <memory>
#include <optional>
#include <stop_token>

namespace brigade::http {

namespace {

struct WorkerServer {
  struct OnStop {
    WorkerServer* self;
    void operator()() noexcept {
      self->server.close([self = self] { self->hold.release(); });
    }
  };

  WorkerServer(cluster::Worker& w, Server::Handler h, ServerOptions o)
      : server(w.loop(), std::move(h), o), hold(w.hold()) {}

  Server server;
  cluster::Worker::Hold hold;  // released once the server has closed its last connection
  std::optional<std::stop_callback<OnStop>> on_stop;
};

}  // namespace

Server& serve(cluster::Worker& worker, Server::Handler handler, ServerOptions options) {
  auto ws = std::make_shared<WorkerServer>(worker, std::move(handler), options);
  worker.serve([ws](net::Stream s) { ws->server.adopt(std::move(s)); });
  ws->on_stop.emplace(worker.stopping(), WorkerServer::OnStop{ws.get()});  // may run at once
  return ws->server;
}

}  // namespace brigade::http
