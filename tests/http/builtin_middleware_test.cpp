// The built-in middleware: CORS (with curl preflights), request ids in an AsyncLocal, access log.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "brigade/http/access_log.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/cors.hpp"
#include "brigade/http/request_id.hpp"
#include "brigade/log/log.hpp"
#include "brigade/task/sleep.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace {

using testing::run_command;
using testing::TestServer;

std::string curl_head(const TestServer& s, const std::string& args, std::string_view path) {
  int st = -1;
  std::string out = run_command("curl -s -D - -o /dev/null " + args + " " + s.url(path), &st);
  EXPECT_EQ(st, 0);
  return out;
}
bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(Cors, AnyOriginAndPreflight) {
  TestServer s([](App& app) {
    CorsOptions o;
    o.max_age_s = 600;
    o.exposed_headers = "X-Total";
    app.use(cors(o));
    app.get("/items", [](Req&, Res& res) { res.send("items"); });
  });
  std::string simple = curl_head(s, "-H 'Origin: https://a.example'", "/items");
  EXPECT_TRUE(has(simple, "200 OK"));
  EXPECT_TRUE(has(simple, "Access-Control-Allow-Origin: *\r\n"));
  EXPECT_TRUE(has(simple, "Access-Control-Expose-Headers: X-Total\r\n"));
  // A preflight for a path with no OPTIONS route: answered before routing.
  std::string pre = curl_head(s,
                              "-X OPTIONS -H 'Origin: https://a.example' "
                              "-H 'Access-Control-Request-Method: PUT' "
                              "-H 'Access-Control-Request-Headers: content-type,x-token'",
                              "/items");
  EXPECT_TRUE(has(pre, "HTTP/1.1 204 No Content"));
  EXPECT_TRUE(has(pre, "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n"));
  EXPECT_TRUE(has(pre, "Access-Control-Allow-Headers: content-type,x-token\r\n"));
  EXPECT_TRUE(has(pre, "Access-Control-Max-Age: 600\r\n"));
  // An OPTIONS without the preflight header is an ordinary request: 405 (GET only).
  EXPECT_TRUE(has(curl_head(s, "-X OPTIONS", "/items"), "405 Method Not Allowed"));
}

TEST(Cors, ListedOriginsWithCredentials) {
  TestServer s([](App& app) {
    CorsOptions o;
    o.origins = {"https://app.example", "http://localhost:3000"};
    o.credentials = true;
    o.allowed_headers = "Content-Type";
    app.use(cors(o));
    app.get("/me", [](Req&, Res& res) { res.send("me"); });
  });
  std::string ok = curl_head(s, "-H 'Origin: http://localhost:3000'", "/me");
  EXPECT_TRUE(has(ok, "Access-Control-Allow-Origin: http://localhost:3000\r\n"));
  EXPECT_TRUE(has(ok, "Access-Control-Allow-Credentials: true\r\n"));
  EXPECT_TRUE(has(ok, "Vary: Origin\r\n"));
  std::string evil = curl_head(s, "-H 'Origin: https://evil.example'", "/me");
  EXPECT_TRUE(has(evil, "200 OK"));  // answered, but the browser may not read it
  EXPECT_FALSE(has(evil, "Access-Control-Allow-Origin"));
  EXPECT_FALSE(has(evil, "Access-Control-Allow-Credentials"));
  std::string pre = curl_head(s,
                              "-X OPTIONS -H 'Origin: https://app.example' "
                              "-H 'Access-Control-Request-Method: POST'",
                              "/me");
  EXPECT_TRUE(has(pre, "204 No Content"));
  EXPECT_TRUE(has(pre, "Access-Control-Allow-Origin: https://app.example\r\n"));
  EXPECT_TRUE(has(pre, "Access-Control-Allow-Headers: Content-Type\r\n"));
}

