// App: route lookup and the middleware chain, plain (no allocation) or as a coroutine.
#include "brigade/http/app.hpp"

#include <cstdio>

#include "access.hpp"
#include "brigade/http/body.hpp"
#include "brigade/task/spawn.hpp"

namespace brigade::http {

namespace {
// No error handler answered: an HttpError (a body parser's 400/413/415) says its status and
// message, as Express's default handler does with err.status; anything else is a 500.
void answer_unhandled(Res& res, const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const HttpError& e) {
    res.status(e.status()).send(e.what());
    return;
  } catch (...) {
  }
  res.status(500).send("Internal Server Error");
}
}  // namespace

using detail::RequestAccess;
using detail::ResponseAccess;

namespace detail {
// One request's run through the middleware: lives in App::run_chain's frame.
struct Chain {
  App* app;
  Req* req;
  Res* res;
  App::Route* route;
  int status;  // why there is no route (404/405/501/400)
  std::string allow;
  std::size_t entered = 0;  // the furthest index next() has run from
};
}  // namespace detail

namespace {
constexpr const char* kIdleActivity = "http";

void set_activity(const char* what) noexcept {
  if (Loop* loop = Loop::current()) loop->set_activity(what);
}

void add_allowed(std::string& allow, std::string_view method) {
  if (method.empty()) return;
  std::string_view rest = allow;
  while (!rest.empty()) {  // already listed?
    std::size_t comma = rest.find(", ");
    if (rest.substr(0, comma) == method) return;
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
  }
  if (!allow.empty()) allow += ", ";
  allow += method;
}
}  // namespace

void App::add_route(std::string method, std::string pattern, Step step, RouteOptions options) {
  stream_routes_ |= options.body == BodyMode::kStream;
  routes_.push_back(
      Route{std::move(method), RoutePattern(std::move(pattern)), std::move(step), options});
}
void App::add_middleware(std::string prefix, Step step) {
  coro_middleware_ |= step.is_coro();
  bool everywhere = prefix.empty() || prefix == "/";
  before_.push_back(Middleware{{RoutePattern(std::move(prefix)), everywhere}, std::move(step)});
}
void App::add_after(Step step) {
  coro_middleware_ |= step.is_coro();
  after_.push_back(std::move(step));
}
void App::add_error(std::string prefix, ErrorStep step) {
  coro_middleware_ |= bool(step.coro);
  bool everywhere = prefix.empty() || prefix == "/";
  errors_.push_back(ErrorHandler{{RoutePattern(std::move(prefix)), everywhere}, std::move(step)});
}

Server App::listen(Loop& loop, std::string_view ip, uint16_t port, ServerOptions options) {
  Server server(loop, handler(), options);
  if (stream_routes_) server.on_head(head_hook());
  server.listen(ip, port);
  return server;
}

// The first route matching method and path (params captured into req). Without one,
// status_if_none says why: 404, 405 (allow lists the methods that would match) or 501.
App::Route* App::find(Req& req, int& status_if_none, std::string& allow) {
  std::string_view method = req.method_name();
  std::string_view path = req.path();
  bool head = req.method() == Method::kHead;
  bool path_known = false;
  bool method_known = req.method() != Method::kOther;
  for (Route& r : routes_) {
    if (!method_known && r.method == method) method_known = true;
    if (r.method.empty() || r.method == method || (head && r.method == "GET")) {
      RequestAccess::clear_params(req);  // a failed match may have captured some
      if (!r.pattern.match(path, &req)) continue;
      RequestAccess::set_route(req, r.pattern.text());
      if (std::string_view bad = RequestAccess::malformed_param(req);
          !bad.empty()) {  // Express: 400
        status_if_none = 400;
        allow = "Bad Request: malformed percent-escape in parameter '" + std::string(bad) + "'";
        return nullptr;
      }
      return &r;
    }
    if (!r.pattern.match(path)) continue;
    path_known = true;
    add_allowed(allow, r.method);
    if (r.method == "GET") add_allowed(allow, "HEAD");
  }
  RequestAccess::clear_params(req);
  status_if_none = !method_known ? 501 : path_known ? 405 : 404;
  return nullptr;
}

