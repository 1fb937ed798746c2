#include "brigade/ws/server.hpp"

#include <exception>
#include <stdexcept>

#include "brigade/error.hpp"
#include "brigade/http/server_response.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/tls/stream.hpp"
#include "brigade/ws/handshake.hpp"
#include "socket_core.hpp"

namespace brigade::ws {

struct Server::State {
  http::App* app = nullptr;
  std::vector<WebSocket> open;  // pruned of closed sockets when it doubles (amortized O(1))
  std::size_t prune_at = 64;
  bool closing = false;

  void add(const WebSocket& ws) {
    if (open.size() >= prune_at) {
      std::erase_if(open, [](const WebSocket& s) { return !s.is_open(); });
      prune_at = std::max<std::size_t>(64, open.size() * 2);
    }
    open.push_back(ws);
  }
};

namespace {

struct RouteState {
  std::string pattern;
  std::string task_name;  // how reports name a handler's task
  // The task's context when the upgrade runs in none (the usual case): one immutable node
  // names every handler of the route, instead of one node per connection.
  ContextRef task_context;
  std::vector<std::string> param_names;
  Handler handler;          // the coroutine API's
  Behavior behavior;        // the callbacks', when `handler` is empty
  detail::Profile profile;  // the options, one copy for every socket of the route

