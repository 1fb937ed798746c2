#pragma once
// A WebSocket route's callbacks (uWebSockets' behavior; Node's ws 'connection', 'message',
// 'drain' and 'close' events), the alternative to a coroutine handler: no coroutine frame per
// socket, so an idle connection costs only its state (see ws::Server::route).
//
//   sockets.route("/echo", ws::Behavior{
//       .open = [](ws::WebSocket& ws, const ws::Handshake&) { ws.send_nowait("hello"); },
//       .message = [](ws::WebSocket& ws, std::string_view data, bool binary) {
//         ws.send_nowait(data, binary);
//       },
//   });
//
// The same protocol core as receive()/send(): messages arrive whole (fragments reassembled,
// text checked as UTF-8), pings are answered, the close handshake and the heartbeat run. A
// callback that throws closes its own socket with 1011 ("internal error"); no other socket and
// no other route is affected. Callbacks run on the loop's thread and must not block.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brigade/ws/websocket.hpp"

namespace brigade::ws {

// What a route keeps of the upgrade request (copies: the HTTP request is gone by then).
struct Handshake {
  std::string path;
  std::string query;                                        // the raw query string
  std::vector<std::pair<std::string, std::string>> params;  // route params, decoded
  std::string origin;                                       // the Origin header
  std::string_view param(std::string_view name) const noexcept {
    for (auto& [k, v] : params)
      if (k == name) return v;
    return {};
  }
};

struct Behavior {
  // The 101 is out; runs before any message. Keep what the handshake says in ws.data().
  std::function<void(WebSocket& ws, const Handshake& handshake)> open;
  // One whole message; `data` is valid during the call only.
  std::function<void(WebSocket& ws, std::string_view data, bool binary)> message;
  // buffered_amount() is back at or under Options::high_water_mark after a send left it above:
  // the time to send more (backpressure).
  std::function<void(WebSocket& ws)> drain;
  // The connection ended (the last call): the close code and reason as ws.close_code() and
  // ws.close_reason() give them (1006 without a close frame).
  std::function<void(WebSocket& ws, uint16_t code, std::string_view reason)> close;
};

}  // namespace brigade::ws