// A route's handler returned (or its coroutine finished) and nothing answered: a bug in the
// handler. Answering an empty 200 would hide it (Express would hang the request): 500, logged.
void App::check_answered(Req& req, Res& res, Route* route) {
  if (!route || res.ended() || res.headers_sent()) return;
  std::string_view m = req.method_name();
  const std::string& pattern = route->pattern.text();
  std::fprintf(stderr, "brigade: route %.*s %s returned without answering: 500 sent\n",
               int(m.size()), m.data(), pattern.c_str());
  std::fflush(stderr);
  res.reset();  // a half-made answer is not sent, as for a handler that threw
  res.status(500).send("Internal Server Error");
}

// A coroutine only when this request meets one: a plain chain allocates nothing.
bool App::needs_coroutine(const Req& req, Route* route) const noexcept {
  if (route && route->step.is_coro()) return true;
  if (!coro_middleware_) return false;
  for (const Step& s : after_)
    if (s.is_coro()) return true;
  for (const ErrorHandler& e : errors_)
    if (e.step.coro) return true;
  for (const Middleware& m : before_)
    if (m.step.is_coro() && m.applies(req.path())) return true;
  return false;
}

void App::route_head(Req& req) {
  int status = 404;
  std::string allow;
  Route* route = find(req, status, allow);
  RequestAccess::set_match(req, route,
                           status);  // status 400: a malformed param (no streaming then)
  if (route && route->options.body == BodyMode::kStream)
    req.stream_body(route->options.max_body_size);
}

void App::handle(Req& req, Res& res) {
  int status = 404;
  std::string allow;
  Route* route;
  if (RequestAccess::matched(req)) {  // routed at head time (route_head)
    route = static_cast<Route*>(RequestAccess::match(req));
    status = RequestAccess::match_status(req);
    if (status == 405 || status == 400) find(req, status, allow);  // fills Allow / the reason
  } else {
    route = find(req, status, allow);
  }
  RequestAccess::set_client(req, ResponseAccess::connection(res), &trust_);
  ResponseAccess::set_hold(res, true);  // serialized once the whole chain has run
  if (!needs_coroutine(req, route)) return run_plain(req, res, route, status, allow);
  // Named by its route: the blocked-loop report names the route whichever await resumed it.
  std::string name = route ? route->pattern.text() : std::string("http request");
  spawn(run_chain(req, res, route, status, std::move(allow)), std::move(name));
}

// `detail`: the Allow list for 405, the reason for 400.
void App::answer_unrouted(Res& res, int status, const std::string& detail) {
  if (status == 405) res.set("Allow", detail);
  res.status(status).send(status == 405   ? "Method Not Allowed"
                          : status == 501 ? "Not Implemented"
                          : status == 400 ? std::string_view(detail)
                                          : "Not Found");
}

void App::run_plain(Req& req, Res& res, Route* route, int status, const std::string& allow) {
  try {
    for (Middleware& m : before_) {
      if (!m.enter(req)) continue;
      m.step.plain(req, res);
      if (res.ended()) break;
    }
    RequestAccess::set_base(req, 0);
    if (!res.ended()) {
      if (route) {
        set_activity(route->pattern.text().c_str());
        route->step.plain(req, res);
        set_activity(kIdleActivity);
        check_answered(req, res, route);
      } else {
        answer_unrouted(res, status, allow);
      }
    }
  } catch (...) {
    set_activity(kIdleActivity);
    fail_plain(req, res, std::current_exception());
  }
  for (Step& s : after_) {
    try {
      s.plain(req, res);
    } catch (...) {
      fail_plain(req, res, std::current_exception());
    }
  }
  ResponseAccess::set_hold(res, false);
  ResponseAccess::commit(res);  // may free req and res (a closed connection)
}

