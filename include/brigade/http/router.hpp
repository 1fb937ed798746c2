#pragma once
// Router: routes, middleware and error handlers grouped to be mounted under a path prefix
// (Express's express.Router()), and the step types App and Router share.
//
//   http::Router users;
//   users.use([](Req& req, Res& res) -> Task<void> { ... });   // only under the mount
//   users.get("/", list_users);
//   users.get("/:id", show_user);             // mounted: "/v1/orgs/:org/users/:id"
//   app.use("/v1/orgs/:org/users", std::move(users));         // req.param("org") reaches it
//
// Mounting copies the router's entries into the app (or the outer router) with the prefix
// joined in front, so a request is still matched in one pass over flat routes; a router is
// therefore complete when it is mounted (add to it first, then mount it). Routers nest.
//
// Middleware kinds (all for `use`, with or without a path prefix):
//   void(Req&, Res&)                plain: the chain goes on unless it ended the response
//   Task<void>(Req&, Res&)          a coroutine, the same
//   Task<void>(Req&, Res&, Next)    around: `co_await next()` runs the rest of the chain (the
//                                   later middleware and the route), then it may act after
//                                   (timing, headers of a buffered answer). Not calling next()
//                                   means it answers itself; returning with neither is a bug
//                                   (500, logged). An error below next() is answered by the
//                                   on_error handlers inside next(), which then returns.
// A prefix matches whole segments ("/api" matches "/api" and "/api/x", not "/apix") and may
// hold ":params" and "*" as route patterns do.
#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "brigade/http/route_pattern.hpp"
#include "brigade/http/server_request.hpp"
#include "brigade/http/server_response.hpp"
#include "brigade/loop/function.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

using Req = ServerRequest;
using Res = ServerResponse;

namespace detail {
struct Chain;  // one request's run through an App's middleware (src/http/app.cpp)
}

// The rest of the middleware chain, handed to an around middleware.
class Next {
 public:
  // Runs the later middleware and the route once (a second call does nothing).
  Task<void> operator()() const;

 private:
  friend class App;
  Next(detail::Chain* chain, std::size_t index) noexcept : chain_(chain), index_(index) {}
  detail::Chain* chain_;
  std::size_t index_;
};

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

// A plain, coroutine or around step; exactly one of the three is set.
struct Step {
  UniqueFunction<void(Req&, Res&), 32> plain;
  UniqueFunction<Task<void>(Req&, Res&), 32> coro;
  UniqueFunction<Task<void>(Req&, Res&, Next), 32> around;
  bool is_coro() const noexcept { return bool(coro) || bool(around); }

