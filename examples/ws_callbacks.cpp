// Chat rooms written as callbacks (ws::Behavior, uWebSockets' style): no coroutine per socket,
// so an idle socket costs a few hundred bytes (a tenth of Node + ws's). What one writes in Node:
//
//   wss.on('connection', (ws, req) => {
//     ws.name = `guest${++guests}`; ws.room = req.url.slice('/room/'.length);
//     ws.on('message', (m) => { for (const c of wss.clients)
//       if (c.room === ws.room && c.readyState === WebSocket.OPEN) c.send(`${ws.name}: ${m}`); });
//     ws.on('close', () => { /* tell the room */ });
//   });
//
// Each socket keeps its name and room in ws.data(); a room is a ws::Hub topic (one encoded frame
// for all its sockets). Ctrl-C: every socket gets 1001 and the server stops once they answered.
// Usage: ws_callbacks [--port N]   (default 8091; 0: a free one), then connect to /room/NAME.
#include <any>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "brigade/http/app.hpp"
#include "brigade/loop/signal.hpp"
#include "brigade/ws.hpp"

using namespace brigade;

struct Guest {  // what Node code would set as properties of `ws`
  std::string name;
  std::string room;
};

static Task<void> close_all(ws::Server& sockets, http::Server& server) {
  co_await sockets.close();  // 1001 to each socket; waits for its answer (5 s at most)
  server.close();
}

int main(int argc, char** argv) {
  uint16_t port = 8091;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--port") port = uint16_t(std::atoi(argv[i + 1]));
  Loop loop;
  http::App app;
  ws::Server sockets(app);
  ws::Hub hub;
  int guests = 0;
  sockets.route(
      "/room/:room",
      ws::Behavior{
          .open =
              [&](ws::WebSocket& ws, const ws::Handshake& hs) {
                Guest g{"guest" + std::to_string(++guests), std::string(hs.param("room"))};
                hub.subscribe(ws, g.room);
                hub.publish(g.room, g.name + " joined " + g.room);
                ws.data() = std::move(g);
              },
          .message =
              [&](ws::WebSocket& ws, std::string_view text, bool binary) {
                if (binary) return ws.close(1003, "text only");
                auto& g = std::any_cast<Guest&>(ws.data());
                hub.publish(g.room, g.name + ": " + std::string(text));
              },
          .close =
              [&](ws::WebSocket& ws, uint16_t, std::string_view) {
                auto& g = std::any_cast<Guest&>(ws.data());
                hub.unsubscribe(ws, g.room);
                hub.publish(g.room, g.name + " left");
              },
      });
  http::Server server = app.listen(loop, "127.0.0.1", port);
  std::printf("rooms on ws://127.0.0.1:%u/room/NAME\n", unsigned(server.port()));
  std::fflush(stdout);
  SignalWatcher stop(loop, SIGINT, [&](int) { spawn(close_all(sockets, server), "shutdown"); });
  stop.unref();  // the server keeps the loop alive, not the watcher
  loop.run();
}
