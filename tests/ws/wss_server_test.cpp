// brigade's WebSocket server over HTTPS (wss://): the TLS session of the upgraded connection
// goes on under the WebSocket. Real clients trusting a test certificate (Python's websockets,
// Node's ws, brigade's own), and peers that stall or reset after the upgrade.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "brigade/http/app.hpp"
#include "brigade/net/connect.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/tls/certificate.hpp"
#include "brigade/tls/stream.hpp"
#include "brigade/ws/client.hpp"
#include "brigade/ws/server.hpp"
#include "ws_support.hpp"

namespace brigade::ws::testing {
namespace wss_server_test {

const char* kPythonClient = R"(
import asyncio, ssl, sys, websockets
async def main():
    base, ca = sys.argv[1], sys.argv[2]
    trusted = ssl.create_default_context(cafile=ca)
    async with websockets.connect(base + '/echo/py', ssl=trusted, subprotocols=['chat']) as ws:
        print('protocol', ws.subprotocol)
        print('deflate', any(e.name == 'permessage-deflate' for e in ws.extensions))
        print(await ws.recv())
        await ws.send('over tls')
        print(await ws.recv())
        await ws.send('z' * 200000)
        print('big', len(await ws.recv()))
        await ws.close(1000, 'bye')
        print('closed', ws.close_code)
    try:
        await websockets.connect(base + '/echo/untrusted', ssl=ssl.create_default_context())
    except ssl.SSLCertVerificationError:
        print('untrusted refused')
asyncio.run(main())
)";

const char* kNodeClient = R"(
const [wsPath, base, ca] = process.argv.slice(2);
const WebSocket = require(wsPath);
const ws = new WebSocket(base + '/echo/node', ['chat'],
                         { ca: require('fs').readFileSync(ca), perMessageDeflate: true });
const got = [];
ws.on('open', () => console.log('protocol ' + ws.protocol + ' ' + ws.extensions));
ws.on('message', (data) => {
  got.push(data.toString());
  if (got.length === 1) { ws.send('hello tls'); ws.send(Buffer.alloc(100000, 'n')); }
  if (got.length === 3) { console.log(got[0] + ', ' + got[1] + ' ' + got[2].length); ws.close(4000, 'done'); }
});
ws.on('close', (code) => console.log('closed ' + code));
ws.on('error', (e) => console.log('error ' + e.message));
)";

// One per test process: ctest runs the tests of this suite in parallel processes.
struct Certificate {
  std::string base = std::string(BRIGADE_BINARY_DIR) + "/wss_test_" + std::to_string(getpid());
  std::string cert = base + "_cert.pem";
  std::string key = base + "_key.pem";
  Certificate() { tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"}); }
  ~Certificate() {
    std::remove(cert.c_str());
    std::remove(key.c_str());
  }
};

http::ServerOptions https(const Certificate& c) {
  http::ServerOptions o;
  o.tls.emplace();
  o.tls->cert_file = c.cert;
  o.tls->key_file = c.key;
  o.tls_handshake_timeout_ms = 300;
  return o;
}

// An echo route with a greeting, and what its handlers saw end.
struct EchoApp {
  http::App app;
  Server sockets{app};
  std::vector<std::string> received;
  std::vector<uint16_t> ended;  // each handler's close code

