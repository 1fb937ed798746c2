#pragma once
// An http::Server inside a cluster worker (Node: `http.createServer(app).listen(port)` in a
// worker of `cluster`): the connections the primary hands this worker are served by one Server;
// when the worker is told to stop, the server closes gracefully (requests in flight are answered
// with Connection: close, idle keep-alive connections close) and the worker exits after the last.
#include "brigade/http/server.hpp"
#include "brigade/process/cluster.hpp"

namespace brigade::http {

// Call once from the worker main. The server lives until the worker's loop ends.
Server& serve(cluster::Worker& worker, Server::Handler handler, ServerOptions options = {});

}  // namespace brigade::http