TEST(RequestId, EchoedGeneratedAndSeenBelowAwaits) {
  TestServer s([](App& app) {
    app.use(request_id());
    app.get("/id", [](Req&, Res& res) -> Task<void> {
      co_await sleep(2);  // the id survives awaits (a timer resumed this frame)
      res.send(current_request_id());
    });
  });
  std::string given = run_command("curl -s -i -H 'X-Request-Id: abc-123' " + s.url("/id"));
  EXPECT_TRUE(has(given, "X-Request-Id: abc-123\r\n"));
  EXPECT_EQ(given.substr(given.find("\r\n\r\n") + 4), "abc-123");
  for (std::string bad : {"", "-H 'X-Request-Id: has space'"}) {
    std::string made = run_command("curl -s -i " + bad + " " + s.url("/id"));
    std::string body = made.substr(made.find("\r\n\r\n") + 4);
    ASSERT_EQ(body.size(), 36u) << made;
    EXPECT_EQ(body[14], '4');
    EXPECT_TRUE(has(made, "X-Request-Id: " + body + "\r\n"));
  }
  EXPECT_NE(random_uuid(), random_uuid());
  EXPECT_EQ(current_request_id(), "");  // outside any request
}

struct MemorySink : LineSink {
  void write_line(std::string line) override {
    std::lock_guard lock(mu);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> taken() {
    std::lock_guard lock(mu);
    return lines;
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

TEST(AccessLog, OneLinePerRequestWithStatusBytesAndId) {
  auto sink = std::make_shared<MemorySink>();
  TestServer s([sink](App& app) {
    app.use(request_id());
    app.use(access_log(sink));
    app.get("/users/:id", [](Req&, Res& res) { res.send("0123456789"); });
    app.get("/stream", [](Req&, Res& res) -> Task<void> {
      for (int i = 0; i < 3; ++i) co_await res.write("12345");
      res.end();
    });
  });
  run_command("curl -s -H 'X-Request-Id: r1' '" + s.url("/users/7?x=1") + "'");
  run_command("curl -s -H 'X-Request-Id: r2' " + s.url("/stream"));
  run_command("curl -s -H 'X-Request-Id: r3' " + s.url("/missing"));
  auto lines = sink->taken();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("127.0.0.1 [", 0), 0u) << lines[0];
  EXPECT_TRUE(has(lines[0], "Z] \"GET /users/7?x=1 HTTP/1.1\" 200 10 ")) << lines[0];
  EXPECT_TRUE(has(lines[0], "ms r1"));
  EXPECT_TRUE(has(lines[1], "\"GET /stream HTTP/1.1\" 200 15 ")) << lines[1];
  EXPECT_TRUE(has(lines[2], "\" 404 9 ")) << lines[2];
  EXPECT_TRUE(has(lines[2], "ms r3"));
}

TEST(AccessLog, ThroughBrigadesLogWithTheRequestId) {
  char path[] = "/tmp/brigade-access-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  log::set_output(fd);
  log::Format was = log::format();
  log::set_format(log::Format::kJson);
  {
    TestServer s([](App& app) {
      app.use(request_id());
      app.use(access_log());
      app.get("/", [](Req&, Res& res) { res.send("hi"); });
    });
    for (int i = 0; i < 3; ++i)
      run_command("curl -s -H 'X-Request-Id: q" + std::to_string(i) + "' " + s.url("/?a=1"));
  }
  EXPECT_TRUE(log::flush(5000));
  log::set_output(2);
  log::set_format(was);
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "request") lines.push_back(j);
  }
  ::close(fd);
  ::unlink(path);
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i]["request_id"], "q" + std::to_string(i)) << lines[i];
    EXPECT_EQ(lines[i]["method"], "GET");
    EXPECT_EQ(lines[i]["path"], "/?a=1");
    EXPECT_EQ(lines[i]["status"], 200);
    EXPECT_EQ(lines[i]["bytes"], 2);
    EXPECT_EQ(lines[i]["ip"], "127.0.0.1");
    EXPECT_GE(lines[i]["ms"].get<double>(), 0.0);
  }
}

}  // namespace
}  // namespace brigade::http
