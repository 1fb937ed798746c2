// A request pipelined behind an answer that ends later than its own dispatch (a streamed
// response, send_file, a streamed request body, an early answer) is served from the bytes
// already read: edge-triggered epoll sends no new event for them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "test_app.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace pipeline_neighbours_test {

std::string get(std::string_view path, std::string_view method = "GET") {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

void add_routes(App& app) {
  add_test_routes(app);
  app.get("/abc", [](Req&, Res& res) -> Task<void> {
    co_await res.write("abc");
    res.end();
  });
  app.get("/abc-now", [](Req&, Res& res) -> Task<void> {  // ends in the same tick as the write
    auto w = res.write("abc");
    co_await w;
    res.end();
  });
  app.get("/fast", [](Req&, Res& res) { res.send("fast"); });
  app.post("/count", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    auto reading = req.read_all();
    std::string all = co_await reading;
    res.send(std::to_string(all.size()));
  });
  app.post("/early", RouteOptions::stream(), [](Req&, Res& res) { res.send("early"); });
}

// Sends `first` + GET /fast in one write; the answer to /fast must follow.
void expect_fast_follows(TestServer& s, const std::string& first) {
  RawClient c(s.port(), 3000);
  ASSERT_TRUE(c.send(first + get("/fast")));
  EXPECT_TRUE(c.read_until("\r\n\r\nfast")) << c.buffer();
}

TEST(HttpPipelineNeighbours, BehindAStreamedResponse) {
  TestServer s(add_routes);
  expect_fast_follows(s, get("/abc"));
  expect_fast_follows(s, get("/abc-now"));
  expect_fast_follows(s, get("/stream"));
  expect_fast_follows(s, get("/big"));
}

TEST(HttpPipelineNeighbours, BehindAHeadOfAStreamedResponse) {
  TestServer s(add_routes);
  expect_fast_follows(s, get("/abc", "HEAD"));
  expect_fast_follows(s, get("/stream", "HEAD"));
}

TEST(HttpPipelineNeighbours, SeveralStreamedResponsesInARow) {
  TestServer s(add_routes);
  RawClient c(s.port(), 3000);
  ASSERT_TRUE(c.send(get("/abc") + get("/abc") + get("/abc", "HEAD") + get("/abc") + get("/fast")));
  ASSERT_TRUE(c.read_until("\r\n\r\nfast")) << c.buffer();
  EXPECT_EQ(count_of(c.buffer(), "3\r\nabc\r\n0\r\n\r\n"), 3);
}

TEST(HttpPipelineNeighbours, BehindSendFile) {
  char path[] = "/tmp/brigade_pipeline_XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "filebody", 8), 8);
  ::close(fd);
  TestServer s(add_routes);
  expect_fast_follows(s, get(std::string("/file?path=") + path));
  ::unlink(path);
}

TEST(HttpPipelineNeighbours, BehindAStreamedRequestBody) {
  TestServer s(add_routes);
  expect_fast_follows(s, "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  expect_fast_follows(s,
                      "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                      "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
}

TEST(HttpPipelineNeighbours, BehindAnEarlyAnswerToAStreamedBody) {
  TestServer s(add_routes);
  expect_fast_follows(s, "POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
}

TEST(HttpPipelineNeighbours, BehindASlowAwaitedAnswer) {
  TestServer s(add_routes);
  expect_fast_follows(s, get("/slow?ms=20"));
}

}  // namespace pipeline_neighbours_test
}  // namespace brigade::http::testing
