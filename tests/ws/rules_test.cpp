// The RFC's edge cases against brigade's server side, with a raw peer on a socketpair: every
// violation closes with its code, the close handshake's timeouts, the heartbeat, backpressure.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/socket.h>

#include <future>
#include <thread>

#include "brigade/error.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/ws/frame.hpp"
#include "brigade/ws/hub.hpp"
#include "brigade/ws/websocket.hpp"
#include "raw_peer.hpp"
#include "ws_support.hpp"

namespace brigade::ws {
namespace {

using testing::masked;
using testing::RawPeer;

struct Pair {
  WebSocket server;
  RawPeer peer;
};

Pair make_pair(Options o = {}) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error("socketpair");
  Loop& loop = *Loop::current();
  Pair p;
  p.server = WebSocket::open(net::Stream::adopt(loop, fds[0]), {}, Role::kServer, o);
  p.peer.s = net::Stream::adopt(loop, fds[1]);
  return p;
}

// Sends `bytes` and expects the server to close with `code` and then end the connection.
void expect_close_code(std::string bytes, uint16_t code, Options o = {}) {
  Loop loop;
  run(loop, [](std::string bytes, uint16_t code, Options o) -> Task<void> {
    Pair p = make_pair(o);
    co_await p.peer.s.write(bytes);
    auto ev = co_await p.peer.next();
    EXPECT_EQ(ev.kind, Event::Kind::kClose);
    EXPECT_EQ(ev.code, code);
    EXPECT_TRUE(co_await p.peer.at_eof());  // the server half-closed after its close frame
    p.peer.s.close();
    co_await p.server.closed();
    EXPECT_EQ(p.server.close_code(), code);
    EXPECT_FALSE(co_await p.server.receive());
  }(std::move(bytes), code, std::move(o)));
}

TEST(WsRules, UnmaskedClientFrameIs1002) {
  expect_close_code(encode_frame(Opcode::kText, "x"), 1002);
}

TEST(WsRules, FragmentedControlFrameIs1002) {
  expect_close_code(masked(Opcode::kPing, "x", false), 1002);
}

TEST(WsRules, ReservedOpcodeIs1002) {
  expect_close_code(masked(static_cast<Opcode>(5), "x"), 1002);
}

TEST(WsRules, LengthWithTopBitIs1002) {
  expect_close_code(std::string("\x82\xff\x80\0\0\0\0\0\0\0\1\2\3\4", 14), 1002);
}

TEST(WsRules, CloseWithInvalidCodeIs1002) {
  expect_close_code(masked(Opcode::kClose, std::string("\x03\xed", 2)), 1002);  // 1005
}

TEST(WsRules, InvalidUtf8SplitAcrossFragmentsIs1007AtOnce) {
  // Only the first fragment is sent: the server fails the message without waiting for the rest.
  expect_close_code(masked(Opcode::kText, "fine\xf0\x28", false), 1007);
}

TEST(WsRules, MessageOneByteOverTheLimitIs1009) {
  Options o;
  o.max_message_size = 4096;
  expect_close_code(masked(Opcode::kBinary, std::string(4097, 'x')), 1009, o);
  Loop loop;
  run(loop, [](Options o) -> Task<void> {
    Pair p = make_pair(o);
    std::string exact = masked(Opcode::kBinary, std::string(4096, 'x'));
    co_await p.peer.s.write(exact);
    auto m = co_await p.server.receive();
    EXPECT_TRUE(m && m->data.size() == 4096);
    p.server.terminate();
  }(o));
}

TEST(WsRules, PingGetsItsPayloadBackAndCloseIsEchoed) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Pair p = make_pair();
    std::string frames = masked(Opcode::kPing, "are you there") +
                         masked(Opcode::kText, "hi", false) + masked(Opcode::kPing, "mid") +
                         masked(Opcode::kContinuation, "!");
    co_await p.peer.s.write(frames);
    auto a = co_await p.peer.next();
    EXPECT_EQ(a.kind, Event::Kind::kPong);
    EXPECT_EQ(a.data, "are you there");
    auto b = co_await p.peer.next();
    EXPECT_EQ(b.data, "mid");
    auto m = co_await p.server.receive();
    EXPECT_TRUE(m && m->data == "hi!");
    std::string close = masked(Opcode::kClose, close_payload(4001, "app says bye"));
    co_await p.peer.s.write(close);
    auto echo = co_await p.peer.next();
    EXPECT_EQ(echo.kind, Event::Kind::kClose);
    EXPECT_EQ(echo.code, 4001);
    EXPECT_FALSE(co_await p.server.receive());
    EXPECT_EQ(p.server.close_code(), 4001);
    EXPECT_EQ(p.server.close_reason(), "app says bye");
    EXPECT_TRUE(co_await p.peer.at_eof());
    p.peer.s.close();
    co_await p.server.closed();
  }());
}