  explicit EchoApp(Options o = {}) {
    o.protocols = {"chat"};
    o.deflate.enabled = true;
    o.deflate.threshold = 0;
    sockets.route(
        "/echo/:id",
        [this](WebSocket ws, Handshake hs) -> Task<void> {
          std::string greeting = "welcome " + std::string(hs.param("id"));
          co_await ws.send(greeting);
          while (auto m = co_await ws.receive()) {
            received.push_back(m->data.size() > 64 ? std::to_string(m->data.size()) : m->data);
            co_await ws.send(m->data);
          }
          ended.push_back(ws.close_code());
        },
        o);
  }
};

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

TEST(WssServer, PythonWebsocketsTrustingTheTestCertificate) {
  if (!have_python_websockets()) GTEST_SKIP() << "python3-websockets not installed";
  Certificate c;
  std::string script = write_file("wss_py_client.py", kPythonClient);
  Loop loop;
  EchoApp e;
  http::Server server = e.app.listen(loop, "127.0.0.1", 0, https(c));
  std::string base = "wss://localhost:" + std::to_string(server.port());
  run(loop,
      [](std::string script, std::string base, std::string ca, http::Server& server) -> Task<void> {
        Peer peer(*Loop::current(), python(), {script, base, ca});
        std::string out;
        for (;;) {
          std::string line =
              co_await with_timeout(20000, [&](std::stop_token) { return peer.line(); });
          out += line + "\n";
          if (line == "untrusted refused") break;
        }
        EXPECT_EQ(out,
                  "protocol chat\ndeflate True\nwelcome py\nover tls\nbig 200000\nclosed 1000\n"
                  "untrusted refused\n");
        auto status = co_await peer.child().wait();
        EXPECT_EQ(status.code, 0);
        server.close();
      }(script, base, c.cert, server));
  loop.run();
  ASSERT_EQ(e.received.size(), 2u);
  EXPECT_EQ(e.received[0], "over tls");
  EXPECT_EQ(e.ended, std::vector<uint16_t>{1000});
  EXPECT_GE(server.stats().tls_failures, 1u);  // the untrusting client's handshake
}

TEST(WssServer, NodeWsWithTheCaOption) {
  std::string module = node_ws_module();
  if (module.empty()) GTEST_SKIP() << "node or npm's ws not available";
  Certificate c;
  std::string script = write_file("wss_node_client.cjs", kNodeClient);
  Loop loop;
  EchoApp e;
  http::Server server = e.app.listen(loop, "127.0.0.1", 0, https(c));
  std::string base = "wss://localhost:" + std::to_string(server.port());
  run(loop,
      [](std::string script, std::string module, std::string base, std::string ca,
         http::Server& server) -> Task<void> {
        Peer peer(*Loop::current(), "node", {script, module, base, ca});
        std::string out;
        for (int i = 0; i < 3; ++i)
          out += co_await with_timeout(20000, [&](std::stop_token) { return peer.line(); }) + "\n";
        EXPECT_EQ(out,
                  "protocol chat permessage-deflate\nwelcome node, hello tls 100000\n"
                  "closed 4000\n");
        co_await peer.child().wait();
        server.close();
      }(script, module, base, c.cert, server));
  loop.run();
  EXPECT_EQ(e.ended, std::vector<uint16_t>{4000});
}

// The page is served over HTTPS by the same server and opens wss:// back to it; Chromium is
// told to accept the test certificate. Both messages reaching the server prove the exchange.
TEST(WssServer, HeadlessChromium) {
  std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "chromium not installed";
  Certificate c;
  Loop loop;
  EchoApp e;
  e.app.get("/page", [](http::Req&, http::Res& res) {
    res.type("text/html").send(R"(<!doctype html><title>wss</title><script>
const ws = new WebSocket('wss://' + location.host + '/echo/chromium');
ws.onmessage = (e) => {
  const hello = 'hello over ' + location.protocol + ' ' + ws.extensions.split(';')[0];
  if (e.data.startsWith('welcome')) ws.send(hello);
  else if (e.data === hello) ws.send('echo seen');
};
</script>)");
  });
  http::Server server = e.app.listen(loop, "127.0.0.1", 0, https(c));
  std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/page";
  std::string profile =
      std::string(BRIGADE_BINARY_DIR) + "/wss-chromium-profile-" + std::to_string(getpid());
  run(loop,
      [](std::string browser, std::string url, std::string profile, EchoApp& e,
         http::Server& server) -> Task<void> {
        auto chromium =
            run_chromium(browser, url, profile, {"--ignore-certificate-errors"}, e.received, 2);
        co_await chromium;
        server.close_all_connections();
        server.close();
      }(browser, url, profile, e, server));
  loop.run();  // the killed browser's socket ends its handler before the loop goes
  std::system(("rm -rf " + profile).c_str());
  ASSERT_EQ(e.received.size(), 2u);
  EXPECT_EQ(e.received[0], "hello over https: permessage-deflate");
  EXPECT_EQ(e.received[1], "echo seen");
}

TEST(WssServer, BrigadeClientInOrderAndGracefulClose) {
  Certificate c;
  Loop loop;
  EchoApp e;
  http::Server server = e.app.listen(loop, "127.0.0.1", 0, https(c));
  std::string base = "wss://localhost:" + std::to_string(server.port());
  run(loop, [](std::string base, std::string ca, EchoApp& e, http::Server& server) -> Task<void> {
    ClientOptions o;
    o.tls.ca_file = ca;
    o.protocols = {"chat"};
    o.deflate.enabled = true;
    auto connecting = connect(base + "/echo/own", o);
    WebSocket ws = co_await connecting;
    EXPECT_TRUE(ws.compressed());
    auto hello = co_await ws.receive();
    EXPECT_TRUE(hello && hello->data == "welcome own");
    // Many messages at once, and one over several TLS records, come back in order.
    for (int i = 0; i < 200; ++i) ws.send_nowait("m" + std::to_string(i));
    std::string big(100000, 'b');
    for (std::size_t i = 0; i < big.size(); i += 13) big[i] = char('a' + i % 26);
    co_await ws.send(big);
    for (int i = 0; i < 200; ++i) {
      auto m = co_await ws.receive();
      EXPECT_TRUE(m && m->data == "m" + std::to_string(i));
    }
    auto back = co_await ws.receive();
    EXPECT_TRUE(back && back->data == big);
    // The server's graceful close reaches a TLS client as 1001.
    co_await e.sockets.close();
    EXPECT_FALSE(co_await ws.receive());
    co_await ws.closed();
    EXPECT_EQ(ws.close_code(), 1001);
    server.close();
  }(base, c.cert, e, server));
  loop.run();
  EXPECT_EQ(e.received.size(), 201u);
  EXPECT_EQ(e.ended, std::vector<uint16_t>{1001});
}

Task<std::size_t> read_some(net::Stream& s, std::span<char> buf, std::stop_token t) {
  co_return co_await s.read(buf, std::move(t));
}

// A raw TLS client that does the upgrade by hand and then misbehaves.
Task<tls::Stream> upgraded(uint16_t port, std::string ca) {
  auto connecting = net::connect(*Loop::current(), "127.0.0.1", port);
  net::Stream tcp = co_await connecting;
  tls::ClientOptions o;
  o.ca_file = ca;
  auto handshake = tls::Stream::connect(std::move(tcp), tls::Context::client(o), "localhost");
  tls::Stream s = co_await handshake;
  std::string request =
      "GET /echo/raw HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n";
  co_await s.write(request);
  std::string head;
  char buf[512];
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::size_t n = co_await s.read(std::span<char>(buf, sizeof buf));
    if (n == 0) throw std::runtime_error("closed during the upgrade: " + head);
    head.append(buf, n);
  }
  EXPECT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  co_return s;
}

