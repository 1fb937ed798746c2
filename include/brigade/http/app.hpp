#pragma once
// App: routing and middleware over Server (Express's app).
//
//   http::App app;
//   app.use([](Req& req, Res& res) { res.set("X-Powered-By", "brigade"); });
//   app.get("/users/:id", [&](Req& req, Res& res) -> Task<void> {
//     auto rows = co_await db.query("select name from users where id = ?", req.param("id"));
//     res.json({{"name", rows[0][0]}});
//   });
//   http::Server server = app.listen(loop, "127.0.0.1", 8080);
//
// (Req and Res are http::ServerRequest and http::ServerResponse.)
//
// Handlers and middleware are plain functions `void(Req&, Res&)` or coroutines
// `Task<void>(Req&, Res&)`; a request whose chain is all plain functions runs without any
// allocation. Order per request: `use` middleware in order (a middleware that ends the
// response stops the chain), the route's handler, then `after` middleware (they run even when
// an earlier step ended the response or threw, and may still set headers: buffered answers are
// serialized after them). An exception goes to the `on_error` handlers (`void(Req&, Res&,
// std::exception_ptr)` or a coroutine), then, if none ended the response, becomes a 500
// (or, when the head is already sent, closes the connection). The connection stays usable.
//
// Routing: by method and RoutePattern (":params", "*"), in the order routes were added. HEAD
// uses the GET route if there is no HEAD route. A path that matches with another method only:
// 405 with Allow; an unknown method: 501; no match: 404. A matched route whose ":param" has a
// malformed percent-escape ("/users/%ZZ"): 400 naming the parameter, as in Express. A route's
// handler that returns without answering (and without throwing) is a bug: 500, and a line
// naming the route on stderr. While a handler runs, the loop's
// activity (for the blocked-loop report) is the route's pattern.
// The App must outlive its servers and any request in flight; add routes before serving.
//
// Streamed bodies (Node's `for await (const chunk of req)`): a route added with
// RouteOptions::stream() runs as soon as the head is parsed and reads the body with
// req.read_chunk() / req.read(buf) / req.read_all() (see server_request.hpp):
//
//   app.post("/upload", http::RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
//     uint64_t n = 0;
//     for (;;) {
//       auto next = req.read_chunk();
//       std::string_view piece = co_await next;
//       if (piece.empty()) break;
//       n += piece.size();
//     }
//     res.send(std::to_string(n));
//   });
//
// Its limit is the route's max_body_size (0, the default: unlimited, as in Node), not the
// server's. Routing then happens at head time (App::listen installs head_hook() on its server;
// a Server built from app.handler() needs server.on_head(app.head_hook()) too, or the route
// gets its body buffered, still readable with req.read*). `use` middleware runs before the body.
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "brigade/http/route_pattern.hpp"
#include "brigade/http/server.hpp"
#include "brigade/http/server_request.hpp"
#include "brigade/http/server_response.hpp"
#include "brigade/http/trust_proxy.hpp"
#include "brigade/loop/function.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

using Req = ServerRequest;
using Res = ServerResponse;

// How a route gets its request body.
enum class BodyMode : uint8_t {
  kBuffer,  // whole, before the handler (up to ServerOptions::max_body_size)
  kStream,  // as it arrives, pulled by the handler (req.read_chunk())
};

struct RouteOptions {
  BodyMode body = BodyMode::kBuffer;
  uint64_t max_body_size = 0;  // kStream: 413 / EFBIG beyond; 0: unlimited

  static RouteOptions stream(uint64_t max_body_size = 0) noexcept {
    RouteOptions o;
    o.body = BodyMode::kStream;
    o.max_body_size = max_body_size;
    return o;
  }
};

// A plain or coroutine step; exactly one of the two is set.
struct Step {
  UniqueFunction<void(Req&, Res&), 32> plain;
  UniqueFunction<Task<void>(Req&, Res&), 32> coro;
  bool is_coro() const noexcept { return bool(coro); }

  template <typename F>
  static Step of(F f) {
    Step s;
    if constexpr (std::is_same_v<std::invoke_result_t<F&, Req&, Res&>, Task<void>>)
      s.coro = std::move(f);
    else
      s.plain = std::move(f);
    return s;
  }
};

struct ErrorStep {
  UniqueFunction<void(Req&, Res&, std::exception_ptr), 32> plain;
  UniqueFunction<Task<void>(Req&, Res&, std::exception_ptr), 32> coro;

  template <typename F>
  static ErrorStep of(F f) {
    ErrorStep s;
    if constexpr (std::is_same_v<std::invoke_result_t<F&, Req&, Res&, std::exception_ptr>,
                                 Task<void>>)
      s.coro = std::move(f);
    else
      s.plain = std::move(f);
    return s;
  }
};

