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
// `Task<void>(Req&, Res&)`; middleware may also be around-middleware taking Next (see
// router.hpp), and be scoped to a path prefix (`app.use("/api", mw)`); routers mount under a
// prefix (`app.use("/v1", std::move(router))`). A request whose chain is all plain functions
// runs without any allocation. Order per request: the `use` middleware whose prefix matches,
// in the order added, all before the route (a middleware that ends the response stops the
// chain), the route's handler, then `after` middleware (they run even when
// an earlier step ended the response or threw, and may still set headers: buffered answers are
// serialized after them). An exception goes to the `on_error` handlers (`void(Req&, Res&,
// std::exception_ptr)` or a coroutine; those whose prefix matches), then, if none ended the
// response, becomes a 500 (or, when the head is already sent, closes the connection). The
// connection stays usable.
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
#include <vector>

#include "brigade/http/route_pattern.hpp"
#include "brigade/http/router.hpp"
#include "brigade/http/server.hpp"
#include "brigade/http/server_request.hpp"
#include "brigade/http/server_response.hpp"
#include "brigade/http/trust_proxy.hpp"
#include "brigade/loop/function.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

class App : public RouteMethods<App> {
 public:
  App() = default;
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // get/post/put/patch/del/head/options/all/route, use([prefix,] middleware),
  // use(prefix, Router), on_error([prefix,] handler): see RouteMethods in router.hpp.

  template <typename F>
  App& after(F f) {
    static_assert(!std::is_invocable_v<F&, Req&, Res&, Next>, "after-middleware has no next()");
    add_after(Step::of(std::move(f)));
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
  friend class RouteMethods<App>;
  friend class Next;
  // A middleware or error handler, for every path or those under a prefix.
  struct Scoped {
    RoutePattern prefix;
    bool everywhere;
    bool applies(std::string_view path) const { return everywhere || prefix.match_prefix(path); }
    // applies(), and if so, the request's base_url() becomes what the prefix matched.
    bool enter(Req& req) const;
  };
  struct Middleware : Scoped {
    Step step;
  };
  struct ErrorHandler : Scoped {
    ErrorStep step;
  };

  void add_route(std::string method, std::string pattern, Step step, RouteOptions options);
  void add_middleware(std::string prefix, Step step);
  void add_after(Step step);
  void add_error(std::string prefix, ErrorStep step);

  Route* find(Req& req, int& status_if_none, std::string& allow);
  bool needs_coroutine(const Req& req, Route* route) const noexcept;
  void run_plain(Req& req, Res& res, Route* route, int status_if_none, const std::string& allow);
  Task<void> run_chain(Req& req, Res& res, Route* route, int status_if_none, std::string allow);
  Task<void> run_from(detail::Chain& chain, std::size_t index);
  void answer_unrouted(Res& res, int status, const std::string& detail);
  void check_answered(Req& req, Res& res, Route* route);
  void fail_plain(Req& req, Res& res, std::exception_ptr error);
  Task<void> fail(Req& req, Res& res, std::exception_ptr error);

  std::vector<Route> routes_;
  std::vector<Middleware> before_;
  std::vector<Step> after_;
  std::vector<ErrorHandler> errors_;
  TrustProxy trust_;
  bool coro_middleware_ = false;
  bool stream_routes_ = false;
};

}  // namespace brigade::http
