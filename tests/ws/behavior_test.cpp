// Routes written as callbacks (ws::Behavior) against a raw client on 127.0.0.1: the same RFC
// behaviour as the coroutine API (one core under both), backpressure through drain, pub/sub,
// a throwing callback closing its own socket only, and what an idle socket costs.
#include <gtest/gtest.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <any>
#include <atomic>
#include <stdexcept>
#include <thread>

#include "brigade/http/app.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/ws.hpp"
#include "raw_peer.hpp"
#include "ws_support.hpp"

namespace brigade::ws::testing {
namespace {

// An App with one callback route, listening on a free port of 127.0.0.1.
struct CallbackServer {
  http::App app;
  Server sockets{app};
  http::Server server;
  uint16_t port = 0;
  CallbackServer(Loop& loop, std::string pattern, Behavior behavior, Options o = {})
      : server(route_and_listen(loop, std::move(pattern), std::move(behavior), std::move(o))),
        port(server.port()) {}
  http::Server route_and_listen(Loop& loop, std::string pattern, Behavior behavior, Options o) {
    sockets.route(std::move(pattern), std::move(behavior), std::move(o));
    return app.listen(loop, "127.0.0.1", 0);
  }
};

// What the close callback saw.
struct Closed {
  int calls = 0;
  uint16_t code = 0;
  std::string reason;
  std::function<void(WebSocket&, uint16_t, std::string_view)> record() {
    return [this](WebSocket&, uint16_t c, std::string_view r) {
      ++calls;
      code = c;
      reason = std::string(r);
    };
  }
};

// Reads the server's close frame on `p` and its EOF, then ends the connection and waits until the
// close callback has run `calls` times in all; gives the frame's code.
Task<uint16_t> server_closed(RawPeer& p, const Closed& closed, int calls) {
  auto ev = co_await p.next();
  EXPECT_EQ(ev.kind, Event::Kind::kClose);
  EXPECT_TRUE(co_await p.at_eof());
  p.s.close();
  for (int i = 0; i < 100 && closed.calls < calls; ++i) co_await sleep(10);
  EXPECT_EQ(closed.calls, calls);
  co_return ev.code;
}

TEST(WsBehavior, EchoOpenFirstUserDataAndCloseHandshake) {
  Loop loop;
  Closed closed;
  std::vector<std::string> order;
  CallbackServer s(loop, "/echo/:name",
                   Behavior{
                       .open =
                           [&](WebSocket& ws, const Handshake& hs) {
                             order.push_back("open");
                             ws.data() = std::string(hs.param("name"));
                             ws.send_nowait("hello " + std::string(hs.param("name")));
                           },
                       .message =
                           [&](WebSocket& ws, std::string_view data, bool binary) {
                             order.push_back("message");
                             ws.send_nowait(
                                 std::any_cast<std::string&>(ws.data()) + ": " + std::string(data),
                                 binary);
                           },
                       .close = closed.record(),
                   });
  run(loop, [](CallbackServer& s, Closed& closed) -> Task<void> {
    // A message in the same write as the upgrade request: open() still runs first.
    auto opening = upgraded_peer(s.port, "/echo/ann", masked(Opcode::kText, "early"));
    RawPeer p = co_await opening;
    auto hello = co_await p.next();
    EXPECT_EQ(hello.data, "hello ann");
    auto early = co_await p.next();
    EXPECT_EQ(early.data, "ann: early");
    std::string bin = masked(Opcode::kBinary, std::string("\0\1\2", 3));
    co_await p.s.write(bin);
    auto echoed = co_await p.next();
    EXPECT_EQ(echoed.kind, Event::Kind::kBinary);
    EXPECT_EQ(echoed.data, std::string("ann: \0\1\2", 8));
    std::string bye = masked(Opcode::kClose, close_payload(1000, "bye"));
    co_await p.s.write(bye);
    auto echo = server_closed(p, closed, 1);
    EXPECT_EQ(co_await echo, 1000);
    EXPECT_EQ(closed.code, 1000);
    EXPECT_EQ(closed.reason, "bye");
    s.server.close();
  }(s, closed));
  loop.run();  // the server sockets see their peers gone and end
  EXPECT_EQ(order, (std::vector<std::string>{"open", "message", "message"}));
}

TEST(WsBehavior, FragmentsAreOneMessageAndBadUtf8Is1007) {
  Loop loop;
  Closed closed;
  std::vector<std::string> got;
  CallbackServer s(
      loop, "/f",
      Behavior{
          .message = [&](WebSocket&, std::string_view data, bool) { got.emplace_back(data); },
          .close = closed.record(),
      });
  run(loop, [](CallbackServer& s, Closed& closed) -> Task<void> {
    auto opening = upgraded_peer(s.port, "/f", "");
    RawPeer p = co_await opening;
    // Three fragments with a ping between them: the ping is answered at once.
    std::string bytes = masked(Opcode::kText, "frag", false) + masked(Opcode::kPing, "p") +
                        masked(Opcode::kContinuation, "me", false) +
                        masked(Opcode::kContinuation, "nt");
    co_await p.s.write(bytes);
    auto pong = co_await p.next();
    EXPECT_EQ(pong.kind, Event::Kind::kPong);
    EXPECT_EQ(pong.data, "p");
    // Invalid UTF-8 split across two fragments fails at the second.
    std::string bad =
        masked(Opcode::kText, "ok\xe2\x82", false) + masked(Opcode::kContinuation, "\x28 rest");
    co_await p.s.write(bad);
    auto failed = server_closed(p, closed, 1);
    EXPECT_EQ(co_await failed, 1007);
    EXPECT_EQ(closed.code, 1007);
    s.server.close();
  }(s, closed));
  loop.run();  // the server sockets see their peers gone and end
  EXPECT_EQ(got, std::vector<std::string>{"fragment"});
}

TEST(WsBehavior, ServerCloseCodesAndProtocolErrors) {
  Loop loop;
  Closed closed;
  CallbackServer s(loop, "/c",
                   Behavior{
                       .message =
                           [&](WebSocket& ws, std::string_view data, bool) {
                             if (data == "leave") ws.close(4001, "custom");
                           },
                       .close = closed.record(),
                   });
  run(loop, [](CallbackServer& s, Closed& closed) -> Task<void> {
    auto opening = upgraded_peer(s.port, "/c", masked(Opcode::kText, "leave"));
    RawPeer p = co_await opening;
    auto ev = co_await p.next();
    EXPECT_EQ(ev.kind, Event::Kind::kClose);
    EXPECT_EQ(ev.code, 4001);
    EXPECT_EQ(ev.data, "custom");
    std::string answer = masked(Opcode::kClose, close_payload(4001, ""));
    co_await p.s.write(answer);
    EXPECT_TRUE(co_await p.at_eof());
    p.s.close();  // our EOF ends it on the server
    for (int i = 0; i < 100 && closed.calls == 0; ++i) co_await sleep(10);
    EXPECT_EQ(closed.code, 4001);
    // An unmasked client frame: 1002, and the close callback says so.
    auto second = upgraded_peer(s.port, "/c", encode_frame(Opcode::kText, "x"));
    RawPeer q = co_await second;
    auto failed = server_closed(q, closed, 2);
    EXPECT_EQ(co_await failed, 1002);
    EXPECT_EQ(closed.code, 1002);
    s.server.close();
  }(s, closed));
  loop.run();  // the server sockets see their peers gone and end
}

TEST(WsBehavior, HeartbeatDropsASilentPeerAndKeepsOneThatAnswers) {
  Loop loop;
  Closed closed;
  Options o;
  o.ping_interval_ms = 100;
  CallbackServer s(loop, "/h", Behavior{.close = closed.record()}, o);
  run(loop, [](CallbackServer& s, Closed& closed) -> Task<void> {
    auto a = upgraded_peer(s.port, "/h", "");
    RawPeer silent = co_await a;
    auto b = upgraded_peer(s.port, "/h", "");
    RawPeer alive = co_await b;
    auto ping = co_await silent.next();
    EXPECT_EQ(ping.kind, Event::Kind::kPing);
    for (int i = 0; i < 4; ++i) {  // four intervals: the silent one is gone by then
      auto pi = co_await alive.next();
      EXPECT_EQ(pi.kind, Event::Kind::kPing);
      std::string pong = masked(Opcode::kPong, pi.data);
      co_await alive.s.write(pong);
    }
    EXPECT_TRUE(co_await silent.at_eof());  // dropped without a close frame
    EXPECT_EQ(closed.calls, 1);
    EXPECT_EQ(closed.code, 1006);
    EXPECT_EQ(s.sockets.connections(), 1u);
    s.server.close();
  }(s, closed));
  loop.run();  // the server sockets see their peers gone and end
}

// The server writes 16 MB to a reader that waits first: it stays near the high-water mark,
// sending more from drain, and everything arrives in order.
constexpr int kChunks = 256;  // 16 MB: more than loopback's socket buffers take

TEST(WsBehavior, DrainPacesASenderToTheReader) {
  Loop loop;
  Options o;
  o.high_water_mark = 64 * 1024;
  o.max_buffered = 1024 * 1024;
  struct Sender {
    int sent = 0, drains = 0;
    std::size_t most = 0;
    std::string chunk = std::string(64 * 1024, 'd');
    void more(WebSocket& ws, std::size_t mark) {
      while (sent < kChunks && ws.buffered_amount() <= mark) {
        std::string c = chunk;
        c[0] = static_cast<char>(sent);
        ASSERT_TRUE(ws.send_nowait(c, true));
        ++sent;
        most = std::max(most, ws.buffered_amount());
      }
    }
  } sender;
  CallbackServer s(
      loop, "/d",
      Behavior{
          .open = [&](WebSocket& ws, const Handshake&) { sender.more(ws, o.high_water_mark); },
          .drain =
              [&](WebSocket& ws) {
                ++sender.drains;
                sender.more(ws, o.high_water_mark);
              },
      },
      o);
  run(loop, [](CallbackServer& s, Sender& sender) -> Task<void> {
    auto opening = upgraded_peer(s.port, "/d", "");
    RawPeer p = co_await opening;
    co_await sleep(100);
    EXPECT_LT(sender.sent, kChunks);  // held until the reader reads
    for (int i = 0; i < kChunks; ++i) {
      auto ev = co_await p.next();
      EXPECT_EQ(ev.kind, Event::Kind::kBinary);
      EXPECT_EQ(ev.data[0], static_cast<char>(i));
    }
    EXPECT_EQ(sender.sent, kChunks);
    EXPECT_GT(sender.drains, 0);
    EXPECT_LE(sender.most, 2 * 64 * 1024 + 16);  // one chunk over the mark at most
    s.server.close();
  }(s, sender));
  loop.run();  // the server sockets see their peers gone and end
}

TEST(WsBehavior, PubSubThroughTheHub) {
  Loop loop;
  Hub hub;
  CallbackServer s(
      loop, "/room",
      Behavior{
          .open = [&](WebSocket& ws, const Handshake&) { hub.subscribe(ws, "room"); },
          .message = [&](WebSocket&, std::string_view data, bool) { hub.publish("room", data); },
      });
  run(loop, [](CallbackServer& s, Hub& hub) -> Task<void> {
    std::vector<RawPeer> peers;
    for (int i = 0; i < 3; ++i) {
      auto opening = upgraded_peer(s.port, "/room", "");
      peers.push_back(co_await opening);
    }
    EXPECT_EQ(hub.subscribers("room"), 3u);
    std::string hi = masked(Opcode::kText, "hi all");
    co_await peers[0].s.write(hi);
    for (RawPeer& p : peers) {
      auto ev = co_await p.next();
      EXPECT_EQ(ev.data, "hi all");
    }
    peers[2].s.close();  // gone: leaves the room at a publish
    co_await sleep(50);
    EXPECT_EQ(hub.publish("room", "two left"), 2u);
    for (int i : {0, 1}) {
      auto ev = co_await peers[i].next();
      EXPECT_EQ(ev.data, "two left");
    }
    s.server.close();
  }(s, hub));
  loop.run();  // the server sockets see their peers gone and end
}

// A callback that throws closes its own socket with 1011; the other sockets carry on.
TEST(WsBehavior, ThrowingCallbackClosesThatSocketOnlyWith1011) {
  Loop loop;
  Closed closed;
  CallbackServer s(loop, "/t/:mode",
                   Behavior{
                       .open =
                           [](WebSocket& ws, const Handshake& hs) {
                             if (hs.param("mode") == "open") throw std::runtime_error("open");
                             ws.send_nowait("ready");
                           },
                       .message =
                           [](WebSocket& ws, std::string_view data, bool) {
                             if (data == "boom") throw std::runtime_error("boom");
                             if (data == "bad code") ws.close(1005 + 1);  // invalid: throws
                             ws.send_nowait(data);
                           },
                       .close = closed.record(),
                   });
  run(loop, [](CallbackServer& s) -> Task<void> {
    auto a = upgraded_peer(s.port, "/t/ok", "");
    RawPeer bystander = co_await a;
    auto ready = co_await bystander.next();
    EXPECT_EQ(ready.data, "ready");
    for (std::string what : {"boom", "bad code"}) {
      auto b = upgraded_peer(s.port, "/t/ok", masked(Opcode::kText, what));
      RawPeer victim = co_await b;
      auto first = co_await victim.next();
      EXPECT_EQ(first.data, "ready");
      auto ev = co_await victim.next();
      EXPECT_EQ(ev.kind, Event::Kind::kClose) << what;
      EXPECT_EQ(ev.code, 1011) << what;
      EXPECT_EQ(ev.data, "internal error");
    }
    auto c = upgraded_peer(s.port, "/t/open", "");
    RawPeer early = co_await c;
    auto ev = co_await early.next();
    EXPECT_EQ(ev.code, 1011);
    // The bystander still echoes.
    std::string still = masked(Opcode::kText, "still here");
    co_await bystander.s.write(still);
    auto echoed = co_await bystander.next();
    EXPECT_EQ(echoed.data, "still here");
    s.server.close();
  }(s));
  loop.run();
  EXPECT_EQ(closed.calls, 4);  // each socket's close callback ran once, the victims' too
}

TEST(WsBehavior, ReceiveOnACallbackSocketIsALogicError) {
  Loop loop;
  std::optional<WebSocket> kept;
  CallbackServer s(loop, "/r",
                   Behavior{.open = [&](WebSocket& ws, const Handshake&) { kept = ws; }});
  run(loop, [](CallbackServer& s, std::optional<WebSocket>& kept) -> Task<void> {
    auto opening = upgraded_peer(s.port, "/r", "");
    RawPeer p = co_await opening;
    for (int i = 0; i < 100 && !kept; ++i) co_await sleep(10);
    bool threw = false;
    try {
      auto r = kept->receive();
      co_await r;
    } catch (const std::logic_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    kept->terminate();
    s.server.close();
  }(s, kept));
  loop.run();  // the server sockets see their peers gone and end
}

// Heap bytes per idle server socket, callbacks vs a coroutine handler: raw blocking clients on
// a thread of their own (they allocate nothing), the server on this thread's loop. The bound is
// a tenth of what Node + ws takes per idle socket (6.1 KiB RSS; bench/RESULTS.md).
TEST(WsBehavior, IdleCallbackSocketCostsUnderSixHundredBytesOfHeap) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "mallinfo2 does not see the sanitizers' allocators";
#endif
  constexpr int kSockets = 1000;
  if (!raise_fd_limit(2 * kSockets + 200)) GTEST_SKIP() << "fd limit below " << 2 * kSockets;
  Loop loop;
  Hub hub;
  http::App app;
  Server sockets(app);
  Options o;
  o.ping_interval_ms = 0;
  sockets.route(
      "/cb", Behavior{.open = [&](WebSocket& ws, const Handshake&) { hub.subscribe(ws, "all"); }},
      o);
  sockets.route(
      "/co",
      [&](WebSocket ws, Handshake) -> Task<void> {
        hub.subscribe(ws, "all");
        while (auto m = co_await ws.receive()) {
        }
      },
      o);
  http::Server server = app.listen(loop, "127.0.0.1", 0);
  uint16_t port = server.port();
  std::atomic<bool> done{false};
  double per_socket[2] = {0, 0};
  auto heap = [] {
    struct mallinfo2 m = mallinfo2();
    return double(m.uordblks + m.hblkhd);
  };
  std::thread clients([&] {
    auto open_one = [port](const char* path) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
      char req[256];
      int n = std::snprintf(req, sizeof req,
                            "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
                            "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\n\r\n",
                            path);
      if (write(fd, req, static_cast<std::size_t>(n)) != n) return -1;
      char head[512];
      std::size_t got = 0;
      while (got < 4 || std::string_view(head, got).find("\r\n\r\n") == std::string_view::npos) {
        ssize_t r = read(fd, head + got, sizeof head - got);
        if (r <= 0) return -1;
        got += static_cast<std::size_t>(r);
      }
      return std::string_view(head, got).starts_with("HTTP/1.1 101") ? fd : -1;
    };
    std::vector<int> fds;
    const char* paths[2] = {"/cb", "/co"};
    for (int k = 0; k < 2; ++k) {
      fds.push_back(open_one(paths[k]));  // warms the pools (timers, the poller's tables)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      double before = heap();
      for (int i = 0; i < kSockets; ++i) fds.push_back(open_one(paths[k]));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      per_socket[k] = (heap() - before) / kSockets;
    }
    for (int fd : fds) {
      EXPECT_GE(fd, 0);
      if (fd >= 0) close(fd);
    }
    done = true;
  });
  TimerId poll = loop.set_interval(10, [&] {
    if (!done) return;
    loop.clear_timer(poll);
    server.close();
    hub.publish("all", "bye");  // the closed sockets leave the hub
  });
  loop.run();
  clients.join();
  std::printf("heap per idle WebSocket: callbacks %.0f bytes, coroutine %.0f bytes\n",
              per_socket[0], per_socket[1]);
  EXPECT_LT(per_socket[0], 600.0);
  EXPECT_LT(per_socket[1], 1200.0);
  EXPECT_LT(per_socket[0] + 250, per_socket[1]);  // the handler's frames are the difference
}

}  // namespace
}  // namespace brigade::ws::testing
