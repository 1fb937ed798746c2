// brigade's WebSocket server against real clients: Python's websockets, Node's ws and headless
// Chromium; middleware before the upgrade, rejected upgrades, graceful close with 1001.
#include <gtest/gtest.h>

#include "brigade/http/app.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/ws/client.hpp"
#include "brigade/ws/server.hpp"
#include "ws_support.hpp"

namespace brigade::ws::testing {
namespace {

const char* kPythonClient = R"(
import asyncio, sys, websockets
async def main():
    base = sys.argv[1]
    try:
        await websockets.connect(base + '/private')
    except websockets.exceptions.InvalidStatusCode as e:
        print('private', e.status_code)
    async with websockets.connect(base + '/echo/7?x=1', subprotocols=['chat'], max_size=2**24) as ws:
        print('protocol', ws.subprotocol)
        print('deflate', any(e.name == 'permessage-deflate' for e in ws.extensions))
        print(await ws.recv())
        await ws.send('hello')
        print(await ws.recv())
        await ws.send(bytes([0, 1, 255]))
        print('binary', (await ws.recv()).hex())
        big = 'y' * 300000
        await ws.send(big)
        print('big', len(await ws.recv()))
        pong = await ws.ping(b'x')
        await asyncio.wait_for(pong, 5)
        print('pong')
        await ws.close(1000, 'bye')
        print('closed', ws.close_code)
    async with websockets.connect(base + '/echo/8') as ws:
        print(await ws.recv())
        print('ready', flush=True)
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except websockets.exceptions.ConnectionClosed as e:
            print('server closed', e.code)
asyncio.run(main())
)";

const char* kNodeClient = R"(
const WebSocket = require(process.argv[2]);
const ws = new WebSocket(process.argv[3] + '/echo/1', ['chat'], { perMessageDeflate: true });
const got = [];
ws.on('open', () => console.log('protocol ' + ws.protocol + ' ' + ws.extensions));
ws.on('message', (data, isBinary) => {
  got.push(data.toString());
  if (got.length === 1) { ws.send('hello'); ws.send(Buffer.alloc(100000, 'n')); }
  if (got.length === 3) { console.log(got[1] + ' ' + got[2].length); ws.close(4000, 'done'); }
});
ws.on('close', (code) => console.log('closed ' + code));
)";

// The app every test serves: an echo route with a greeting, a route behind middleware. The echo
// route is a coroutine handler, or with `callbacks` the same written as a ws::Behavior: the
// peers must see no difference.
struct EchoApp {
  http::App app;
  Server sockets{app};
  int greeted = 0;
  std::vector<std::string> received;

  std::string greeting(const Handshake& hs) {
    ++greeted;
    return "welcome " + std::string(hs.param("id")) + (hs.query.empty() ? "" : " " + hs.query);
  }
  void remember(std::string_view data) {
    received.push_back(data.size() > 64 ? std::to_string(data.size()) : std::string(data));
  }

  explicit EchoApp(bool callbacks = false) {
    app.use([](http::Req& req, http::Res& res) {
      if (req.path().starts_with("/private")) res.status(401).send("no");
    });
    Options o;
    o.protocols = {"chat", "superchat"};
    o.deflate.enabled = true;
    o.deflate.threshold = 0;
    sockets.route("/private", [](WebSocket, Handshake) -> Task<void> { co_return; });
    if (callbacks) {
      sockets.route(
          "/echo/:id",
          Behavior{
              .open = [this](WebSocket& ws, const Handshake& hs) { ws.send_nowait(greeting(hs)); },
              .message =
                  [this](WebSocket& ws, std::string_view data, bool binary) {
                    remember(data);
                    ws.send_nowait(data, binary);
                  },
          },
          o);
    } else {
      sockets.route(
          "/echo/:id",
          [this](WebSocket ws, Handshake hs) -> Task<void> {
            std::string hello = greeting(hs);  // named: g++ 12 destroys a co_await temporary twice
            co_await ws.send(hello);
            while (auto m = co_await ws.receive()) {
              remember(m->data);
              if (m->binary)
                co_await ws.send_binary(m->data);
              else
                co_await ws.send(m->data);
            }
          },
          o);
    }
    app.get("/page", [](http::Req&, http::Res& res) {
      res.type("text/html").send(R"(<!doctype html><title>ws</title><script>
const ws = new WebSocket('ws://' + location.host + '/echo/chromium');
ws.onmessage = (e) => {
  if (e.data.startsWith('welcome')) ws.send('hello from chromium');
  else if (e.data === 'hello from chromium') ws.send('echo seen: ' + e.data);
};
</script>)");
    });
  }
};

Task<std::string> read_all(process::Child& child) {
  std::string out;
  char buf[4096];
  for (;;) {
    std::size_t n = co_await child.out().read(std::span<char>(buf, sizeof buf));
    if (n == 0) co_return out;
    out.append(buf, n);
  }
}

