// brigade's client against real servers: Python's websockets and Node's ws (with
// permessage-deflate and a subprotocol), and wss:// against Node's ws over https.
#include <gtest/gtest.h>

#include "brigade/task/combinators.hpp"
#include "brigade/tls/certificate.hpp"
#include "brigade/ws/client.hpp"
#include "ws_support.hpp"

namespace brigade::ws::testing {
namespace {

const char* kPythonEchoServer = R"(
import asyncio, sys, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, '127.0.0.1', 0, subprotocols=['chat'], max_size=2**24) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
)";

const char* kNodeEchoServer = R"(
const [wsPath, cert, key] = process.argv.slice(2);
const { WebSocketServer } = require(wsPath);
let server;
if (cert) {
  const fs = require('fs');
  server = require('https').createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
}
const opts = { perMessageDeflate: { threshold: 0 }, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) };
if (server) opts.server = server; else { opts.host = '127.0.0.1'; opts.port = 0; }
const wss = new WebSocketServer(opts);
wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code) => console.log('closed ' + code));
});
if (server) server.listen(0, '127.0.0.1', () => console.log(server.address().port));
else wss.on('listening', () => console.log(wss.address().port));
)";

// Echo exchanges every server must pass: text, binary, big, many; then a clean close.
Task<void> exchange(std::string url, ClientOptions o, bool expect_deflate) {
  auto connecting = connect(url, o);
  WebSocket ws = co_await connecting;
  EXPECT_EQ(ws.protocol(), "chat");
  EXPECT_EQ(ws.compressed(), expect_deflate);
  co_await ws.send("hello \xc3\xa9");
  auto m = co_await ws.receive();
  EXPECT_TRUE(m && !m->binary && m->data == "hello \xc3\xa9");
  std::string bytes("\x00\x01\xff binary", 10);
  co_await ws.send_binary(bytes);
  m = co_await ws.receive();
  EXPECT_TRUE(m && m->binary && m->data == bytes);
  std::string big(300000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  co_await ws.send(big);
  m = co_await ws.receive();
  EXPECT_TRUE(m && m->data == big);
  for (int i = 0; i < 100; ++i) ws.send_nowait("n" + std::to_string(i));
  for (int i = 0; i < 100; ++i) {
    m = co_await ws.receive();
    EXPECT_TRUE(m && m->data == "n" + std::to_string(i));
  }
  ws.close(1000, "done");
  EXPECT_FALSE(co_await ws.receive());
  co_await ws.closed();
  EXPECT_EQ(ws.close_code(), 1000);
}

TEST(WsClientPeers, PythonWebsocketsServer) {
  if (!have_python_websockets()) GTEST_SKIP() << "python3-websockets not installed";
  Loop loop;
  std::string script = write_file("ws_py_echo_server.py", kPythonEchoServer);
  brigade::run(loop, [](std::string script) -> Task<void> {
    Peer peer(*Loop::current(), python(), {script});
    std::string port = co_await with_timeout(10000, [&](std::stop_token) { return peer.line(); });
    ClientOptions o;
    o.protocols = {"chat"};
    o.deflate.enabled = true;
    auto first = exchange("ws://127.0.0.1:" + port + "/echo", o, true);  // named: g++ 12 (README)
    co_await first;
    // Without compression too.
    ClientOptions plain;
    plain.protocols = {"chat"};
    auto second = exchange("ws://127.0.0.1:" + port + "/", plain, false);
    co_await second;
  }(script));
}

TEST(WsClientPeers, NodeWsServer) {
  std::string module = node_ws_module();
  if (module.empty()) GTEST_SKIP() << "node or npm's ws not available";
  Loop loop;
  std::string script = write_file("ws_node_echo_server.cjs", kNodeEchoServer);
  brigade::run(loop, [](std::string script, std::string module) -> Task<void> {
    Peer peer(*Loop::current(), "node", {script, module});
    std::string port = co_await with_timeout(10000, [&](std::stop_token) { return peer.line(); });
    ClientOptions o;
    o.protocols = {"chat"};
    o.deflate.enabled = true;
    auto echo = exchange("ws://127.0.0.1:" + port + "/", o, true);
    co_await echo;
    std::string closed = co_await with_timeout(10000, [&](std::stop_token) { return peer.line(); });
    EXPECT_EQ(closed, "closed 1000");
    // The server refuses a protocol we require: the handshake still succeeds without one, so
    // a client that offers none gets none.
    ClientOptions none;
    auto c = connect("ws://127.0.0.1:" + port + "/", none);
    WebSocket ws = co_await c;
    EXPECT_EQ(ws.protocol(), "");
    ws.close();
    co_await ws.closed();
  }(script, module));
}

TEST(WsClientPeers, WssAgainstNodeWsOverHttps) {
  std::string module = node_ws_module();
  if (module.empty()) GTEST_SKIP() << "node or npm's ws not available";
  std::string cert = std::string(BRIGADE_BINARY_DIR) + "/ws_test_cert.pem";
  std::string key = std::string(BRIGADE_BINARY_DIR) + "/ws_test_key.pem";
  tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  Loop loop;
  std::string script = write_file("ws_node_echo_server.cjs", kNodeEchoServer);
  brigade::run(
      loop,
      [](std::string script, std::string module, std::string cert, std::string key) -> Task<void> {
        Peer peer(*Loop::current(), "node", {script, module, cert, key});
        std::string port =
            co_await with_timeout(10000, [&](std::stop_token) { return peer.line(); });
        ClientOptions o;
        o.protocols = {"chat"};
        o.deflate.enabled = true;
        o.tls.ca_file = cert;
        auto echo = exchange("wss://localhost:" + port + "/", o, true);
        co_await echo;
        // An untrusted certificate fails the connect.
        ClientOptions untrusted;
        bool failed = false;
        try {
          auto c = connect("wss://localhost:" + port + "/", untrusted);
          co_await c;
        } catch (const std::exception&) {
          failed = true;
        }
        EXPECT_TRUE(failed);
      }(script, module, cert, key));
}

}  // namespace
}  // namespace brigade::ws::testing
