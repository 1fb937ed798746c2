// A chat server: an HTML page and a WebSocket route, every message published to everyone in
// the room, as one would write with Node's express + ws:
//
//   const wss = new WebSocketServer({ server, path: '/chat' });
//   wss.on('connection', (ws) => ws.on('message', (m) => {
//     for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(String(m));
//   }));
//
// Open http://127.0.0.1:8090/ in two browser tabs and type. Each message is encoded once and
// the same bytes are queued on every socket (ws::Hub); a tab that stops reading is closed
// (1008) once its queue passes Options::max_buffered, instead of growing the server's memory.
// --tls CERT KEY serves the page over HTTPS and the chat over wss:// (Node's https.createServer
// handed to WebSocketServer). --workers N runs N cluster worker processes on the port: each
// worker's hub is linked to the others through the primary, so a message reaches the room in
// every worker (guests are named after their worker, w0-guest1...).
// Ctrl-C (in a cluster, SIGTERM too): every socket gets 1001 (going away) and the server stops once
// they answered. Usage: ws_chat [--port N] [--tls CERT KEY] [--workers N]   (default port 8090; 0:
// a free one)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "brigade/http/app.hpp"
#include "brigade/http/cluster_server.hpp"
#include "brigade/loop/signal.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/ws.hpp"

using namespace brigade;

static const char* kPage = R"(<!doctype html>
<meta charset="utf-8"><title>brigade chat</title>
<ul id="log"></ul>
<form id="f"><input id="text" autocomplete="off" autofocus><button>send</button></form>
<script>
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat/lobby');
const log = (t) => { const li = document.createElement('li'); li.textContent = t; document.getElementById('log').append(li); };
ws.onmessage = (e) => log(e.data);
ws.onclose = (e) => log('closed: ' + e.code);
document.getElementById('f').onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  if (input.value) ws.send(input.value);
  input.value = '';
};
</script>
)";

// One process's chat: the page, the WebSocket route and the room hub.
struct Chat {
  http::App app;
  ws::Server sockets{app};
  ws::Hub hub;
  std::string prefix;  // the worker's name in a cluster ("w1-"), else empty
  int next_id = 1;

  explicit Chat(std::string name_prefix) : prefix(std::move(name_prefix)) {
    app.get("/",
            [](http::Req&, http::Res& res) { res.type("text/html; charset=utf-8").send(kPage); });
    ws::Options options;
    options.deflate.enabled = true;  // browsers offer permessage-deflate
    sockets.route(
        "/chat/:room",
        [this](ws::WebSocket ws, ws::Handshake hs) -> Task<void> {
          std::string room(hs.param("room"));
          std::string me = prefix + "guest" + std::to_string(next_id++);
          hub.subscribe(ws, room);
          hub.publish(room, me + " joined " + room);
          while (auto msg = co_await ws.receive()) {
            if (!msg->binary) hub.publish(room, me + ": " + msg->data);
          }
          hub.unsubscribe(ws, room);
          hub.publish(room, me + " left");
        },
        options);
  }
};

static Task<void> close_chat(Chat& chat, http::Server& server) {
  co_await chat.sockets.close();  // 1001 to each socket; waits for its answer (5 s at most)
  server.close();
}

// Cluster worker: the server is handed connections by the primary; stopping, the sockets get
// 1001 before the worker exits (its hold keeps it up meanwhile).
struct WorkerChat {
  Chat chat;
  cluster::Worker::Hold hold;
  std::optional<std::stop_callback<std::function<void()>>> on_stop;
  explicit WorkerChat(cluster::Worker& w) : chat("w" + std::to_string(w.id()) + "-"), hold(w) {}
};

static Task<void> close_worker_chat(std::shared_ptr<WorkerChat> w) {
  co_await w->chat.sockets.close();
  w->hold.release();
}

static int run_cluster(cluster::Options options, http::ServerOptions server_options) {
  options.on_primary = [secure = server_options.tls.has_value()](cluster::Primary& primary) {
    std::printf("chat on %s://127.0.0.1:%u/\n", secure ? "https" : "http",
                unsigned(primary.port()));
    std::fflush(stdout);
  };
  return cluster::run(options, [server_options](cluster::Worker& worker) -> Task<void> {
    auto w = std::make_shared<WorkerChat>(worker);
    w->chat.hub.link(worker);  // publications reach the other workers' rooms
    http::serve(
        worker, [w](http::Req& req, http::Res& res) { w->chat.app.handle(req, res); },
        server_options);
    std::weak_ptr<WorkerChat> weak = w;
    w->on_stop.emplace(worker.stopping(), [weak] {
      if (auto self = weak.lock()) spawn(close_worker_chat(self), "close sockets");
    });
    co_return;
  });
}

int main(int argc, char** argv) {
  uint16_t port = 8090;
  unsigned workers = 0;
  http::ServerOptions server_options;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      port = uint16_t(std::atoi(argv[++i]));
    } else if (a == "--workers" && i + 1 < argc) {
      workers = unsigned(std::atoi(argv[++i]));
    } else if (a == "--tls" && i + 2 < argc) {
      server_options.tls.emplace();
      server_options.tls->cert_file = argv[++i];
      server_options.tls->key_file = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--port N] [--tls CERT KEY] [--workers N]\n", argv[0]);
      return 2;
    }
  }
  if (workers > 0 || cluster::is_worker()) {
    cluster::Options options;
    options.workers = workers;
    options.port = port;
    return run_cluster(options, server_options);
  }

  Loop loop;
  Chat chat("");
  http::Server server = chat.app.listen(loop, "127.0.0.1", port, server_options);
  std::printf("chat on %s://127.0.0.1:%u/\n", server_options.tls ? "https" : "http",
              unsigned(server.port()));
  std::fflush(stdout);
  SignalWatcher stop(loop, SIGINT, [&](int) { spawn(close_chat(chat, server), "shutdown"); });
  stop.unref();  // the server keeps the loop alive, not the watcher
  loop.run();
}
