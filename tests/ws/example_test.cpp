// examples/ws_chat (and ws_callbacks) run as programs: two clients join a room, each sees the
// other's messages, and SIGINT closes both with 1001 before the server exits; the same over wss://
// (--tls), and across two cluster worker processes (--workers 2), a Python client among the guests.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "brigade/task/combinators.hpp"
#include "brigade/tls/certificate.hpp"
#include "brigade/ws/client.hpp"
#include "ws_support.hpp"

namespace brigade::ws::testing {
namespace {

Task<std::string> next_text(WebSocket& ws) {
  auto m = co_await ws.receive();
  co_return m ? m->data : "<closed " + std::to_string(ws.close_code()) + ">";
}

// The port in the example's banner ("chat on http://127.0.0.1:PORT/").
std::string port_of(const std::string& banner) {
  std::string port = banner.substr(banner.rfind(':') + 1);
  port.pop_back();  // the trailing '/'
  return port;
}

// Two guests join the room at `url`, in order; each sees the joins that come after its own.
Task<std::pair<WebSocket, WebSocket>> join_two(std::string url, ClientOptions o) {
  auto ca = connect(url, o);
  WebSocket a = co_await ca;
  EXPECT_EQ(co_await next_text(a), "guest1 joined lobby");
  auto cb = connect(url, o);
  WebSocket b = co_await cb;
  EXPECT_EQ(co_await next_text(a), "guest2 joined lobby");
  EXPECT_EQ(co_await next_text(b), "guest2 joined lobby");
  co_return std::pair<WebSocket, WebSocket>(std::move(a), std::move(b));
}

TEST(WsExample, ChatFansOutAndClosesWith1001) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Peer chat(*Loop::current(), std::string(BRIGADE_BINARY_DIR) + "/examples/ws_chat",
              {"--port", "0"});
    std::string banner = co_await with_timeout(10000, [&](std::stop_token) { return chat.line(); });
    std::string url = "ws://127.0.0.1:" + port_of(banner) + "/chat/lobby";
    auto joining = join_two(url, ClientOptions());
    auto [a, b] = co_await joining;
    co_await a.send("hi all");
    EXPECT_EQ(co_await next_text(a), "guest1: hi all");
    EXPECT_EQ(co_await next_text(b), "guest1: hi all");
    chat.child().kill(SIGINT);
    EXPECT_EQ(co_await next_text(a), "<closed 1001>");
    EXPECT_EQ(co_await next_text(b), "<closed 1001>");
    auto status = co_await chat.child().wait();
    EXPECT_EQ(status.code, 0);
  }());
}

// examples/ws_callbacks: the same rooms written as callbacks; a guest leaving is announced.
TEST(WsExample, CallbackRoomsFanOutAndAnnounceLeaving) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Peer rooms(*Loop::current(), std::string(BRIGADE_BINARY_DIR) + "/examples/ws_callbacks",
               {"--port", "0"});
    std::string banner =
        co_await with_timeout(10000, [&](std::stop_token) { return rooms.line(); });
    std::string base = banner.substr(banner.find("ws://"));
    std::string url = base.substr(0, base.rfind('/')) + "/lobby";
    auto joining = join_two(url, ClientOptions());
    auto [a, b] = co_await joining;
    co_await a.send("hi all");
    EXPECT_EQ(co_await next_text(a), "guest1: hi all");
    EXPECT_EQ(co_await next_text(b), "guest1: hi all");
    b.close(1000);
    EXPECT_EQ(co_await next_text(a), "guest2 left");
    rooms.child().kill(SIGINT);
    EXPECT_EQ(co_await next_text(a), "<closed 1001>");
    auto status = co_await rooms.child().wait();
    EXPECT_EQ(status.code, 0);
  }());
}

TEST(WsExample, ChatOverTls) {
  std::string cert = std::string(BRIGADE_BINARY_DIR) + "/ws_chat_cert.pem";
  std::string key = std::string(BRIGADE_BINARY_DIR) + "/ws_chat_key.pem";
  tls::write_self_signed(cert, key, {"localhost", "127.0.0.1"});
  Loop loop;
  run(loop, [](std::string cert, std::string key) -> Task<void> {
    Peer chat(*Loop::current(), std::string(BRIGADE_BINARY_DIR) + "/examples/ws_chat",
              {"--port", "0", "--tls", cert, key});
    std::string banner = co_await with_timeout(10000, [&](std::stop_token) { return chat.line(); });
    EXPECT_TRUE(banner.starts_with("chat on https://")) << banner;
    std::string url = "wss://localhost:" + port_of(banner) + "/chat/lobby";
    ClientOptions o;
    o.tls.ca_file = cert;
    auto joining = join_two(url, o);
    auto [a, b] = co_await joining;
    co_await b.send("secret");
    EXPECT_EQ(co_await next_text(a), "guest2: secret");
    chat.child().kill(SIGINT);
    EXPECT_EQ(co_await next_text(b), "guest2: secret");
    EXPECT_EQ(co_await next_text(a), "<closed 1001>");
    EXPECT_EQ(co_await next_text(b), "<closed 1001>");
    auto status = co_await chat.child().wait();
    EXPECT_EQ(status.code, 0);
  }(cert, key));
}

