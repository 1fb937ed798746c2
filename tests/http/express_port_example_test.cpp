// examples/express_port as its users meet it: curl and Node's fetch against the ported Express
// service (front page, the todo resource, validation 400s, body limits, CORS preflight,
// compression).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "demo_process.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace {

class ExpressPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!app.built()) GTEST_SKIP() << "express_port not built";
    ASSERT_NE(app.port(), 0) << "express_port did not start";
    base = "http://127.0.0.1:" + std::to_string(app.port());
  }
  // curl with `args`, printing the status line's code and the body.
  std::string curl(const std::string& args) {
    return run_command("curl -s -w '\\n%{http_code}' " + args);
  }
  DemoProcess app{{"--public", std::string(BRIGADE_SOURCE_DIR) + "/examples/public"},
                  "express_port"};
  std::string base;
};

TEST_F(ExpressPortTest, TheFrontPageIsServedStatically) {
  std::string out = curl(base + "/");
  EXPECT_TRUE(out.ends_with("\n200")) << out;
  EXPECT_NE(out.find("<h1>todos</h1>"), std::string::npos) << out;
  std::string head = run_command("curl -s -I " + base + "/index.html");
  EXPECT_NE(head.find("Content-Type: text/html"), std::string::npos) << head;
  EXPECT_NE(head.find("ETag: "), std::string::npos) << head;
}

TEST_F(ExpressPortTest, CurlGetsTheFrontPageAndTheListCompressed) {
  for (const char* coding : {"gzip", "br", "deflate"}) {
    std::string head =
        run_command("curl -s -o /dev/null -D - -H 'Accept-Encoding: " + std::string(coding) + "' " +
                    base + "/");
    EXPECT_NE(head.find("Content-Encoding: " + std::string(coding)), std::string::npos)
        << coding << ": " << head;
    EXPECT_NE(head.find("Vary: "), std::string::npos) << head;
  }
  std::string page = run_command("curl -s --compressed " + base + "/");
  EXPECT_NE(page.find("<h1>todos</h1>"), std::string::npos) << page;
  // The list is under the 1 KiB threshold: it goes out as it is.
  std::string head =
      run_command("curl -s -o /dev/null -D - -H 'Accept-Encoding: gzip' " + base + "/api/v1/todos");
  EXPECT_EQ(head.find("Content-Encoding"), std::string::npos) << head;
}

TEST_F(ExpressPortTest, NodeFetchCreatesChangesAndDeletesATodo) {
  std::string script = R"(
    const base = process.argv[2] + '/api/v1/todos';
    const json = { 'Content-Type': 'application/json' };
    const out = [];
    let r = await fetch(base, { method: 'POST', headers: json, body: '{"title":"write docs"}' });
    out.push(r.status, r.headers.get('location'), JSON.stringify(await r.json()));
    r = await fetch(base + '/3', { method: 'PATCH', headers: json, body: '{"done":true}' });
    out.push(r.status, JSON.stringify(await r.json()));
    r = await fetch(base);
    out.push((await r.json()).length);
    r = await fetch(base + '/3', { method: 'DELETE' });
    out.push(r.status);
    r = await fetch(base + '/3');
    out.push(r.status, (await r.json()).error);
    console.log(out.join('|'));
  )";
  std::string file =
      std::string(BRIGADE_BINARY_DIR) + "/express_port_" + std::to_string(::getpid()) + ".mjs";
  std::ofstream(file) << script;
  int status = -1;
  std::string out = run_command("node " + file + " " + base, &status);
  std::remove(file.c_str());
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out,
            "201|/api/v1/todos/3|{\"done\":false,\"id\":\"3\",\"title\":\"write docs\"}|"
            "200|{\"done\":true,\"id\":\"3\",\"title\":\"write docs\"}|3|204|404|no todo 3\n");
}

TEST_F(ExpressPortTest, BadBodiesAreClientErrorsNamingTheProblem) {
  const std::string post = "-H 'Content-Type: application/json' " + base + "/api/v1/todos -d ";
  std::string out = curl(post + "'{\"title\":5}'");
  EXPECT_TRUE(out.ends_with("\n400")) << out;
  EXPECT_NE(out.find("\"field\":\"title\""), std::string::npos) << out;
  out = curl(post + "'{\"title\":\"x\",\"owner\":\"me\"}'");
  EXPECT_TRUE(out.ends_with("\n400")) << out;
  EXPECT_NE(out.find("unknown field 'owner'"), std::string::npos) << out;
  out = curl(post + "'{}'");
  EXPECT_NE(out.find("title is required"), std::string::npos) << out;
  out = curl(post + "'{\"title\":'");
  EXPECT_TRUE(out.ends_with("\n400")) << out;
  EXPECT_NE(out.find("invalid JSON"), std::string::npos) << out;
  out = curl("-d title=x " + base + "/api/v1/todos");
  EXPECT_TRUE(out.ends_with("\n415")) << out;
  std::string big = "{\"title\":\"" + std::string(20000, 'a') + "\"}";
  out = curl(post + "'" + big + "'");
  EXPECT_TRUE(out.ends_with("\n413")) << out;
  out = curl("-X PATCH -H 'Content-Type: application/json' -d '{\"done\":1}' " + base +
             "/api/v1/todos/2");
  EXPECT_TRUE(out.ends_with("\n400")) << out;
  out = curl(base + "/api/v1/todos/2");
  EXPECT_NE(out.find("\"done\":false"), std::string::npos) << "a bad PATCH changed it: " << out;
  out = curl("-X DELETE " + base + "/api/v1/todos/99");
  EXPECT_TRUE(out.ends_with("\n404")) << out;
}

TEST_F(ExpressPortTest, TheAllowedOriginGetsAPreflightAndOthersDoNot) {
  std::string out = run_command(
      "curl -s -i -X OPTIONS -H 'Origin: http://localhost:3000' "
      "-H 'Access-Control-Request-Method: POST' " +
      base + "/api/v1/todos");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 204")) << out;
  EXPECT_NE(out.find("Access-Control-Allow-Origin: http://localhost:3000"), std::string::npos)
      << out;
  out = run_command("curl -s -i -H 'Origin: https://evil.example' " + base + "/api/v1/todos");
  EXPECT_EQ(out.find("Access-Control-Allow-Origin"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Request-Id: "), std::string::npos) << out;
  EXPECT_NE(out.find("Server-Timing: app;dur="), std::string::npos) << out;
}

}  // namespace
}  // namespace brigade::http::testing
