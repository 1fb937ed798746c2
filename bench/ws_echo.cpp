// The WebSocket benchmarks' brigade server (bench/node/ws_echo_server.js is its Node + ws twin):
// echoes every message on /echo; a text message "broadcast" from any socket publishes one
// 64-byte message to every connected socket (encoded once) and answers "sent N" to the asker.
// The route is written as callbacks (ws::Behavior, no coroutine per socket), or with
// --coroutine as a coroutine handler looping on receive(): the same protocol core, so the two
// differ by the handler's frame per socket (the ws_idle and ws_idle_coroutine rows).
// Usage: ws_echo --port N [--coroutine]   (prints "listening on 127.0.0.1:PORT" once ready)
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "brigade/http/app.hpp"
#include "brigade/ws.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  uint16_t port = 0;
  bool coroutine = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = uint16_t(std::atoi(argv[++i]));
    if (std::strcmp(argv[i], "--coroutine") == 0) coroutine = true;
  }
  Loop loop;
  http::App app;
  ws::Server sockets(app);
  ws::Hub hub;
  std::string payload(64, 'b');
  ws::Options o;
  o.ping_interval_ms = 0;  // as ws, which has no heartbeat of its own
  auto answer = [&](ws::WebSocket& ws, std::string_view data, bool binary) {
    if (!binary && data == "broadcast") {
      std::size_t n = hub.publish("all", payload);
      ws.send_nowait("sent " + std::to_string(n));
    } else {
      ws.send_nowait(data, true);
    }
  };
  if (coroutine) {
    sockets.route(
        "/echo",
        [&](ws::WebSocket ws, ws::Handshake) -> Task<void> {
          hub.subscribe(ws, "all");
          while (auto m = co_await ws.receive()) {
            if (!m->binary && m->data == "broadcast")
              answer(ws, m->data, false);
            else
              co_await ws.send_binary(m->data);
          }
        },
        o);
  } else {
    sockets.route(
        "/echo",
        ws::Behavior{
            .open = [&](ws::WebSocket& ws, const ws::Handshake&) { hub.subscribe(ws, "all"); },
            .message = answer,
        },
        o);
  }
  http::Server server = app.listen(loop, "127.0.0.1", port);
  std::printf("listening on 127.0.0.1:%u\n", unsigned(server.port()));
  std::fflush(stdout);
  loop.run();
}