class App {
 public:
  App() = default;
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  template <typename F>
  App& get(std::string pattern, F f) {
    return route("GET", std::move(pattern), std::move(f));
  }
  template <typename F>
  App& post(std::string pattern, F f) {
    return route("POST", std::move(pattern), std::move(f));
  }
  template <typename F>
  App& put(std::string pattern, F f) {
    return route("PUT", std::move(pattern), std::move(f));
  }
  template <typename F>
  App& patch(std::string pattern, F f) {
    return route("PATCH", std::move(pattern), std::move(f));
  }
  template <typename F>
  App& del(std::string pattern, F f) {
    return route("DELETE", std::move(pattern), std::move(f));
  }
  template <typename F>
  App& head(std::string pattern, F f) {
    return route("HEAD", std::move(pattern), std::move(f));
  }
  template <typename F>
  App& options(std::string pattern, F f) {
    return route("OPTIONS", std::move(pattern), std::move(f));
  }
  // Any method.
  template <typename F>
  App& all(std::string pattern, F f) {
    return route("", std::move(pattern), std::move(f));
  }
  // Any method name, as sent ("GET", "PROPFIND"); "" for any.
  template <typename F>
  App& route(std::string method, std::string pattern, F f) {
    add_route(std::move(method), std::move(pattern), Step::of(std::move(f)), RouteOptions());
    return *this;
  }
  // With options (e.g. RouteOptions::stream() for a streamed body).
  template <typename F>
  App& route(std::string method, std::string pattern, RouteOptions options, F f) {
    add_route(std::move(method), std::move(pattern), Step::of(std::move(f)), options);
    return *this;
  }
  template <typename F>
  App& post(std::string pattern, RouteOptions options, F f) {
    return route("POST", std::move(pattern), options, std::move(f));
  }
  template <typename F>
  App& put(std::string pattern, RouteOptions options, F f) {
    return route("PUT", std::move(pattern), options, std::move(f));
  }
  template <typename F>
  App& patch(std::string pattern, RouteOptions options, F f) {
    return route("PATCH", std::move(pattern), options, std::move(f));
  }
  template <typename F>
  App& all(std::string pattern, RouteOptions options, F f) {
    return route("", std::move(pattern), options, std::move(f));
  }

  template <typename F>
  App& use(F f) {
    add_before(Step::of(std::move(f)));
    return *this;
  }
  template <typename F>
  App& after(F f) {
    add_after(Step::of(std::move(f)));
    return *this;
  }
  template <typename F>
  App& on_error(F f) {
    add_error(ErrorStep::of(std::move(f)));
    return *this;
  }

  // Which hops may speak for the client through X-Forwarded-For/-Proto/-Host (Express's
  // `app.set('trust proxy', ...)`; see trust_proxy.hpp). Default: none.
  App& trust_proxy(TrustProxy trust) {
    trust_ = std::move(trust);
    return *this;
  }
  const TrustProxy& trust_proxy() const noexcept { return trust_; }

  // The server's handler for this app.
  void handle(Req& req, Res& res);
  Server::Handler handler() {
    return [this](Req& req, Res& res) { handle(req, res); };
  }
  // Routes at head time and asks for a stream route's body to be streamed (Server::on_head).
  void route_head(Req& req);
  Server::HeadHook head_hook() {
    return [this](Req& req) { route_head(req); };
  }
  bool has_stream_routes() const noexcept { return stream_routes_; }
  // A server running this app, listening on ip:port (port 0: any; see Server::port()).
  Server listen(Loop& loop, std::string_view ip, uint16_t port, ServerOptions options = {});

  struct Route {
    std::string method;  // "" for any
    RoutePattern pattern;
    Step step;
    RouteOptions options;
  };

 private:
  void add_route(std::string method, std::string pattern, Step step, RouteOptions options);
  void add_before(Step step);
  void add_after(Step step);
  void add_error(ErrorStep step);

  Route* find(Req& req, int& status_if_none, std::string& allow);
  bool needs_coroutine(Route* route) const noexcept;
  void run_plain(Req& req, Res& res, Route* route, int status_if_none, const std::string& allow);
  Task<void> run_chain(Req& req, Res& res, Route* route, int status_if_none, std::string allow);
  void answer_unrouted(Res& res, int status, const std::string& detail);
  void check_answered(Req& req, Res& res, Route* route);
  void fail_plain(Req& req, Res& res, std::exception_ptr error);
  Task<void> fail(Req& req, Res& res, std::exception_ptr error);

  std::vector<Route> routes_;
  std::vector<Step> before_;
  std::vector<Step> after_;
  std::vector<ErrorStep> errors_;
  TrustProxy trust_;
  bool coro_middleware_ = false;
  bool stream_routes_ = false;
};

}  // namespace brigade::http