  // What a socket holds: the route's profile, keeping the route (and so `behavior`) alive.
  static std::shared_ptr<const detail::Profile> profile_of(
      const std::shared_ptr<RouteState>& route) {
    return std::shared_ptr<const detail::Profile>(route, &route->profile);
  }
};

std::vector<std::string> param_names_of(std::string_view pattern) {
  std::vector<std::string> names;
  while (!pattern.empty()) {
    std::size_t slash = pattern.find('/');
    std::string_view seg = pattern.substr(0, slash);
    if (seg.starts_with(':'))
      names.emplace_back(seg.substr(1));
    else if (seg == "*")
      names.emplace_back("*");
    if (slash == std::string_view::npos) break;
    pattern.remove_prefix(slash + 1);
  }
  return names;
}

// Drives the handler's task to its end and closes the socket after it: a small frame of its
// own (no Task, no copy of the Handshake), as it lives as long as the connection. The route
// is held because the handler's frame may point into its closure.
brigade::detail::Detached drive(Task<void> task, WebSocket ws, std::shared_ptr<RouteState> route) {
  try {
    co_await task;
    if (ws.is_open()) ws.close(close_code::kNormal);
  } catch (const std::exception&) {
    if (ws.is_open()) ws.close(close_code::kInternalError, "internal error");
  } catch (...) {
    if (ws.is_open()) ws.close(close_code::kInternalError, "internal error");
    report_unhandled_rejection(route->task_name, std::current_exception());
  }
  brigade::detail::set_context(nullptr);
}

void run_handler(const std::shared_ptr<RouteState>& route, const WebSocket& ws, Handshake hs) {
  Task<void> task;
  try {
    task = route->handler(ws, std::move(hs));
  } catch (const std::exception&) {  // a handler that throws before its first co_await
    WebSocket(ws).close(close_code::kInternalError, "internal error");
    return;
  }
  const ContextNode* mine = brigade::detail::t_context;  // as spawn: the caller keeps its own
  if (mine)
    brigade::detail::name_task(task, route->task_name);  // inside the caller's context
  else
    task.set_context(route->task_context);
  drive(std::move(task), ws, route);
  brigade::detail::set_context(mine);
}

// The upgrade, inside the App's GET route: checks, answers 101 and hands the socket over.
void upgrade(http::Req& req, http::Res& res, const std::shared_ptr<RouteState>& route,
             const std::shared_ptr<Server::State>& server) {
  if (server->closing) {
    res.status(503).send("server closing");
    return;
  }
  UpgradeRequest u;
  u.method = req.method_name();
  u.http11 = req.http11();
  u.upgrade = req.header("Upgrade");
  u.connection = req.header("Connection");
  u.version = req.header("Sec-WebSocket-Version");
  u.key = req.header("Sec-WebSocket-Key");
  UpgradeCheck check = check_upgrade(u);
  if (check.status) {
    if (check.status == 426) res.set("Sec-WebSocket-Version", "13");
    res.status(check.status).send(check.why);
    return;
  }
  Negotiated negotiated;
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      accept_key(u.key) + "\r\n";
  const Options& options = route->profile;
  if (!options.protocols.empty()) {
    negotiated.protocol =
        std::string(choose_protocol(req.header("Sec-WebSocket-Protocol"), options.protocols));
    if (!negotiated.protocol.empty())
      head += "Sec-WebSocket-Protocol: " + negotiated.protocol + "\r\n";
  }
  if (options.deflate.enabled) {
    if (auto agreed = negotiate_deflate(req.header("Sec-WebSocket-Extensions"), options.deflate)) {
      negotiated.deflate = agreed->params;
      head += "Sec-WebSocket-Extensions: " + agreed->response + "\r\n";
    }
  }
  head += "\r\n";
  Handshake hs;
  hs.path = std::string(req.path());
  hs.query = std::string(req.query_string());
  hs.origin = std::string(req.header("Origin"));
  for (const std::string& name : route->param_names)
    hs.params.emplace_back(name, std::string(req.param(name)));

  http::Upgraded up = res.upgrade(head);
  WebSocket ws =
      up.tls.empty()
          ? detail::open_server_socket(std::move(up.socket), up.buffered,
                                       RouteState::profile_of(route), std::move(negotiated), hs)
          : detail::open_server_socket_tls(
                tls::Stream::join(std::move(up.socket), std::move(up.tls)), up.buffered,
                RouteState::profile_of(route), std::move(negotiated), hs);
  server->add(ws);
  if (route->handler) run_handler(route, ws, std::move(hs));
}

}  // namespace

Server::Server(http::App& app) : state_(std::make_shared<State>()) { state_->app = &app; }
Server::~Server() = default;

Server& Server::route(std::string pattern, Handler handler, Options options) {
  if (!handler) throw std::invalid_argument("ws::Server::route: an empty handler");
  return add_route(std::move(pattern), std::move(handler), {}, std::move(options));
}

Server& Server::route(std::string pattern, Behavior behavior, Options options) {
  return add_route(std::move(pattern), {}, std::move(behavior), std::move(options));
}

Server& Server::add_route(std::string pattern, Handler handler, Behavior behavior,
                          Options options) {
  auto route = std::make_shared<RouteState>();
  route->param_names = param_names_of(pattern);
  route->pattern = pattern;
  route->task_name = "websocket " + pattern;
  static const char kNameKey = 0;  // a key no AsyncLocal uses: the node only names the task
  route->task_context = ContextRef::adopt(new ContextNode(
      &kNameKey, nullptr, nullptr, brigade::detail::intern_task_name(route->task_name)));
  route->handler = std::move(handler);
  route->behavior = std::move(behavior);
  static_cast<Options&>(route->profile) = std::move(options);
  if (!route->handler) route->profile.behavior = &route->behavior;
  state_->app->get(std::move(pattern), [route, state = state_](http::Req& req, http::Res& res) {
    upgrade(req, res, route, state);
  });
  return *this;
}

std::size_t Server::connections() const noexcept {
  std::size_t n = 0;
  for (const WebSocket& ws : state_->open) n += ws.is_open();
  return n;
}

Task<void> Server::close(uint16_t code, std::string reason) {
  std::shared_ptr<State> state = state_;
  state->closing = true;
  std::vector<WebSocket> sockets = state->open;
  for (WebSocket& ws : sockets)
    if (ws.is_open()) ws.close(code, reason);
  for (WebSocket& ws : sockets) co_await ws.closed();
  state->open.clear();
}

}  // namespace brigade::ws
