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
// Usage: ws_chat [--port N]   (default 8090; 0 picks a free port)
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/loop/signal.hpp"
#include "brigade/ws.hpp"

using namespace brigade;

static const char* kPage = R"(<!doctype html>
<meta charset="utf-8"><title>brigade chat</title>
<ul id="log"></ul>
<form id="f"><input id="text" autocomplete="off" autofocus><button>send</button></form>
<script>
const ws = new WebSocket('ws://' + location.host + '/chat/lobby');
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

int main(int argc, char** argv) {
  uint16_t port = 8090;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--port") == 0) port = uint16_t(std::atoi(argv[i + 1]));

  Loop loop;
  http::App app;
  ws::Server sockets(app);
  ws::Hub hub;
  int next_id = 1;

  app.get("/",
          [](http::Req&, http::Res& res) { res.type("text/html; charset=utf-8").send(kPage); });
  ws::Options options;
  options.deflate.enabled = true;  // browsers offer permessage-deflate
  sockets.route(
      "/chat/:room",
      [&](ws::WebSocket ws, ws::Handshake hs) -> Task<void> {
        std::string room(hs.param("room"));
        std::string me = "guest" + std::to_string(next_id++);
        hub.subscribe(ws, room);
        hub.publish(room, me + " joined " + room);
        while (auto msg = co_await ws.receive()) {
          if (!msg->binary) hub.publish(room, me + ": " + msg->data);
        }
        hub.unsubscribe(ws, room);
        hub.publish(room, me + " left");
      },
      options);

  http::Server server = app.listen(loop, "127.0.0.1", port);
  std::printf("chat on http://127.0.0.1:%u/\n", unsigned(server.port()));
  std::fflush(stdout);

  // Ctrl-C: every socket gets 1001 (going away) and the server stops once they answered.
  SignalWatcher stop(loop, SIGINT, [&](int) {
    auto closing = [](ws::Server& s, http::Server& srv) -> Task<void> {
      co_await s.close();
      srv.close();
    };
    spawn(closing(sockets, server), "shutdown");
  });
  stop.unref();  // the server keeps the loop alive, not the watcher
  loop.run();
}
