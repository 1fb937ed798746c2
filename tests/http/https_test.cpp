// HTTPS serving (ServerOptions::tls): real clients (curl, Python's http.client, Node's
// https.get, fetch) against brigade's server, plain HTTP and garbage sent to the TLS port, and a
// certificate reload that leaves open connections alone.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "brigade/http/client.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/task.hpp"
#include "brigade/tls/certificate.hpp"
#include "brigade/tls/stream.hpp"
#include "demo_process.hpp"
#include "test_server.hpp"

namespace https_test {

using namespace brigade;
using namespace brigade::http;
using brigade::http::testing::RawClient;
using brigade::http::testing::run_command;
using brigade::http::testing::TestServer;

namespace {

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

struct Certs {
  std::string dir = ::testing::TempDir() + "brigade_https_" + std::to_string(getpid());
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  Certs() {
    std::string mk = "mkdir -p " + dir;
    EXPECT_EQ(std::system(mk.c_str()), 0);
    tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  }
  ~Certs() {
    std::string rm = "rm -rf " + dir;
    std::system(rm.c_str());
  }
  ServerOptions options() const {
    ServerOptions o;
    o.tls.emplace();
    o.tls->cert_file = cert;
    o.tls->key_file = key;
    o.tls_handshake_timeout_ms = 2000;
    return o;
  }
};

std::atomic<int> g_handled{0};

void routes(App& app) {
  app.get("/hello", [](Req& req, Res& res) {
    ++g_handled;
    res.send("hello over " + std::string(req.protocol()));
  });
  app.post("/echo", [](Req& req, Res& res) {
    ++g_handled;
    res.send(std::string(req.body()));
  });
  app.get("/big", [](Req&, Res& res) -> Task<void> {
    ++g_handled;
    std::string piece(64 * 1024, 'b');
    for (int i = 0; i < 16; ++i) co_await res.write(piece);  // 1 MiB, with backpressure
    res.end();
  });
}

}  // namespace

TEST(Https, ServesCurlPythonAndNode) {
  Certs certs;
  TestServer server(routes, certs.options());
  std::string port = std::to_string(server.port());
  std::string base = "https://127.0.0.1:" + port;
  if (have("curl")) {
    // Two requests on one connection (keep-alive), then a 300 KB upload echoed back.
    std::string out =
        run_command("curl -sS --cacert " + certs.cert + " " + base + "/hello " + base + "/hello");
    EXPECT_EQ(out, "hello over httpshello over https");
    EXPECT_EQ(server.stats().accepted, 1u);
    std::string body_file = certs.dir + "/body";
    std::string mk = "head -c 300000 /dev/urandom | base64 -w0 > " + body_file;
    ASSERT_EQ(std::system(mk.c_str()), 0);
    std::string echoed =
        run_command("curl -sS --cacert " + certs.cert + " --data-binary @" + body_file + " " +
                    base + "/echo | cmp - " + body_file + " && echo same");
    EXPECT_EQ(echoed, "same\n");
  }
  if (have("python3")) {
    std::string out = run_command(
        "python3 -c \"import http.client, ssl, sys\n"
        "c = http.client.HTTPSConnection('localhost', " +
        port + ", context=ssl.create_default_context(cafile='" + certs.cert +
        "'))\n"
        "c.request('GET', '/big'); r = c.getresponse(); b = r.read()\n"
        "c.request('GET', '/hello'); print(r.status, len(b), c.getresponse().read().decode())\"");
    EXPECT_EQ(out, "200 1048576 hello over https\n");
  }
  if (have("node")) {
    std::string out = run_command(
        "node -e \"require('https').get({host: '127.0.0.1', port: " + port +
        ", path: '/hello', ca: require('fs').readFileSync('" + certs.cert +
        "')}, r => { const v = r.socket.getProtocol(); let b = ''; r.on('data', d => b += d); "
        "r.on('end', () => console.log(r.statusCode, b, v)); })\" 2>&1");
    EXPECT_EQ(out, "200 hello over https TLSv1.3\n");
  }
  EXPECT_EQ(server.stats().tls_failures, 0u);
}

TEST(Https, PlainHttpAndGarbageCloseWithoutAHandler) {
  Certs certs;
  TestServer server(routes, certs.options());
  int before = g_handled;
  for (std::string bytes : {std::string("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                            std::string("\x16\x03\x01\x00\x05garbage, not a ClientHello", 31),
                            std::string(5000, '\0')}) {
    RawClient raw(server.port());
    ASSERT_TRUE(raw.connected());
    raw.send(bytes);
    EXPECT_TRUE(raw.closed_by_peer());
    EXPECT_EQ(raw.buffer().find("HTTP/1.1"), std::string::npos) << raw.buffer();
  }
  RawClient silent(server.port());  // says nothing: closed at the handshake timeout
  EXPECT_TRUE(silent.closed_by_peer());
  EXPECT_EQ(g_handled, before);
  ServerStats s = server.stats();
  EXPECT_EQ(s.tls_failures, 4u);
  EXPECT_EQ(s.accepted, 0u);  // none became an HTTP connection
  EXPECT_EQ(s.connections, 0u);
}

// A reload (new certificate files, reload_tls) serves the new certificate to new connections
// while a kept-alive connection made before goes on with the old one.
TEST(Https, ReloadKeepsOpenConnections) {
  Certs certs;
  TestServer server(routes, certs.options());
  std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/hello";
  std::string old_cert = certs.dir + "/old.pem";
  std::string cp = "cp " + certs.cert + " " + old_cert;
  ASSERT_EQ(std::system(cp.c_str()), 0);
  Loop loop;
  ClientOptions old_trust;
  old_trust.ca_file = old_cert;
  Client kept(loop, old_trust);
  run(loop, [&]() -> Task<void> {
    Response first = co_await kept.fetch(url);
    EXPECT_EQ(co_await first.text(), "hello over https");
  }());

  tls::write_self_signed(certs.cert, certs.key, {"localhost", "127.0.0.1"});  // new key too
  server.on_loop([](Server& s) { s.reload_tls(); });
  std::string bad = certs.dir + "/missing.pem";
  server.on_loop([&](Server& s) {
    ServerOptions o = certs.options();
    o.tls->cert_file = bad;
    EXPECT_THROW(s.set_tls_context(tls::Context::server(*o.tls)), tls::TlsError);
  });

  run(loop, [&]() -> Task<void> {
    Response again = co_await kept.fetch(url);  // the open connection: still the old session
    EXPECT_EQ(co_await again.text(), "hello over https");
    Client fresh_old(loop, old_trust);
    try {
      co_await fresh_old.fetch(url);
      ADD_FAILURE() << "a new connection still got the old certificate";
    } catch (const FetchError& e) {
      EXPECT_EQ(e.kind(), FetchError::Kind::kNetwork) << e.what();
    }
    ClientOptions new_trust;
    new_trust.ca_file = certs.cert;
    Client fresh(loop, new_trust);
    Response r = co_await fresh.fetch(url);
    EXPECT_EQ(co_await r.text(), "hello over https");
  }());
  EXPECT_EQ(server.stats().accepted, 2u);      // kept (once) and fresh
  EXPECT_EQ(server.stats().tls_failures, 1u);  // fresh_old refused the new certificate
}

// Tickets handed out before a reload still resume after it: the new context takes the old
// one's ticket keys (a full handshake per returning client otherwise, at every SIGHUP).
TEST(Https, ReloadKeepsTicketsResumable) {
  Certs certs;
  TestServer server(routes, certs.options());
  Loop loop;
  tls::ClientOptions co;
  co.ca_file = certs.cert;
  tls::Context client = tls::Context::client(co);  // keeps the tickets it is given
  auto get = [&]() -> Task<bool> {
    auto connecting = net::connect(loop, "127.0.0.1", server.port());
    net::Stream tcp = co_await connecting;
    auto handshake = tls::Stream::connect(std::move(tcp), client, "localhost");
    tls::Stream s = co_await handshake;
    co_await s.write("GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    std::string all;
    char buf[512];
    for (std::size_t n; (n = co_await s.read(buf)) > 0;) all.append(buf, n);  // tickets too
    EXPECT_NE(all.find("hello over https"), std::string::npos) << all;
    co_return s.session_reused();
  };
  EXPECT_FALSE(run(loop, get()));
  EXPECT_TRUE(run(loop, get()));  // a ticket from the first connection
  server.on_loop([](Server& s) { s.reload_tls(); });
  EXPECT_TRUE(run(loop, get()));  // one from before the reload
  EXPECT_TRUE(run(loop, get()));
  // A context set by hand starts with keys of its own: the tickets no longer resume.
  server.on_loop([&](Server& s) { s.set_tls_context(tls::Context::server(*certs.options().tls)); });
  EXPECT_FALSE(run(loop, get()));
  EXPECT_EQ(server.stats().tls_failures, 0u);
}

// The demo: HTTPS with the certificate it made, GET /fanout over it, SIGHUP reloading.
TEST(Https, DemoServesHttpsFanoutAndReloadsOnSighup) {
  if (!have("curl")) GTEST_SKIP() << "curl not installed";
  brigade::http::testing::DemoProcess demo;
  ASSERT_TRUE(demo.built());
  ASSERT_NE(demo.port(), 0);
  std::string line = demo.wait_for("curl --cacert ");
  ASSERT_FALSE(line.empty()) << "no HTTPS line";
  std::string cmd = line.substr(line.rfind("curl --cacert "));
  cmd.pop_back();  // the newline
  std::string out = run_command(cmd.substr(0, 4) + " -sS" + cmd.substr(4));
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["json"]["status"], 200) << out;
  EXPECT_EQ(j["json"]["body"]["server"], "brigade") << out;
  EXPECT_EQ(j["user"]["status"], 200) << out;
  EXPECT_TRUE(j["user"]["ms"].is_number()) << out;
  ::kill(demo.pid(), SIGHUP);
  EXPECT_NE(demo.wait_for("SIGHUP: certificate reloaded"), "");
  EXPECT_EQ(
      run_command(cmd.substr(0, 4) + " -sS" + cmd.substr(4) + " -o /dev/null -w %{http_code}"),
      "200");
}

}  // namespace https_test
