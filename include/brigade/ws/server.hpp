#pragma once
// ws::Server: WebSocket routes on an http::App (Node's `new WebSocketServer({ server })` with a
// path, or uWebSockets' app.ws(pattern, behavior)).
//
//   http::App app;
//   ws::Server sockets(app);
//   app.use(auth);                            // middleware runs before the upgrade
//   sockets.route("/chat/:room", [](ws::WebSocket ws, ws::Handshake hs) -> Task<void> {
//     while (auto msg = co_await ws.receive()) co_await ws.send(msg->data);
//   });
//
// A route is a GET route of the app: its params, `use` middleware and error handlers apply
// before the upgrade, so a middleware that answers (401, 403) rejects the upgrade with that
// HTTP status. A request that is not a valid upgrade gets 400, 405 or 426 (with
// Sec-WebSocket-Version: 13). Subprotocols are chosen from Options::protocols, in the server's
// order of preference; permessage-deflate is agreed when Options::deflate.enabled.
// The handler runs as its own task once the 101 is out; when it returns, the socket is closed
// (1000) if still open; when it throws, with 1011. A route written as a ws::Behavior (callbacks,
// uWebSockets' style) has no task per socket: an idle socket costs a third of a coroutine
// route's (see behavior.hpp). The Server and the App must outlive the connections (close()
// first).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "brigade/http/app.hpp"
#include "brigade/loop/function.hpp"
#include "brigade/task/task.hpp"
#include "brigade/ws/behavior.hpp"
#include "brigade/ws/websocket.hpp"

namespace brigade::ws {

using Handler = std::function<Task<void>(WebSocket, Handshake)>;

class Server {
 public:
  explicit Server(http::App& app);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Server& route(std::string pattern, Handler handler, Options options = {});
  // The same route written as callbacks (behavior.hpp): no coroutine per socket.
  Server& route(std::string pattern, Behavior behavior, Options options = {});

  std::size_t connections() const noexcept;  // open now
  // Graceful close: sends `code` (1001, going away) to every open socket and waits until each
  // has answered or passed its close_timeout_ms. New upgrades are refused with 503 from now on.
  Task<void> close(uint16_t code = close_code::kGoingAway, std::string reason = "server closing");

  struct State;

 private:
  Server& add_route(std::string pattern, Handler handler, Behavior behavior, Options options);
  std::shared_ptr<State> state_;
};

}  // namespace brigade::ws
