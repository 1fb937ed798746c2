// Middleware with path prefixes and next(), error handlers by prefix, mounted and nested routers.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "brigade/http/app.hpp"
#include "brigade/task/sleep.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace middleware_test {

using testing::RawClient;
using testing::TestServer;

// One request over a fresh connection: the whole answer (head and body).
std::string fetch(const TestServer& s, std::string_view method, std::string_view path) {
  RawClient c(s.port());
  EXPECT_TRUE(c.send(std::string(method) + " " + std::string(path) +
                     " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(c.read_to_eof());
  return c.buffer();
}
std::string get(const TestServer& s, std::string_view path) { return fetch(s, "GET", path); }
std::string body_of(const std::string& answer) {
  return answer.substr(answer.find("\r\n\r\n") + 4);
}
bool has(const std::string& answer, std::string_view text) {
  return answer.find(text) != std::string::npos;
}

TEST(Middleware, PrefixMatchesWholeSegments) {
  TestServer s([](App& app) {
    app.use("/api", [](Req&, Res& res) { res.set("X-Api", "1"); });
    app.use("/api/:version/admin", [](Req&, Res& res) { res.set("X-Admin", "1"); });
    app.get("/api", [](Req&, Res& res) { res.send("root"); });
    app.get("/api/*", [](Req&, Res& res) { res.send("api"); });
    app.get("/apix", [](Req&, Res& res) { res.send("apix"); });
  });
  EXPECT_TRUE(has(get(s, "/api"), "X-Api: 1"));
  EXPECT_TRUE(has(get(s, "/api/"), "X-Api: 1"));
  std::string deep = get(s, "/api/v2/admin/x");
  EXPECT_TRUE(has(deep, "X-Api: 1"));
  EXPECT_TRUE(has(deep, "X-Admin: 1"));
  EXPECT_FALSE(has(get(s, "/api/v2/users"), "X-Admin"));
  std::string other = get(s, "/apix");
  EXPECT_FALSE(has(other, "X-Api"));
  EXPECT_EQ(body_of(other), "apix");
  EXPECT_TRUE(has(get(s, "/nothing"), "404 Not Found"));
}

TEST(Middleware, NextRunsTheRestThenActsAfter) {
  auto order = std::make_shared<std::vector<std::string>>();
  TestServer s([order](App& app) {
    app.use([order](Req&, Res& res, Next next) -> Task<void> {
      order->push_back("a in");
      co_await next();
      order->push_back("a out");
      res.set("X-Outer", std::to_string(res.status()));  // the answer is still buffered
    });
    app.use([order](Req&, Res&) { order->push_back("plain"); });
    app.use("/slow", [order](Req&, Res&, Next next) -> Task<void> {
      order->push_back("b in");
      co_await sleep(5);
      co_await next();
      co_await next();  // a second call does nothing
      order->push_back("b out");
    });
    app.get("/slow", [order](Req&, Res& res) -> Task<void> {
      co_await sleep(5);
      order->push_back("route");
      res.status(201).send("done");
    });
  });
  std::string a = get(s, "/slow");
  EXPECT_TRUE(has(a, "HTTP/1.1 201 Created"));
  EXPECT_TRUE(has(a, "X-Outer: 201"));
  EXPECT_EQ(body_of(a), "done");
  EXPECT_EQ(*order, (std::vector<std::string>{"a in", "plain", "b in", "route", "b out", "a out"}));
  order->clear();
  std::string missing = get(s, "/nope");
  EXPECT_TRUE(has(missing, "404 Not Found"));
  EXPECT_TRUE(has(missing, "X-Outer: 404"));
  EXPECT_EQ(*order, (std::vector<std::string>{"a in", "plain", "a out"}));
}

TEST(Middleware, AnsweringWithoutNextStopsTheChain) {
  TestServer s([](App& app) {
    app.use("/private", [](Req& req, Res& res, Next next) -> Task<void> {
      if (req.header("Authorization").empty()) {
        res.status(401).send("who are you?");
        co_return;
      }
      co_await next();
    });
    app.use("/bug", [](Req&, Res&, Next) -> Task<void> { co_return; });  // neither
    app.get("/private/data", [](Req&, Res& res) { res.send("secret"); });
    app.get("/bug", [](Req&, Res& res) { res.send("unreachable"); });
  });
  std::string denied = get(s, "/private/data");
  EXPECT_TRUE(has(denied, "401 Unauthorized"));
  EXPECT_EQ(body_of(denied), "who are you?");
  RawClient c(s.port());
  ASSERT_TRUE(c.send("GET /private/data HTTP/1.1\r\nHost: t\r\nAuthorization: x\r\n\r\n"));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_EQ(body_of(c.buffer()), "secret");
  std::string bug = get(s, "/bug");
  EXPECT_TRUE(has(bug, "500 Internal Server Error"));
  EXPECT_FALSE(has(bug, "unreachable"));
}

TEST(Middleware, ErrorsBelowNextAreAnsweredAndTheOuterStillActs) {
  TestServer s([](App& app) {
    app.use([](Req&, Res& res, Next next) -> Task<void> {
      co_await next();  // never throws: on_error answered inside it
      res.set("X-Seen", std::to_string(res.status()));
    });
    app.use("/api", [](Req&, Res&, Next next) -> Task<void> { co_await next(); });
    app.on_error("/api", [](Req&, Res& res, std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::invalid_argument& bad) {
        res.status(400).json({{"error", bad.what()}});
      } catch (...) {
      }
    });
    app.get("/api/bad", [](Req&, Res&) -> Task<void> {
      co_await sleep(1);
      throw std::invalid_argument("no such thing");
    });
    app.get("/api/boom", [](Req&, Res&) { throw std::runtime_error("boom"); });
    app.get("/bad", [](Req&, Res&) { throw std::invalid_argument("outside /api"); });
  });
  std::string bad = get(s, "/api/bad");
  EXPECT_TRUE(has(bad, "400 Bad Request"));
  EXPECT_TRUE(has(bad, "X-Seen: 400"));
  EXPECT_EQ(body_of(bad), R"({"error":"no such thing"})");
  std::string boom = get(s, "/api/boom");  // the /api handler passes: the default 500
  EXPECT_TRUE(has(boom, "500 Internal Server Error"));
  EXPECT_TRUE(has(boom, "X-Seen: 500"));
  std::string outside = get(s, "/bad");  // the /api handler is not asked
  EXPECT_TRUE(has(outside, "500 Internal Server Error"));
}

TEST(Router, MountedNestedWithMountParams) {
  TestServer s([](App& app) {
    Router users;
    users.use([](Req&, Res& res) { res.set("X-Users", "1"); });
    users.get("/",
              [](Req& req, Res& res) { res.send("users of " + std::string(req.param("org"))); });
    users.get("/:id", [](Req& req, Res& res) {
      res.json({{"org", std::string(req.param("org"))},
                {"id", std::string(req.param("id"))},
                {"route", std::string(req.route())}});
    });
    users.on_error([](Req&, Res& res, std::exception_ptr) { res.status(503).send("users down"); });
    users.post("/:id/fail", [](Req&, Res&) { throw std::runtime_error("x"); });
    Router orgs;
    orgs.use("/users", std::move(users));
    orgs.get("/", [](Req& req, Res& res) { res.send("org " + std::string(req.param("org"))); });
    app.use("/v1/orgs/:org", std::move(orgs));
    app.get("/v1/other", [](Req&, Res& res) { res.send("other"); });
  });
  std::string one = get(s, "/v1/orgs/acme/users/7");
  EXPECT_TRUE(has(one, "X-Users: 1"));
  EXPECT_EQ(body_of(one), R"({"id":"7","org":"acme","route":"/v1/orgs/:org/users/:id"})");
  EXPECT_EQ(body_of(get(s, "/v1/orgs/acme/users")), "users of acme");
  EXPECT_EQ(body_of(get(s, "/v1/orgs/acme/users/")), "users of acme");
  std::string org = get(s, "/v1/orgs/acme");
  EXPECT_EQ(body_of(org), "org acme");
  EXPECT_FALSE(has(org, "X-Users"));  // the router's middleware stays under its mount
  EXPECT_FALSE(has(get(s, "/v1/other"), "X-Users"));
  std::string wrong = fetch(s, "DELETE", "/v1/orgs/acme/users/7");
  EXPECT_TRUE(has(wrong, "405 Method Not Allowed"));
  EXPECT_TRUE(has(wrong, "Allow: GET, HEAD"));
  std::string failed = fetch(s, "POST", "/v1/orgs/acme/users/7/fail");
  EXPECT_TRUE(has(failed, "503 Service Unavailable"));
  EXPECT_EQ(body_of(failed), "users down");
  EXPECT_TRUE(has(get(s, "/v1/orgs"), "404 Not Found"));
}

TEST(Router, JoinPaths) {
  EXPECT_EQ(join_paths("/v1", "/users/:id"), "/v1/users/:id");
  EXPECT_EQ(join_paths("/v1/", "/"), "/v1");
  EXPECT_EQ(join_paths("/v1", ""), "/v1");
  EXPECT_EQ(join_paths("", "/x"), "/x");
  EXPECT_EQ(join_paths("/", ""), "/");
  EXPECT_EQ(join_paths("/a", "b"), "/a/b");
  EXPECT_TRUE(RoutePattern("/a/:p").match_prefix("/a/1/x"));
  EXPECT_TRUE(RoutePattern("/a/:p").match_prefix("/a/1"));
  EXPECT_FALSE(RoutePattern("/a/:p").match_prefix("/a"));
  EXPECT_FALSE(RoutePattern("/a/:p").match_prefix("/a//x"));
  EXPECT_FALSE(RoutePattern("/a").match_prefix("/ab"));
}

}  // namespace middleware_test
}  // namespace brigade::http
