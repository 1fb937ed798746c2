// Unit tests: route patterns, query strings and percent-decoding.
#include <gtest/gtest.h>

#include "../../src/http/access.hpp"  // the server side, to bind a request to a head
#include "brigade/http/query.hpp"
#include "brigade/http/route_pattern.hpp"
#include "brigade/http/server_request.hpp"
#include "brigade/http/status.hpp"

namespace brigade::http {
namespace {

TEST(RoutePattern, LiteralsAndRoot) {
  EXPECT_TRUE(RoutePattern("/").match("/"));
  EXPECT_FALSE(RoutePattern("/").match("/a"));
  EXPECT_TRUE(RoutePattern("/a/b").match("/a/b"));
  EXPECT_TRUE(RoutePattern("/a/b").match("/a/b/"));
  EXPECT_FALSE(RoutePattern("/a/b").match("/a"));
  EXPECT_FALSE(RoutePattern("/a/b").match("/a/b/c"));
  EXPECT_FALSE(RoutePattern("/a/b").match("/a/B"));
  EXPECT_FALSE(RoutePattern("/a").match("a"));
}

TEST(RoutePattern, ParamsCaptureAndDecode) {
  Request head;
  head.path = "/users/42/posts/hello%20world";
  ServerRequest req;
  detail::RequestAccess::bind(req, &head);  // what the server does
  RoutePattern p("/users/:id/posts/:slug");
  ASSERT_TRUE(p.match(head.path, &req));
  EXPECT_EQ(req.param("id"), "42");
  EXPECT_EQ(req.param("slug"), "hello world");
  EXPECT_TRUE(req.has_param("id"));
  EXPECT_FALSE(req.has_param("nope"));
  EXPECT_FALSE(p.match("/users//posts/x"));
  EXPECT_FALSE(p.match("/users/1/posts"));
}

TEST(RoutePattern, Wildcards) {
  Request head;
  ServerRequest req;
  detail::RequestAccess::bind(req, &head);  // what the server does
  RoutePattern rest("/files/*");
  ASSERT_TRUE(rest.match("/files/a/b/c.txt", &req));
  EXPECT_EQ(req.param("*"), "a/b/c.txt");
  EXPECT_TRUE(rest.match("/files"));
  EXPECT_FALSE(rest.match("/file/a"));
  RoutePattern mid("/a/*/c");
  EXPECT_TRUE(mid.match("/a/b/c"));
  EXPECT_FALSE(mid.match("/a/b/x/c"));
}

TEST(Query, ParsesAndDecodes) {
  QueryPairs q;
  parse_query("a=1&b=x%20y+z&c&&d=%zz&e=%41", q);
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(q[1].second, "x y z");
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(q[3].second, "%zz");  // malformed escapes stay
  EXPECT_EQ(q[4].second, "A");
  EXPECT_EQ(percent_decode("a%2Fb+c"), "a/b+c");
  EXPECT_EQ(percent_decode("a%2Fb+c", true), "a/b c");
  EXPECT_EQ(percent_decode("100%"), "100%");
}

TEST(Query, RequestLookupIsLazyAndFirstWins) {
  Request head;
  head.query = "n=10&n=20&name=J%C3%BCrgen";
  ServerRequest req;
  detail::RequestAccess::bind(req, &head);  // what the server does
  EXPECT_EQ(req.query("n"), "10");
  EXPECT_EQ(req.query("name"), "J\xC3\xBCrgen");
  EXPECT_TRUE(req.has_query("name"));
  EXPECT_FALSE(req.has_query("x"));
  EXPECT_EQ(req.query("x"), "");
}

TEST(Status, Reasons) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(799), "Unknown");
  EXPECT_FALSE(status_has_body(204));
  EXPECT_FALSE(status_has_body(304));
  EXPECT_TRUE(status_has_body(404));
}

}  // namespace
}  // namespace brigade::http