TEST(WsRules, PeerThatNeverAnswersTheCloseIsDroppedAfterTheTimeout) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Options o;
    o.close_timeout_ms = 200;
    Pair p = make_pair(o);
    uint64_t start = Loop::current()->now();
    p.server.close(1001, "going away");
    auto ev = co_await p.peer.next();
    EXPECT_EQ(ev.kind, Event::Kind::kClose);
    EXPECT_EQ(ev.code, 1001);
    co_await p.server.closed();  // the peer stays silent
    uint64_t took = Loop::current()->now() - start;
    EXPECT_GE(took, 150u);
    EXPECT_LT(took, 5000u);
    EXPECT_EQ(p.server.close_code(), 1006);
    EXPECT_TRUE(co_await p.peer.at_eof());
  }());
}

TEST(WsRules, HeartbeatPingsASilentPeerThenDropsIt) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Options o;
    o.ping_interval_ms = 100;
    Pair p = make_pair(o);
    auto ping = co_await p.peer.next();  // silent for an interval: pinged
    EXPECT_EQ(ping.kind, Event::Kind::kPing);
    co_await p.server.closed();  // still silent: dropped
    EXPECT_EQ(p.server.close_code(), 1006);
    // A peer that answers stays.
    Pair q = make_pair(o);
    for (int i = 0; i < 3; ++i) {
      auto pi = co_await q.peer.next();
      EXPECT_EQ(pi.kind, Event::Kind::kPing);
      std::string pong = masked(Opcode::kPong, pi.data);
      co_await q.peer.s.write(pong);
    }
    EXPECT_TRUE(q.server.is_open());
    q.server.terminate();
  }());
}

TEST(WsRules, SlowReaderKeepsTheSenderBounded) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Options o;
    o.high_water_mark = 64 * 1024;
    Pair p = make_pair(o);
    std::string chunk(32 * 1024, 'z');
    std::size_t most = 0;
    bool done = false;
    auto sender = [](WebSocket ws, std::string chunk, std::size_t& most, bool& done) -> Task<void> {
      for (int i = 0; i < 200; ++i) {  // 6.4 MB to a peer that does not read yet
        co_await ws.send_binary(chunk);
        most = std::max(most, ws.buffered_amount());
      }
      done = true;
    };
    auto task = sender(p.server, chunk, most, done);
    spawn(std::move(task));
    co_await sleep(200);
    EXPECT_FALSE(done);  // held by backpressure
    EXPECT_LE(most, o.high_water_mark + 2 * chunk.size());
    std::size_t got = 0;
    while (got < 200) {
      auto ev = co_await p.peer.next();
      if (ev.kind == Event::Kind::kBinary) ++got;
    }
    co_await sleep(1);
    EXPECT_TRUE(done);
    EXPECT_LE(most, o.high_water_mark + 2 * chunk.size());
    p.server.terminate();
  }());
}

TEST(WsRules, SendNowaitPastTheBufferLimitCloses1008) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Options o;
    o.max_buffered = 256 * 1024;
    Pair p = make_pair(o);
    std::string chunk(64 * 1024, 'q');
    int sent = 0;
    while (p.server.send_nowait(chunk, true) && sent < 1000) ++sent;
    EXPECT_LT(sent, 1000);
    EXPECT_FALSE(p.server.is_open());
    // The peer gets what was queued, then the close frame with 1008.
    for (;;) {
      auto ev = co_await p.peer.next();
      if (ev.kind == Event::Kind::kBinary) continue;
      EXPECT_EQ(ev.kind, Event::Kind::kClose);
      EXPECT_EQ(ev.code, 1008);
      break;
    }
    p.server.terminate();
  }());
}