// A guest's name from its own join message ("w1-guest3 joined lobby" -> "w1-guest3").
std::string name_of(const std::string& joined) { return joined.substr(0, joined.find(' ')); }

// Reads until `want` arrives (other guests' joins may come first); false at the end.
Task<bool> receive_until(WebSocket& ws, std::string want) {
  for (;;) {
    auto m = co_await ws.receive();
    if (!m) co_return false;
    if (m->data == want) co_return true;
  }
}

const char* kPythonGuest = R"(
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        me = (await ws.recv()).split(' ')[0]
        print(me, flush=True)
        while True:
            m = await ws.recv()
            if m.endswith(': from brigade'):
                print('got ' + m, flush=True)
                await ws.send('from python')
                break
        try:
            while True:
                await ws.recv()
        except websockets.exceptions.ConnectionClosed as e:
            print('closed', e.code, flush=True)
asyncio.run(main())
)";

TEST(WsExample, ChatAcrossClusterWorkers) {
  if (!have_python_websockets()) GTEST_SKIP() << "python3-websockets not installed";
  std::string script = write_file("ws_chat_guest.py", kPythonGuest);
  Loop loop;
  run(loop, [](std::string script) -> Task<void> {
    Peer chat(*Loop::current(), std::string(BRIGADE_BINARY_DIR) + "/examples/ws_chat",
              {"--port", "0", "--workers", "2"});
    std::string banner = co_await with_timeout(20000, [&](std::stop_token) { return chat.line(); });
    std::string url = "ws://127.0.0.1:" + port_of(banner) + "/chat/lobby";
    // The primary deals connections to the ready workers in turn: the Python guest lands on one,
    // and brigade guests are opened until one lands on the other worker. The banner comes before
    // the workers are ready, and a slow start (sanitizers, a loaded machine) leaves one alone in
    // the rotation for a while: keep trying for up to 20 s.
    Peer python_guest(*Loop::current(), python(), {script, url});
    std::string py_name =
        co_await with_timeout(20000, [&](std::stop_token) { return python_guest.line(); });
    EXPECT_TRUE(py_name.starts_with("w")) << py_name;
    std::string py_worker = py_name.substr(0, py_name.find('-'));
    ClientOptions o;
    WebSocket guest;
    std::string name;
    std::vector<WebSocket> same_worker;
    const uint64_t give_up = Loop::current()->now() + 20000;
    while (name.empty() && Loop::current()->now() < give_up) {
      auto c = connect(url, o);
      WebSocket ws = co_await c;
      std::string joined = co_await next_text(ws);
      if (joined.starts_with(py_worker + "-")) {
        same_worker.push_back(ws);
        if (same_worker.size() >= 4) co_await sleep(100);  // the other worker is not ready yet
        continue;
      }
      guest = ws;
      name = name_of(joined);
    }
    EXPECT_FALSE(name.empty()) << "every connection went to " << py_worker;
    if (name.empty()) {  // open sockets would outlive the loop (and read as leaks)
      for (WebSocket& ws : same_worker) ws.terminate();
      co_return;
    }
    // From this worker to the Python guest's, and back, through the primary.
    co_await guest.send("from brigade");
    std::string got =
        co_await with_timeout(20000, [&](std::stop_token) { return python_guest.line(); });
    EXPECT_EQ(got, "got " + name + ": from brigade");
    auto back = receive_until(guest, py_name + ": from python");
    EXPECT_TRUE(co_await with_timeout(20000, [&](std::stop_token) { return std::move(back); }));
    // Stopping the cluster closes every socket in every worker with 1001.
    chat.child().kill(SIGTERM);
    std::string closed =
        co_await with_timeout(20000, [&](std::stop_token) { return python_guest.line(); });
    EXPECT_EQ(closed, "closed 1001");
    auto rest = receive_until(guest, "never");
    co_await with_timeout(20000, [&](std::stop_token) { return std::move(rest); });
    EXPECT_EQ(guest.close_code(), 1001);
    auto status = co_await chat.child().wait();
    EXPECT_EQ(status.code, 0);
    for (WebSocket& ws : same_worker) ws.terminate();
  }(script));
}

}  // namespace
}  // namespace brigade::ws::testing