void python_client_against(bool callbacks) {
  if (!have_python_websockets()) GTEST_SKIP() << "python3-websockets not installed";
  std::string script = write_file("ws_py_client.py", kPythonClient);
  Loop loop;
  EchoApp e(callbacks);
  http::Server server = e.app.listen(loop, "127.0.0.1", 0);
  std::string base = "ws://127.0.0.1:" + std::to_string(server.port());
  run(loop,
      [](std::string script, std::string base, EchoApp& e, http::Server& server) -> Task<void> {
        Peer peer(*Loop::current(), python(), {script, base});
        std::string out;
        for (;;) {
          std::string line =
              co_await with_timeout(20000, [&](std::stop_token) { return peer.line(); });
          out += line + "\n";
          if (line == "ready") break;
        }
        EXPECT_EQ(e.sockets.connections(), 1u);
        co_await e.sockets.close();  // 1001 to the open one; it answers
        std::string last =
            co_await with_timeout(20000, [&](std::stop_token) { return peer.line(); });
        out += last + "\n";
        EXPECT_EQ(out,
                  "private 401\nprotocol chat\ndeflate True\nwelcome 7 x=1\nhello\nbinary 0001ff\n"
                  "big 300000\npong\nclosed 1000\nwelcome 8\nready\nserver closed 1001\n");
        auto status = co_await peer.child().wait();
        EXPECT_EQ(status.code, 0);
        server.close();
      }(script, base, e, server));
  EXPECT_EQ(e.greeted, 2);
}

TEST(WsServerPeers, PythonWebsocketsClient) { python_client_against(false); }
TEST(WsServerPeers, PythonWebsocketsClientOnCallbacks) { python_client_against(true); }

void node_client_against(bool callbacks) {
  std::string module = node_ws_module();
  if (module.empty()) GTEST_SKIP() << "node or npm's ws not available";
  std::string script = write_file("ws_node_client.cjs", kNodeClient);
  Loop loop;
  EchoApp e(callbacks);
  http::Server server = e.app.listen(loop, "127.0.0.1", 0);
  std::string base = "ws://127.0.0.1:" + std::to_string(server.port());
  run(loop,
      [](std::string script, std::string module, std::string base,
         http::Server& server) -> Task<void> {
        Peer peer(*Loop::current(), "node", {script, module, base});
        auto all = read_all(peer.child());
        std::string out =
            co_await with_timeout(20000, [&](std::stop_token) { return std::move(all); });
        EXPECT_EQ(out, "protocol chat permessage-deflate\nhello 100000\nclosed 4000\n");
        server.close();
      }(script, module, base, server));
  ASSERT_EQ(e.received.size(), 2u);
  EXPECT_EQ(e.received[0], "hello");
}

TEST(WsServerPeers, NodeWsClient) { node_client_against(false); }
TEST(WsServerPeers, NodeWsClientOnCallbacks) { node_client_against(true); }

TEST(WsServerPeers, HeadlessChromium) {
  std::string browser = chromium();
  if (browser.empty()) GTEST_SKIP() << "chromium not installed";
  Loop loop;
  EchoApp e;
  http::Server server = e.app.listen(loop, "127.0.0.1", 0);
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/page";
  std::string profile = std::string(BRIGADE_BINARY_DIR) + "/ws-chromium-profile";
  run(loop,
      [](std::string browser, std::string url, std::string profile, EchoApp& e,
         http::Server& server) -> Task<void> {
        // The page says hello, gets it back and reports the echo: both reach the server.
        auto chromium = run_chromium(browser, url, profile, {}, e.received, 2);
        co_await chromium;
        server.close_all_connections();
        server.close();
      }(browser, url, profile, e, server));
  loop.run();  // the killed browser's socket ends its handler before the loop goes
  ASSERT_EQ(e.received.size(), 2u);
  EXPECT_EQ(e.received[0], "hello from chromium");
  EXPECT_EQ(e.received[1], "echo seen: hello from chromium");
}

}  // namespace
}  // namespace brigade::ws::testing

namespace brigade::ws::testing {
namespace {

TEST(WsServerPeers, BrigadeClientAgainstBrigadeServer) {
  Loop loop;
  EchoApp e;
  http::Server server = e.app.listen(loop, "127.0.0.1", 0);
  std::string base = "ws://127.0.0.1:" + std::to_string(server.port());
  run(loop, [](std::string base, http::Server& server) -> Task<void> {
    ClientOptions o;
    o.protocols = {"superchat"};
    o.deflate.enabled = true;
    auto c = connect(base + "/echo/5", o);
    WebSocket ws = co_await c;
    EXPECT_EQ(ws.protocol(), "superchat");
    EXPECT_TRUE(ws.compressed());
    auto hello = co_await ws.receive();
    EXPECT_TRUE(hello && hello->data == "welcome 5");
    co_await ws.send("ping me");
    auto m = co_await ws.receive();
    EXPECT_TRUE(m && m->data == "ping me");
    ws.close(1000);
    co_await ws.closed();
    EXPECT_EQ(ws.close_code(), 1000);
    // Rejected upgrades are HTTP answers.
    int status = 0;
    try {
      auto r = connect(base + "/private", o);
      co_await r;
    } catch (const HandshakeError& err) {
      status = err.status();
    }
    EXPECT_EQ(status, 401);
    server.close();
  }(base, server));
}

}  // namespace
}  // namespace brigade::ws::testing