TEST(WsRules, HubSharesOneFrameAndForgetsClosedSockets) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Pair a = make_pair(), b = make_pair(), c = make_pair();
    Hub hub;
    for (Pair* p : {&a, &b, &c}) hub.subscribe(p->server, "news");
    hub.subscribe(a.server, "news");  // twice: once
    EXPECT_EQ(hub.subscribers("news"), 3u);
    c.server.terminate();
    EXPECT_EQ(hub.publish("news", "extra"), 2u);
    EXPECT_EQ(hub.subscribers("news"), 2u);
    for (Pair* p : {&a, &b}) {
      auto ev = co_await p->peer.next();
      EXPECT_EQ(ev.kind, Event::Kind::kText);
      EXPECT_EQ(ev.data, "extra");
    }
    std::vector<WebSocket> all{a.server, b.server};
    EXPECT_EQ(broadcast(all, "to all", true), 2u);
    auto ev = co_await b.peer.next();
    EXPECT_EQ(ev.kind, Event::Kind::kBinary);
    hub.unsubscribe(a.server, "news");
    EXPECT_EQ(hub.subscribers("news"), 1u);
    a.server.terminate();
    b.server.terminate();
  }());
}

// A broadcast's frame is shared: what each socket holds until the kernel took its copy is a small
// buffer at most (on io_uring the send is the kernel's from a buffer of the stream's; a fresh
// 4 KiB page per socket would make a broadcast to 10,000 fault in 40 MB).
TEST(WsRules, BroadcastHoldsLittleHeapPerSocketInFlight) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "mallinfo2 does not see the sanitizers' allocators";
#endif
  constexpr int kSockets = 500;
  if (!testing::raise_fd_limit(2 * kSockets + 200))
    GTEST_SKIP() << "fd limit below " << 2 * kSockets;
  Loop loop;
  run(loop, []() -> Task<void> {
    std::vector<Pair> pairs;
    Hub hub;
    for (int i = 0; i < kSockets; ++i) {
      pairs.push_back(make_pair());
      hub.subscribe(pairs.back().server, "all");
    }
    EXPECT_EQ(hub.publish("all", "warm"), std::size_t(kSockets));  // grows what a publish uses
    for (Pair& p : pairs) co_await p.peer.next();
    struct mallinfo2 before = mallinfo2();
    EXPECT_EQ(hub.publish("all", std::string(64, 'b')), std::size_t(kSockets));
    struct mallinfo2 after = mallinfo2();
    double per_socket =
        (double(after.uordblks + after.hblkhd) - double(before.uordblks + before.hblkhd)) /
        kSockets;
    std::printf("heap per socket while a broadcast is in flight: %.0f bytes\n", per_socket);
    EXPECT_LT(per_socket, 512.0);
    for (Pair& p : pairs) {
      auto ev = co_await p.peer.next();
      EXPECT_EQ(ev.data.size(), 64u);
    }
    for (Pair& p : pairs) p.server.terminate();
  }());
  loop.run();
}

// Removals fill the hole with the last socket: the index of every moved socket must follow, or a
// later unsubscribe removes the wrong one (each socket is looked up by id, not scanned for).
TEST(WsRules, HubRemovalsKeepEverySocketFindable) {
  Loop loop;
  run(loop, []() -> Task<void> {
    std::vector<Pair> pairs;
    for (int i = 0; i < 6; ++i) pairs.push_back(make_pair());
    Hub hub;
    for (Pair& p : pairs) hub.subscribe(p.server, "t");
    hub.unsubscribe(pairs[1].server, "t");  // pairs[5] moves into slot 1
    hub.unsubscribe(pairs[1].server, "t");  // not subscribed any more: nothing happens
    pairs[0].server.terminate();            // leaves at the publish; pairs[4] moves into slot 0
    EXPECT_EQ(hub.publish("t", "one"), 4u);
    hub.unsubscribe(pairs[5].server, "t");  // found where it moved to
    hub.unsubscribe(pairs[4].server, "t");
    EXPECT_EQ(hub.subscribers("t"), 2u);
    hub.subscribe(pairs[1].server, "t");  // back in
    EXPECT_EQ(hub.publish("t", "two"), 3u);
    for (int i : {2, 3, 4, 5}) {
      auto ev = co_await pairs[i].peer.next();
      EXPECT_EQ(ev.data, "one") << i;
    }
    for (int i : {1, 2, 3}) {
      auto ev = co_await pairs[i].peer.next();
      EXPECT_EQ(ev.data, "two") << i;
    }
    for (Pair& p : pairs) p.server.terminate();
    EXPECT_EQ(hub.publish("t", "none"), 0u);
    EXPECT_EQ(hub.subscribers("t"), 0u);
  }());
}

