// examples/ws_chat runs as a program: two clients join a room, each sees the other's messages,
// and SIGINT closes both with 1001 before the server exits.
#include <gtest/gtest.h>

#include "brigade/task/combinators.hpp"
#include "brigade/ws/client.hpp"
#include "ws_support.hpp"

namespace brigade::ws::testing {
namespace {

Task<std::string> next_text(WebSocket& ws) {
  auto m = co_await ws.receive();
  co_return m ? m->data : "<closed " + std::to_string(ws.close_code()) + ">";
}

TEST(WsExample, ChatFansOutAndClosesWith1001) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Peer chat(*Loop::current(), std::string(BRIGADE_BINARY_DIR) + "/examples/ws_chat",
              {"--port", "0"});
    std::string banner = co_await with_timeout(10000, [&](std::stop_token) { return chat.line(); });
    std::string port = banner.substr(banner.rfind(':') + 1);
    port.pop_back();  // the trailing '/'
    std::string url = "ws://127.0.0.1:" + port + "/chat/lobby";
    ClientOptions o;
    auto ca = connect(url, o);
    WebSocket a = co_await ca;
    EXPECT_EQ(co_await next_text(a), "guest1 joined lobby");
    auto cb = connect(url, o);
    WebSocket b = co_await cb;
    EXPECT_EQ(co_await next_text(a), "guest2 joined lobby");
    EXPECT_EQ(co_await next_text(b), "guest2 joined lobby");
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

}  // namespace
}  // namespace brigade::ws::testing
