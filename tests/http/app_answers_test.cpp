// What the App answers on its own: a malformed percent-escape in a route param (400, as in
// Express) and a handler that returned without answering (500 and a log line).
#include <gtest/gtest.h>

#include <string>

#include "test_app.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace {

std::string get(std::string_view path, std::string_view method = "GET") {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

void add_routes(App& app) {
  add_test_routes(app);
  app.get("/forgot", [](Req&, Res&) -> Task<void> { co_await sleep(1); });
  app.get("/forgot-plain", [](Req&, Res& res) { res.set("X-Half", "1"); });
  app.post("/up/:name", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    auto all = req.read_all();
    std::string body = co_await all;
    res.send(std::string(req.param("name")) + ":" + body);
  });
}

std::string answer_to(TestServer& s, const std::string& request) {
  RawClient c(s.port());
  EXPECT_TRUE(c.send(request));
  EXPECT_TRUE(c.read_responses(1));
  return c.buffer();
}

TEST(HttpApp, MalformedEscapeInAParamIs400NamingIt) {
  TestServer s(add_routes);
  std::string a = answer_to(s, get("/users/%ZZ"));
  EXPECT_EQ(a.rfind("HTTP/1.1 400 Bad Request", 0), 0u) << a;
  EXPECT_NE(a.find("parameter 'id'"), std::string::npos) << a;
  for (const char* bad : {"/users/%", "/users/a%2", "/users/%2G", "/files/x/%zz"}) {
    a = answer_to(s, get(bad));
    EXPECT_EQ(a.rfind("HTTP/1.1 400", 0), 0u) << bad << "\n" << a;
  }
  a = answer_to(s, get("/users/%41%62"));  // well-formed: decoded
  EXPECT_NE(a.find("\"id\":\"Ab\""), std::string::npos) << a;
  a = answer_to(s, get("/nowhere/%ZZ"));  // no route: still a 404
  EXPECT_EQ(a.rfind("HTTP/1.1 404", 0), 0u) << a;
  a = answer_to(s, get("/users/1?q=%ZZ"));  // the query keeps malformed escapes (Node's rule)
  EXPECT_NE(a.find("\"q\":\"%ZZ\""), std::string::npos) << a;
}

TEST(HttpApp, MalformedEscapeInAStreamRouteParamIs400) {
  TestServer s(add_routes);
  std::string body = "POST /up/%ZZ HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
  RawClient c(s.port());
  ASSERT_TRUE(c.send(body + get("/")));
  ASSERT_TRUE(c.read_responses(2));
  EXPECT_EQ(c.buffer().rfind("HTTP/1.1 400", 0), 0u) << c.buffer();
  EXPECT_NE(c.buffer().find("hello"), std::string::npos);  // the connection went on
  std::string ok =
      answer_to(s, "POST /up/x%20y HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_NE(ok.find("x y:abc"), std::string::npos) << ok;
}

TEST(HttpApp, HandlerThatDoesNotAnswerGets500AndALogLine) {
  TestServer s(add_routes);
  ::testing::internal::CaptureStderr();
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get("/forgot") + get("/forgot-plain") + get("/")));
  ASSERT_TRUE(c.read_responses(3));
  std::string err = ::testing::internal::GetCapturedStderr();
  const std::string& b = c.buffer();
  EXPECT_EQ(count_of(b, "HTTP/1.1 500 Internal Server Error"), 2) << b;
  EXPECT_EQ(b.find("X-Half"), std::string::npos) << b;  // the half-made answer is not sent
  EXPECT_NE(b.find("hello"), std::string::npos);        // the connection stays usable
  EXPECT_NE(err.find("route GET /forgot returned without answering"), std::string::npos) << err;
  EXPECT_NE(err.find("route GET /forgot-plain returned without answering"), std::string::npos)
      << err;
}

}  // namespace
}  // namespace brigade::http::testing
