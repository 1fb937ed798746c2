// Many idle WebSockets on examples/ws_chat (a separate process, so its RSS is the server's
// alone): memory per connection stays small, and the server still answers afterwards.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>

#include "brigade/task/combinators.hpp"
#include "brigade/ws/client.hpp"
#include "ws_support.hpp"

namespace brigade::ws::testing {
namespace {

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Measured 1.2 KiB (the socket, its TCP stream, the handler's frames); sanitizers pad every
// allocation, so they get more room.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kMaxKiBPerSocket = 8.0;
#else
constexpr double kMaxKiBPerSocket = 2.0;
#endif

TEST(WsIdle, TwoThousandIdleSocketsCostUnderTwoKiBEach) {
  constexpr int kSockets = 2000;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max < kSockets + 200) GTEST_SKIP() << "fd limit below " << kSockets;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);  // the child inherits it
  Loop loop;
  run(loop, []() -> Task<void> {
    Peer chat(*Loop::current(), std::string(BRIGADE_BINARY_DIR) + "/examples/ws_chat",
              {"--port", "0"});
    std::string banner = co_await with_timeout(10000, [&](std::stop_token) { return chat.line(); });
    std::string port = banner.substr(banner.rfind(':') + 1);
    port.pop_back();
    pid_t pid = chat.child().pid();
    std::vector<WebSocket> sockets;
    ClientOptions o;
    o.ping_interval_ms = 0;
    // A warm-up connection, so the server's first-use allocations are in `before`.
    std::string first_url = "ws://127.0.0.1:" + port + "/chat/warmup";
    auto warm = connect(first_url, o);
    WebSocket w = co_await warm;
    co_await w.receive();
    long before = rss_kib(pid);
    // Opened 100 at a time (when_all starts every task of a batch at once).
    auto open_one = [](std::string url, ClientOptions o) -> Task<WebSocket> {
      auto c = connect(url, o);
      WebSocket ws = co_await c;
      co_await ws.receive();  // "joined"
      co_return ws;
    };
    for (int i = 0; i < kSockets; i += 100) {
      std::vector<Task<WebSocket>> batch;
      for (int k = i; k < i + 100; ++k)  // each alone in its room: no fan-out
        batch.push_back(open_one("ws://127.0.0.1:" + port + "/chat/room" + std::to_string(k), o));
      auto all = when_all(std::move(batch));
      std::vector<WebSocket> opened = co_await all;
      for (WebSocket& ws : opened) sockets.push_back(std::move(ws));
    }
    long after = rss_kib(pid);
    double per_socket = double(after - before) / kSockets;
    std::printf("server RSS %ld -> %ld KiB: %.2f KiB per idle WebSocket\n", before, after,
                per_socket);
    EXPECT_LT(per_socket, kMaxKiBPerSocket);
    // Every socket still works.
    co_await sockets[kSockets / 2].send("still here");
    auto m = co_await sockets[kSockets / 2].receive();
    EXPECT_TRUE(m && m->data.ends_with("still here"));
    for (auto& s : sockets) s.terminate();
    w.terminate();
  }());
}

}  // namespace
}  // namespace brigade::ws::testing