  template <typename F>
  static Step of(F f) {
    Step s;
    if constexpr (std::is_invocable_v<F&, Req&, Res&, Next>) {
      static_assert(std::is_same_v<std::invoke_result_t<F&, Req&, Res&, Next>, Task<void>>,
                    "a middleware taking Next is a coroutine: Task<void>(Req&, Res&, Next)");
      s.around = std::move(f);
    } else if constexpr (std::is_same_v<std::invoke_result_t<F&, Req&, Res&>, Task<void>>) {
      s.coro = std::move(f);
    } else {
      s.plain = std::move(f);
    }
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

class Router;

// The registration methods App and Router share (get, post, ..., use, on_error).
template <typename Self>
class RouteMethods {
 public:
  template <typename F>
  Self& get(std::string pattern, F f) {
    return route("GET", std::move(pattern), std::move(f));
  }
  template <typename F>
  Self& post(std::string pattern, F f) {
    return route("POST", std::move(pattern), std::move(f));
  }
  template <typename F>
  Self& put(std::string pattern, F f) {
    return route("PUT", std::move(pattern), std::move(f));
  }
  template <typename F>
  Self& patch(std::string pattern, F f) {
    return route("PATCH", std::move(pattern), std::move(f));
  }
  template <typename F>
  Self& del(std::string pattern, F f) {
    return route("DELETE", std::move(pattern), std::move(f));
  }
  template <typename F>
  Self& head(std::string pattern, F f) {
    return route("HEAD", std::move(pattern), std::move(f));
  }
  template <typename F>
  Self& options(std::string pattern, F f) {
    return route("OPTIONS", std::move(pattern), std::move(f));
  }
  // Any method.
  template <typename F>
  Self& all(std::string pattern, F f) {
    return route("", std::move(pattern), std::move(f));
  }
  // Any method name, as sent ("GET", "PROPFIND"); "" for any.
  template <typename F>
  Self& route(std::string method, std::string pattern, F f) {
    return route(std::move(method), std::move(pattern), RouteOptions(), std::move(f));
  }
  // With options (e.g. RouteOptions::stream() for a streamed body).
  template <typename F>
  Self& route(std::string method, std::string pattern, RouteOptions options, F f) {
    static_assert(!std::is_invocable_v<F&, Req&, Res&, Next>,
                  "a route's handler answers; Next is for middleware (use)");
    self().add_route(std::move(method), std::move(pattern), Step::of(std::move(f)), options);
    return self();
  }
  template <typename F>
  Self& post(std::string pattern, RouteOptions options, F f) {
    return route("POST", std::move(pattern), options, std::move(f));
  }
  template <typename F>
  Self& put(std::string pattern, RouteOptions options, F f) {
    return route("PUT", std::move(pattern), options, std::move(f));
  }
  template <typename F>
  Self& patch(std::string pattern, RouteOptions options, F f) {
    return route("PATCH", std::move(pattern), options, std::move(f));
  }
  template <typename F>
  Self& all(std::string pattern, RouteOptions options, F f) {
    return route("", std::move(pattern), options, std::move(f));
  }

  // Middleware for every request, or for paths under `prefix`.
  template <typename F>
  Self& use(F f) {
    self().add_middleware("", Step::of(std::move(f)));
    return self();
  }
  template <typename F>
  Self& use(std::string prefix, F f) {
    self().add_middleware(std::move(prefix), Step::of(std::move(f)));
    return self();
  }
  // Mounts a router's routes, middleware and error handlers under `prefix`.
  Self& use(std::string prefix, Router router);

  // Error handlers: `void(Req&, Res&, std::exception_ptr)` or a coroutine; for every request
  // or for paths under `prefix`.
  template <typename F>
  Self& on_error(F f) {
    self().add_error("", ErrorStep::of(std::move(f)));
    return self();
  }
  template <typename F>
  Self& on_error(std::string prefix, F f) {
    self().add_error(std::move(prefix), ErrorStep::of(std::move(f)));
    return self();
  }

 private:
  Self& self() noexcept { return static_cast<Self&>(*this); }
};

class Router : public RouteMethods<Router> {
 public:
  struct RouteEntry {
    std::string method;
    std::string pattern;
    Step step;
    RouteOptions options;
  };
  struct UseEntry {
    std::string prefix;
    Step step;
  };
  struct ErrorEntry {
    std::string prefix;
    ErrorStep step;
  };

  Router() = default;
  Router(Router&&) noexcept = default;
  Router& operator=(Router&&) noexcept = default;

  std::vector<RouteEntry>& routes() noexcept { return routes_; }
  std::vector<UseEntry>& middleware() noexcept { return middleware_; }
  std::vector<ErrorEntry>& errors() noexcept { return errors_; }

 private:
  friend class RouteMethods<Router>;
  void add_route(std::string method, std::string pattern, Step step, RouteOptions options) {
    routes_.push_back({std::move(method), std::move(pattern), std::move(step), options});
  }
  void add_middleware(std::string prefix, Step step) {
    middleware_.push_back({std::move(prefix), std::move(step)});
  }
  void add_error(std::string prefix, ErrorStep step) {
    errors_.push_back({std::move(prefix), std::move(step)});
  }
  std::vector<RouteEntry> routes_;
  std::vector<UseEntry> middleware_;
  std::vector<ErrorEntry> errors_;
};

// Copies `router`'s entries into `into` (an App or a Router), their paths under `prefix`.
template <typename Self>
Self& RouteMethods<Self>::use(std::string prefix, Router router) {
  Self& into = self();
  for (auto& u : router.middleware())
    into.add_middleware(join_paths(prefix, u.prefix), std::move(u.step));
  for (auto& e : router.errors()) into.add_error(join_paths(prefix, e.prefix), std::move(e.step));
  for (auto& r : router.routes())
    into.add_route(std::move(r.method), join_paths(prefix, r.pattern), std::move(r.step),
                   r.options);
  return into;
}

}  // namespace brigade::http