TEST(WssServer, StalledAndResetTlsPeersAreFreed) {
  Certificate c;
  Loop loop;
  Options o;
  o.close_timeout_ms = 300;
  o.ping_interval_ms = 0;  // the close handshake's timeout is what ends the stalled peer
  EchoApp e(o);
  std::size_t fds_before = open_fds();
  http::Server server = e.app.listen(loop, "127.0.0.1", 0, https(c));
  run(loop, [](uint16_t port, std::string ca, EchoApp& e, http::Server& server) -> Task<void> {
    // A handshake that stalls: the server drops it after its handshake timeout.
    auto raw = net::connect(*Loop::current(), "127.0.0.1", port);
    net::Stream stalled_handshake = co_await raw;
    // A peer that resets after the upgrade: the server sees the end at once (1006).
    auto first = upgraded(port, ca);
    tls::Stream reset = co_await first;
    for (int i = 0; i < 200 && e.sockets.connections() < 1; ++i) co_await sleep(10);
    EXPECT_EQ(e.sockets.connections(), 1u);
    linger hard{1, 0};
    setsockopt(reset.socket().fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    reset.close();
    for (int i = 0; i < 500 && e.ended.size() < 1; ++i) co_await sleep(10);
    EXPECT_EQ(e.ended, std::vector<uint16_t>{1006});
    // A peer that stops reading and never answers the close: the graceful close gives up
    // on it after close_timeout_ms.
    auto second = upgraded(port, ca);
    tls::Stream stalled = co_await second;
    for (int i = 0; i < 200 && e.sockets.connections() < 1; ++i) co_await sleep(10);
    uint64_t start = Loop::current()->now();
    co_await e.sockets.close();
    uint64_t took = Loop::current()->now() - start;
    EXPECT_GE(took, 250u);
    EXPECT_LT(took, 5000u);
    EXPECT_EQ(e.sockets.connections(), 0u);
    EXPECT_EQ((std::vector<uint16_t>{1006, 1006}), e.ended);
    // The stalled handshake is gone too: the server closed it (we read its EOF).
    char buf[64];
    auto eof = with_timeout(5000, [&](std::stop_token t) {
      return read_some(stalled_handshake, std::span<char>(buf, sizeof buf), t);
    });
    EXPECT_EQ(co_await eof, 0u);
    stalled_handshake.close();
    stalled.close();
    server.close();
  }(server.port(), c.cert, e, server));
  loop.run();
  EXPECT_GE(server.stats().tls_failures, 1u);
  EXPECT_EQ(open_fds(), fds_before);  // the three peers' sockets, both ends, and the listener
}

}  // namespace wss_server_test
}  // namespace brigade::ws::testing