// Thousands of subscribes and unsubscribes in a pseudo-random order over scattered ids (the
// index's deletions shift probe chains back): every member stays findable, no one is there twice.
TEST(WsRules, HubIndexFollowsManyChanges) {
  Loop loop;
  {
    constexpr int kSockets = 300;
    std::vector<Pair> pairs;
    uint32_t x = 12345;
    while (pairs.size() < kSockets) {  // ids scattered (one kept in ~8): their slots collide
      x = x * 1103515245u + 12345u;
      Pair p = make_pair();
      if ((x >> 16) % 8 == 0)
        pairs.push_back(std::move(p));
      else
        p.server.terminate();
    }
    Hub hub;
    std::vector<bool> in(kSockets, false);
    std::size_t members = 0;
    for (int step = 0; step < 5000; ++step) {
      x = x * 1103515245u + 12345u;
      int i = static_cast<int>((x >> 8) % kSockets);
      if ((x >> 4) & 1) {
        hub.subscribe(pairs[i].server, "t");
        members += !in[i];
        in[i] = true;
      } else {
        hub.unsubscribe(pairs[i].server, "t");
        members -= in[i];
        in[i] = false;
      }
      if (hub.subscribers("t") != members) {
        ADD_FAILURE() << "step " << step << ": " << hub.subscribers("t") << " != " << members;
        break;
      }
    }
    for (int i = 0; i < kSockets; ++i) {  // each removal takes exactly its own socket
      std::size_t before = hub.subscribers("t");
      hub.unsubscribe(pairs[i].server, "t");
      EXPECT_EQ(hub.subscribers("t"), before - (in[i] ? 1 : 0)) << i;
    }
    EXPECT_EQ(hub.subscribers("t"), 0u);
    for (Pair& p : pairs) p.server.terminate();
  }
  loop.run();
}

TEST(WsRules, LinkedHubsPublishAcrossThreads) {
  std::promise<void> b_ready;
  auto ready = b_ready.get_future();
  std::string got_b;
  std::thread tb([&] {
    Loop loop;
    run(loop, [](std::promise<void>& ready, std::string& got) -> Task<void> {
      Hub hub;
      hub.link("ws-test-relay");
      Pair p = make_pair();
      hub.subscribe(p.server, "t");
      ready.set_value();
      auto ev = co_await p.peer.next();  // published on the other thread
      got = ev.data;
      p.server.terminate();
    }(b_ready, got_b));
    loop.run();  // the socket's read loop ends before the loop goes
  });
  ready.wait();
  Loop loop;
  run(loop, []() -> Task<void> {
    Hub hub;
    hub.link("ws-test-relay");
    Pair p = make_pair();
    hub.subscribe(p.server, "t");
    EXPECT_EQ(hub.publish("t", "across"), 1u);  // the local socket; the other thread's too
    auto ev = co_await p.peer.next();
    EXPECT_EQ(ev.data, "across");
    p.server.terminate();
  }());
  loop.run();
  tb.join();
  EXPECT_EQ(got_b, "across");
}

TEST(WsRules, SendAfterCloseThrowsEpipe) {
  Loop loop;
  run(loop, []() -> Task<void> {
    Pair p = make_pair();
    p.server.close();
    bool threw = false;
    try {
      co_await p.server.send("late");
    } catch (const Error& e) {
      threw = e.code().value() == EPIPE;
    }
    EXPECT_TRUE(threw);
    EXPECT_THROW(p.server.close(1005 + 1), std::invalid_argument);  // 1006 may not be sent
    p.server.terminate();
  }());
  loop.run();  // both sockets' read loops end before the loop goes
}

}  // namespace
}  // namespace brigade::ws