Task<void> App::run_chain(Req& req, Res& res, Route* route, int status, std::string allow) {
  detail::Chain chain{this, &req, &res, route, status, std::move(allow)};
  co_await run_from(chain, 0);
  std::exception_ptr error;
  for (Step& s : after_) {
    error = nullptr;
    try {
      if (s.is_coro())
        co_await s.coro(req, res);
      else
        s.plain(req, res);
    } catch (...) {
      error = std::current_exception();
    }
    if (error) co_await fail(req, res, error);
  }
  ResponseAccess::set_hold(res, false);
  ResponseAccess::commit(res);  // may free req and res (a closed connection)
}

// The middleware from `index` on, then the route. An around middleware runs the rest through
// next() (a nested run_from), so an error anywhere is answered at the depth it was thrown and
// every around middleware above gets to act after.
Task<void> App::run_from(detail::Chain& c, std::size_t index) {
  Req& req = *c.req;
  Res& res = *c.res;
  std::exception_ptr error;
  try {
    for (std::size_t i = index; i < before_.size(); ++i) {
      Middleware& m = before_[i];
      if (!m.enter(req)) continue;
      if (m.step.around) {
        co_await m.step.around(req, res, Next(&c, i + 1));
        if (c.entered <= i && !res.ended() && !res.headers_sent()) {
          std::fprintf(stderr,
                       "brigade: middleware #%zu returned without answering or calling next(): "
                       "500 sent\n",
                       i + 1);
          std::fflush(stderr);
          res.reset();
          res.status(500).send("Internal Server Error");
        }
        co_return;  // the rest of the chain ran inside next(), or not at all
      }
      if (m.step.coro)
        co_await m.step.coro(req, res);
      else
        m.step.plain(req, res);
      if (res.ended()) co_return;
    }
    RequestAccess::set_base(req, 0);
    Route* route = c.route;
    if (!route) {
      answer_unrouted(res, c.status, c.allow);
    } else if (route->step.is_coro()) {
      set_activity(route->pattern.text().c_str());
      co_await route->step.coro(req, res);
      check_answered(req, res, route);
    } else {
      set_activity(route->pattern.text().c_str());
      route->step.plain(req, res);
      check_answered(req, res, route);
    }
  } catch (...) {
    error = std::current_exception();
  }
  set_activity(kIdleActivity);
  if (error) co_await fail(req, res, error);
}

Task<void> Next::operator()() const {
  if (chain_->entered >= index_) co_return;  // called twice: the rest ran already
  chain_->entered = index_;
  co_await chain_->app->run_from(*chain_, index_);
  chain_->app->before_[index_ - 1].enter(*chain_->req);  // the caller's base_url() again
}

void App::fail_plain(Req& req, Res& res, std::exception_ptr error) {
  RequestAccess::abandon_body(req);  // a streamed body's rest is not read: the connection closes
  if (!res.headers_sent()) res.reset();
  for (ErrorHandler& e : errors_) {
    if (!e.enter(req)) continue;
    try {
      e.step.plain(req, res, error);
    } catch (...) {
    }
    if (res.ended()) return;
  }
  if (res.headers_sent())
    res.abort();
  else
    answer_unhandled(res, error);
}

Task<void> App::fail(Req& req, Res& res, std::exception_ptr error) {
  RequestAccess::abandon_body(req);  // a streamed body's rest is not read: the connection closes
  if (!res.headers_sent()) res.reset();
  for (ErrorHandler& e : errors_) {
    if (!e.enter(req)) continue;
    try {
      if (e.step.coro)
        co_await e.step.coro(req, res, error);
      else
        e.step.plain(req, res, error);
    } catch (...) {
    }
    if (res.ended()) co_return;
  }
  if (res.headers_sent())
    res.abort();
  else
    answer_unhandled(res, error);
}

bool App::Scoped::enter(Req& req) const {
  if (everywhere) {
    RequestAccess::set_base(req, 0);
    return true;
  }
  std::size_t n = prefix.prefix_length(req.path());
  if (n == std::string_view::npos) return false;
  RequestAccess::set_base(req, n);
  return true;
}

}  // namespace brigade::http
