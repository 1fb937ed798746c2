// fetch against other servers: Node's http, Python's http.server (plain and over ssl), brigade's
// server on another thread, and from inside worker threads (each worker loop has its own shared
// client).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../http/test_server.hpp"
#include "brigade/http/client.hpp"
#include "brigade/http/fetch.hpp"
#include "brigade/task.hpp"
#include "brigade/tls/certificate.hpp"
#include "brigade/worker/worker_pool.hpp"
#include "fetch_support.hpp"

using namespace brigade;
using namespace brigade::http;

namespace {
const char* kNodeServer = R"JS(
const http = require('http'), zlib = require('zlib');
const s = http.createServer((req, res) => {
  if (req.url === '/cut') {  // promises 100000 bytes, sends 1000, then drops the connection
    res.writeHead(200, { 'content-length': '100000' });
    res.write('x'.repeat(1000));
    setTimeout(() => res.socket.destroy(), 20);
  } else if (req.url === '/gzip') {
    const body = zlib.gzipSync(JSON.stringify({ hello: 'world', pad: 'y'.repeat(5000) }));
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
    res.end(body);
  } else {
    res.end('node ' + req.method + ' ' + (req.headers['user-agent'] || ''));
  }
});
s.listen(0, '127.0.0.1', () => console.log('port ' + s.address().port));
)JS";
}  // namespace

TEST(FetchPeers, NodeServerGzipAndCutMidBody) {
  if (!fetch_test::have("node")) GTEST_SKIP() << "node not installed";
  fetch_test::PeerServer node("node", {"-e", kNodeServer});
  Loop loop;
  run(loop, [&]() -> Task<void> {
    Response plain = co_await fetch(node.url("/"));
    EXPECT_EQ(co_await plain.text(), "node GET brigade");

    Response gz = co_await fetch(node.url("/gzip"));
    nlohmann::json j = co_await gz.json();  // decoded by curl
    EXPECT_EQ(j["hello"], "world");
    EXPECT_EQ(j["pad"].get<std::string>().size(), 5000u);

    Response cut = co_await fetch(node.url("/cut"));
    EXPECT_EQ(cut.status(), 200);
    std::size_t got = 0;
    bool failed = false;
    try {
      for (;;) {
        std::string chunk = co_await cut.read_chunk();
        if (chunk.empty()) break;
        got += chunk.size();
      }
    } catch (const FetchError& e) {
      failed = true;
      EXPECT_EQ(e.kind(), FetchError::Kind::kNetwork);
      EXPECT_NE(std::string(e.what()).find("/cut"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(failed) << "a body cut short must not look complete";
    EXPECT_EQ(got, 1000u);  // what did arrive was delivered first
  }());
}

TEST(FetchPeers, PythonHttpServer) {
  if (!fetch_test::have("python3")) GTEST_SKIP() << "python3 not installed";
  std::string dir = ::testing::TempDir() + "fetch_py_" + std::to_string(getpid());
  std::string mk = "mkdir -p " + dir;
  ASSERT_EQ(std::system(mk.c_str()), 0);
  std::string content(300000, 'p');
  for (std::size_t i = 0; i < content.size(); i += 100) content[i] = char('a' + i % 26);
  std::ofstream(dir + "/data.txt") << content;
  fetch_test::PeerServer py(
      "python3", {"-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir});
  Loop loop;
  std::string body = run(loop, [&]() -> Task<std::string> {
    Response res = co_await fetch(py.url("/data.txt"));
    EXPECT_EQ(res.status(), 200);
    EXPECT_EQ(res.headers().get("content-length"), std::to_string(content.size()));
    Response missing = co_await fetch(py.url("/nope.txt"));
    EXPECT_EQ(missing.status(), 404);  // an HTTP error is an answer, not an exception
    EXPECT_FALSE(missing.ok());
    co_return co_await res.text();
  }());
  EXPECT_EQ(body, content);
  std::string rm = "rm -rf " + dir;
  std::system(rm.c_str());
}

TEST(FetchPeers, BrigadeServerOnAnotherThreadReusesConnections) {
  http::testing::TestServer server(
      [](App& app) { app.get("/n", [](Req&, Res& res) { res.send("n"); }); });
  Loop loop;
  run(loop, [&]() -> Task<void> {
    for (int i = 0; i < 20; ++i) {
      Response r = co_await fetch(server.url("/n"));
      EXPECT_EQ(co_await r.text(), "n");
    }
  }());
  EXPECT_EQ(server.stats().accepted, 1u);  // keep-alive: one connection for all twenty
}

TEST(FetchPeers, InsideWorkers) {
  http::testing::TestServer server(
      [](App& app) { app.get("/w", [](Req&, Res& res) { res.send("from the server"); }); });
  Loop loop;
  PoolOptions po;
  po.max_threads = 2;
  WorkerPool pool(loop, po);
  std::string url = server.url("/w");
  std::vector<std::string> got = run(loop, [&]() -> Task<std::vector<std::string>> {
    std::vector<PoolRun<std::string>> runs;
    for (int i = 0; i < 4; ++i)
      runs.push_back(pool.run([url]() -> Task<std::string> {
        Response r = co_await fetch(url);  // the worker loop's own shared client
        co_return co_await r.text();
      }));
    std::vector<std::string> out;
    for (auto& r : runs) out.push_back(co_await r);
    co_await pool.close();
    co_return out;
  }());
  ASSERT_EQ(got.size(), 4u);
  for (const auto& s : got) EXPECT_EQ(s, "from the server");
}

// fetch over HTTPS against Python's http.server wrapped in ssl: trusted through ca_file (a
// certificate made by brigade), and refused through the system store.
TEST(FetchPeers, PythonHttpsServer) {
  if (!fetch_test::have("python3")) GTEST_SKIP() << "python3 not installed";
  std::string dir = ::testing::TempDir() + "fetch_pytls_" + std::to_string(getpid());
  std::string mk = "mkdir -p " + dir;
  ASSERT_EQ(std::system(mk.c_str()), 0);
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  std::string script =
      "import http.server, ssl\n"
      "class H(http.server.BaseHTTPRequestHandler):\n"
      "    protocol_version = 'HTTP/1.1'\n"
      "    def do_GET(self):\n"
      "        b = ('python tls ' + self.path).encode()\n"
      "        self.send_response(200)\n"
      "        self.send_header('Content-Length', str(len(b)))\n"
      "        self.end_headers()\n"
      "        self.wfile.write(b)\n"
      "    def log_message(self, *a): pass\n"
      "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
      "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
      "c.load_cert_chain('" +
      cert + "', '" + key +
      "')\n"
      "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
      "print('port', s.server_address[1], flush=True)\n"
      "s.serve_forever()\n";
  fetch_test::PeerServer py("python3", {"-c", script});
  std::string url = py.url("/hi");
  url.replace(0, 4, "https");
  Loop loop;
  ClientOptions co;
  co.ca_file = cert;
  Client client(loop, co);
  run(loop, [&]() -> Task<void> {
    for (int i = 0; i < 2; ++i) {  // the second on the kept-alive connection
      Response res = co_await client.fetch(url);
      EXPECT_EQ(co_await res.text(), "python tls /hi");
    }
    try {
      co_await fetch(url);  // the shared client trusts the system store only
      ADD_FAILURE() << "an unknown CA was trusted";
    } catch (const FetchError& e) {
      EXPECT_EQ(e.kind(), FetchError::Kind::kNetwork);
      EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
    }
  }());
  std::string rm = "rm -rf " + dir;
  std::system(rm.c_str());
}
