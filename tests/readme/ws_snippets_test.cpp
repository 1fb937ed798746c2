// README: WebSocket, the server's echo route and the client, run against each other.
#include <gtest/gtest.h>

#include <any>
#include <cstdio>
#include <optional>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/loop.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/task.hpp"
#include "brigade/tls/certificate.hpp"
#include "brigade/ws.hpp"

namespace {

using brigade::Task;
namespace http = brigade::http;
namespace ws = brigade::ws;

// The server part listens on 8080 in the README; the test passes another port.
Task<void> client_part(uint16_t port, std::string& got) {
  std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/chat";
  ws::ClientOptions co;
  co.protocols = {"chat"};
  auto connecting = ws::connect(url, co);
  ws::WebSocket client = co_await connecting;
  co_await client.send("hello");
  std::optional<ws::Message> reply = co_await client.receive();
  client.close(1000, "bye");
  got = reply ? reply->data : "";
  co_await client.closed();
}

// The README's block, verbatim, is compiled here with its client half in a coroutine.
[[maybe_unused]] Task<void> readme_block(brigade::Loop& loop) {
  // clang-format off
// readme:begin ws
http::App app;
ws::Server sockets(app);                 // routes on the app: middleware runs before the upgrade
ws::Options o;
o.protocols = {"chat"};                  // Sec-WebSocket-Protocol, preferred first
o.deflate.enabled = true;                // permessage-deflate
sockets.route("/chat", [](ws::WebSocket ws, ws::Handshake) -> Task<void> {
  while (auto msg = co_await ws.receive()) {   // whole messages; nullopt once closed
    if (msg->binary) co_await ws.send_binary(msg->data);
    else co_await ws.send(msg->data);          // waits while buffered_amount() is high
  }
}, o);
http::Server server = app.listen(loop, "127.0.0.1", 8080);

ws::ClientOptions co;                    // the same Options, plus headers, TLS, a timeout
co.protocols = {"chat"};
auto connecting = ws::connect("ws://127.0.0.1:8080/chat", co);  // or wss://; named (g++ 12)
ws::WebSocket client = co_await connecting;
co_await client.send("hello");
std::optional<ws::Message> reply = co_await client.receive();
client.close(1000, "bye");
// readme:end
  // clang-format on
}

TEST(Readme, WebSocketEcho) {
  brigade::Loop loop;
  http::App app;
  ws::Server sockets(app);
  ws::Options o;
  o.protocols = {"chat"};
  o.deflate.enabled = true;
  sockets.route(
      "/chat",
      [](ws::WebSocket ws, ws::Handshake) -> Task<void> {
        while (auto msg = co_await ws.receive()) {
          if (msg->binary)
            co_await ws.send_binary(msg->data);
          else
            co_await ws.send(msg->data);
        }
      },
      o);
  http::Server server = app.listen(loop, "127.0.0.1", 0);
  std::string got;
  brigade::run(loop, [](uint16_t port, std::string& got, http::Server& server) -> Task<void> {
    co_await client_part(port, got);
    server.close();
  }(server.port(), got, server));
  loop.run();  // the server's handler sees the close and ends before the loop goes
  EXPECT_EQ(got, "hello");
}

// The README's callback route, verbatim: an echo whose close callback prints the socket's path.
void callback_route(ws::Server& sockets, const ws::Options& o) {
  // clang-format off
// readme:begin ws_behavior
sockets.route("/echo", ws::Behavior{
  .open = [](ws::WebSocket& ws, const ws::Handshake& hs) {
    ws.data() = hs.path;                    // per-socket state: any value, in ws.data()
  },
  .message = [](ws::WebSocket& ws, std::string_view data, bool binary) {
    ws.send_nowait(data, binary);           // never waits; check buffered_amount() ...
  },
  .drain = [](ws::WebSocket&) { /* ... and send more here once it fell under the mark */ },
  .close = [](ws::WebSocket& ws, uint16_t code, std::string_view reason) {
    std::printf("%s %u %.*s\n", std::any_cast<std::string&>(ws.data()).c_str(), code,
                int(reason.size()), reason.data());
  },
}, o);
// readme:end
  // clang-format on
}

TEST(Readme, WebSocketCallbacks) {
  brigade::Loop loop;
  http::App app;
  ws::Server sockets(app);
  callback_route(sockets, ws::Options());
  http::Server server = app.listen(loop, "127.0.0.1", 0);
  std::string got;
  brigade::run(loop, [](uint16_t port, std::string& got, http::Server& server) -> Task<void> {
    auto connecting = ws::connect("ws://127.0.0.1:" + std::to_string(port) + "/echo");
    ws::WebSocket client = co_await connecting;
    co_await client.send("echo me");
    auto reply = co_await client.receive();
    got = reply ? reply->data : "";
    client.close(1000, "bye");
    co_await client.closed();
    server.close();
  }(server.port(), got, server));
  loop.run();
  EXPECT_EQ(got, "echo me");
}

// The README's wss / cluster block: a server over TLS and a hub linked to a cluster worker.
[[maybe_unused]] void readme_wss_block(brigade::Loop& loop, http::App& app, ws::Hub& hub,
                                       brigade::cluster::Worker& worker, std::string cert,
                                       std::string key) {
  // clang-format off
// readme:begin wss
http::ServerOptions secure;              // the same routes, served over TLS: wss://
secure.tls.emplace();
secure.tls->cert_file = cert;
secure.tls->key_file = key;
http::Server server = app.listen(loop, "127.0.0.1", 8443, secure);

// In a cluster worker (cluster::run's worker main): a room spans every worker process.
hub.link(worker);                        // publications go through the primary to the others
hub.publish("room", "hello everyone");   // this worker's subscribers now, the others' soon
// readme:end
  // clang-format on
}

// The TLS half runs: the echo route above answers a wss:// client trusting the certificate.
TEST(Readme, WebSocketOverTls) {
  std::string cert = std::string(BRIGADE_BINARY_DIR) + "/readme_wss_cert.pem";
  std::string key = std::string(BRIGADE_BINARY_DIR) + "/readme_wss_key.pem";
  brigade::tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  brigade::Loop loop;
  http::App app;
  ws::Server sockets(app);
  sockets.route("/chat", [](ws::WebSocket ws, ws::Handshake) -> Task<void> {
    while (auto msg = co_await ws.receive()) co_await ws.send(msg->data);
  });
  http::ServerOptions secure;
  secure.tls.emplace();
  secure.tls->cert_file = cert;
  secure.tls->key_file = key;
  http::Server server = app.listen(loop, "127.0.0.1", 0, secure);
  std::string got;
  brigade::run(
      loop,
      [](std::string url, std::string cert, std::string& got, http::Server& server) -> Task<void> {
        ws::ClientOptions co;
        co.tls.ca_file = cert;
        auto connecting = ws::connect(url, co);
        ws::WebSocket client = co_await connecting;
        co_await client.send("hello over tls");
        auto reply = co_await client.receive();
        got = reply ? reply->data : "";
        client.close();
        co_await client.closed();
        server.close();
      }("wss://localhost:" + std::to_string(server.port()) + "/chat", cert, got, server));
  loop.run();
  EXPECT_EQ(got, "hello over tls");
}

}  // namespace
