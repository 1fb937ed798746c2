// End to end with real clients: curl, Python's http.client, Node's fetch and wrk.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "test_app.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace clients_e2e_test {

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

TEST(HttpClients, Curl) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  TestServer s(add_test_routes);
  int st = -1;
  EXPECT_EQ(run_command("curl -s " + s.url("/"), &st), "hello");
  EXPECT_EQ(st, 0);
  EXPECT_EQ(run_command("curl -s '" + s.url("/users/7?q=a%20b") + "'"), R"({"id":"7","q":"a b"})");
  // Two URLs on one connection: curl reports reuse in its verbose log.
  std::string verbose = run_command("curl -sv " + s.url("/") + " " + s.url("/json") + " 2>&1");
  EXPECT_NE(verbose.find("Re-using existing connection"), std::string::npos) << verbose;
  // HEAD, 404, 405.
  std::string head = run_command("curl -sI " + s.url("/json"));
  EXPECT_NE(head.find("Content-Length: 17"), std::string::npos) << head;
  EXPECT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' " + s.url("/nope")), "404");
  EXPECT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' -X PUT " + s.url("/json")), "405");
  // A chunked upload and a big upload with Expect: 100-continue.
  EXPECT_EQ(run_command("printf 'abc' | curl -s -H 'Transfer-Encoding: chunked' --data-binary @- " +
                        s.url("/echo")),
            "abc");
  std::string big = run_command(
      "head -c 200000 /dev/zero | tr '\\0' 'z' | curl -sv -H 'Expect: 100-continue' "
      "--data-binary @- " +
      s.url("/echo") + " 2>&1 >/dev/null");
  EXPECT_NE(big.find("HTTP/1.1 100 Continue"), std::string::npos) << big;
  EXPECT_NE(big.find("X-Length: 200000"), std::string::npos) << big;
  // A chunked (streamed) answer.
  std::string streamed = run_command("curl -s " + s.url("/stream"));
  EXPECT_EQ(count_of(streamed, "chunk "), 100);
  // send_file.
  std::string path = std::string(BRIGADE_BINARY_DIR) + "/http_send_file_test.txt";
  std::ofstream(path) << "file contents\n";
  EXPECT_EQ(run_command("curl -s '" + s.url("/file?path=" + path) + "'"), "file contents\n");
  EXPECT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' '" +
                        s.url("/file?path=/nonexistent") + "'"),
            "404");
  std::remove(path.c_str());
}

TEST(HttpClients, PythonHttpClient) {
  if (!have("python3")) GTEST_SKIP() << "python3 not installed";
  TestServer s(add_test_routes);
  std::string script = R"(
import http.client, sys
c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)
out = []
for path in ['/', '/json', '/users/5?q=x', '/throw', '/']:
    c.request('GET', path)
    r = c.getresponse()
    out.append('%d %s' % (r.status, r.read().decode()))
c.request('POST', '/echo', body=b'payload', headers={'Content-Type': 'text/plain'})
r = c.getresponse()
out.append('%d %s' % (r.status, r.read().decode()))
c.request('GET', '/stream')
r = c.getresponse()
out.append('%d %d' % (r.status, r.read().count(b'chunk')))
print(c.sock is not None and 'same-socket' or 'reconnected')
print('\n'.join(out))
)";
  std::string file = std::string(BRIGADE_BINARY_DIR) + "/http_client_test.py";
  std::ofstream(file) << script;
  int st = -1;
  std::string out = run_command("python3 " + file + " " + std::to_string(s.port()), &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out,
            "same-socket\n200 hello\n200 {\"n\":7,\"ok\":true}\n200 {\"id\":\"5\",\"q\":\"x\"}\n"
            "500 Internal Server Error\n200 hello\n200 payload\n200 100\n");
  EXPECT_EQ(s.stats().accepted, 1u);  // everything on one keep-alive connection
  std::remove(file.c_str());
}

TEST(HttpClients, NodeFetch) {
  if (!have("node")) GTEST_SKIP() << "node not installed";
  TestServer s(add_test_routes);
  std::string script = R"(
const base = process.argv[2];
(async () => {
  const a = await (await fetch(base + '/json')).json();
  const b = await fetch(base + '/echo', { method: 'POST', body: 'from node' });
  const c = await fetch(base + '/nope');
  const d = await (await fetch(base + '/stream')).text();
  console.log(JSON.stringify(a), b.status, await b.text(), c.status, d.split('\n').length - 1);
})().catch((e) => { console.error(e); process.exit(1); });
)";
  std::string file = std::string(BRIGADE_BINARY_DIR) + "/http_client_test.js";
  std::ofstream(file) << script;
  int st = -1;
  std::string out = run_command("node " + file + " " + s.url(""), &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "{\"n\":7,\"ok\":true} 200 from node 404 100\n");
  std::remove(file.c_str());
}

TEST(HttpClients, WrkShortRunHasNoErrors) {
  if (!have("wrk")) GTEST_SKIP() << "wrk not installed";
  TestServer s(add_test_routes);
  int st = -1;
  std::string out = run_command("wrk -t1 -c20 -d1s " + s.url("/json"), &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find(" requests in "), std::string::npos) << out;
  EXPECT_EQ(out.find("Non-2xx"), std::string::npos) << out;
  EXPECT_EQ(out.find("Socket errors"), std::string::npos) << out;
  EXPECT_GT(s.stats().requests, 1000u) << out;
}

}  // namespace clients_e2e_test
}  // namespace brigade::http::testing

namespace brigade::http::testing {
namespace clients_e2e_test {

TEST(HttpDemo, SelfCheckPasses) {
  std::string demo = std::string(BRIGADE_BINARY_DIR) + "/examples/demo";
  if (::access(demo.c_str(), X_OK) != 0) GTEST_SKIP() << "demo not built";
  std::string db = std::string(BRIGADE_BINARY_DIR) + "/http_demo_test.db";
  std::remove(db.c_str());
  int st = -1;
  std::string out = run_command(
      "env -u DATABASE_URL BRIGADE_DEMO_DB=" + db + " " + demo + " --self-check 2>&1", &st, 60);
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find("all URLs answered 200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"name\":\"Ada 1\""), std::string::npos) << out;  // seeded on first run
  std::remove(db.c_str());
  std::remove((db + "-wal").c_str());
  std::remove((db + "-shm").c_str());
}

}  // namespace clients_e2e_test
}  // namespace brigade::http::testing
