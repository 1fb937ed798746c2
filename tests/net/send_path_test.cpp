// The write path's edge cases, on both backends (on io_uring the kernel performs the sends
// from the stream's own buffers, completed later): a reset while a send is in flight, a stream
// destroyed or closed with sends in flight, a write larger than the socket takes at once,
// writes after shutdown, and many connections answered and closed in the same iteration.
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

#include "net_support.hpp"

using namespace net_test;

namespace {

void linger_zero(int fd) {
  linger lg{1, 0};
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
}

// Reads until EOF or an error (a reset), counting the bytes.
Task<std::size_t> count_until_end(Stream& s) {
  std::size_t total = 0;
  char buf[65536];
  try {
    for (;;) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      total += n;
    }
  } catch (const Error&) {
  }
  co_return total;
}

}  // namespace

TEST(SendPath, LoopNamesItsBackend) {
  Loop loop;
  const char* env = std::getenv("BRIGADE_BACKEND");
  std::string name = loop.backend();
  EXPECT_TRUE(name == "io_uring" || name == "epoll") << name;
  if (env && std::strcmp(env, "epoll") == 0) {
    EXPECT_EQ(name, "epoll");
  }
  EXPECT_EQ(loop.io_sends(), name == "io_uring");
}

// The peer resets while the server's bytes wait for room in its socket: the write fails with
// the errno a send() would have had, and the stream stays closable.
TEST(SendPath, PeerResetWhileSendInFlight) {
  std::vector<char> big = pattern(32u << 20);
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  int client_fd = -1;
  auto server_side = [&]() -> Task<Error> {
    Stream s = co_await server.accept();
    EXPECT_EQ(s.write_nowait(std::span<const char>(big)), 0);
    co_await brigade::sleep(20);  // the kernel holds what fits; the rest waits
    EXPECT_GT(s.write_queue_size(), 0u) << "32 MiB cannot all fit an unread socket";
    linger_zero(client_fd);
    ::close(client_fd);  // RST
    try {
      co_await s.flush();
    } catch (const Error& e) {
      co_return e;
    }
    co_return Error(0, "none");
  };
  auto client = [&]() -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    client_fd = s.release();  // never read: the server's sends stay in flight
  };
  auto [e, unused] = run_test(loop, when_all(server_side(), client()));
  (void)unused;
  EXPECT_TRUE(e.errno_value() == ECONNRESET || e.errno_value() == EPIPE) << e.what();
  EXPECT_EQ(e.operation(), "flush");
  drain(loop, server);
}

// Destroyed with megabytes unsent: nothing the kernel still reads is freed (ASan watches), the
// fd is really closed (the peer reaches the end), and the loop has nothing left to wait for.
TEST(SendPath, StreamDestroyedWithSendsInFlight) {
  std::vector<char> big = pattern(16u << 20, 3);
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  std::size_t got = 0;
  auto server_side = [&]() -> Task<void> {
    {
      Stream s = co_await server.accept();
      EXPECT_EQ(s.write_nowait(std::span<const char>(big)), 0);
      co_await brigade::sleep(10);
      EXPECT_GT(s.write_queue_size(), 0u);
      std::vector<char> more(1u << 20, 'm');
      EXPECT_EQ(s.write_nowait(std::span<const char>(more)), 0);
    }  // destroyed here, sends in flight
    co_await brigade::sleep(10);
  };
  auto client = [&]() -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_await brigade::sleep(30);  // the server's stream is gone by now
    got = co_await count_until_end(s);
  };
  run_test(loop, when_all(server_side(), client()));
  EXPECT_LT(got, big.size() + (1u << 20)) << "the unsent bytes are discarded";
  drain(loop, server);
}

// close() (not destroy) with a send in flight: the same, and the stream reports closed.
TEST(SendPath, CloseWithSendInFlightThenWriteFails) {
  std::vector<char> big = pattern(16u << 20, 5);
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  auto server_side = [&]() -> Task<int> {
    Stream s = co_await server.accept();
    EXPECT_EQ(s.write_nowait(std::span<const char>(big)), 0);
    s.close();
    EXPECT_EQ(s.write_queue_size(), 0u);
    co_return s.write_nowait("late");
  };
  auto client = [&]() -> Task<std::size_t> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_return co_await count_until_end(s);
  };
  auto [err, got] = run_test(loop, when_all(server_side(), client()));
  EXPECT_EQ(err, EBADF);
  EXPECT_LE(got, big.size());
  drain(loop, server);
}

// One write far larger than the socket takes at once completes in several sends (partial on
// epoll, continued by the kernel or re-queued on io_uring), every byte in order, the queue never
// past the high-water mark.
TEST(SendPath, LargeWriteCompletesInSeveralSends) {
  constexpr std::size_t kTotal = 24u << 20;
  std::vector<char> data = pattern(kTotal, 9);
  Loop loop;
  HangGuard guard(loop, 60000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  std::string received;
  std::size_t queue_after = SIZE_MAX;
  auto server_side = [&]() -> Task<void> {
    Stream s = co_await server.accept();
    co_await s.write(std::span<const char>(data));
    queue_after = s.write_queue_size();
    co_await s.shutdown();
  };
  auto client = [&]() -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    char buf[32768];
    for (int reads = 1;; ++reads) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      received.append(buf, n);
      if (reads % 128 == 0) co_await brigade::sleep(1);  // a slow reader: the sends go short
    }
  };
  run_test(loop, when_all(server_side(), client()));
  ASSERT_EQ(received.size(), kTotal);
  EXPECT_TRUE(std::equal(received.begin(), received.end(), data.begin()));
  EXPECT_LE(queue_after, kDefaultHighWaterMark);
  drain(loop, server);
}

// After shutdown() every write fails with EPIPE, and the peer gets the bytes before it, then EOF.
TEST(SendPath, WritesAfterShutdownFail) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  auto server_side = [&]() -> Task<std::pair<int, int>> {
    Stream s = co_await server.accept();
    EXPECT_EQ(s.write_nowait("before;"), 0);
    co_await s.write("and this");
    co_await s.shutdown();
    int nowait = s.write_nowait("after");
    int awaited = 0;
    try {
      co_await s.write("after");
    } catch (const Error& e) {
      awaited = e.errno_value();
    }
    co_await s.shutdown();  // idempotent
    co_return std::pair{nowait, awaited};
  };
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_return co_await read_all(s);
  };
  auto [errs, text] = run_test(loop, when_all(server_side(), client()));
  EXPECT_EQ(errs.first, EPIPE);
  EXPECT_EQ(errs.second, EPIPE);
  EXPECT_EQ(text, "before;and this");
  drain(loop, server);
}

// Many connections answered with write_nowait and closed at once, in the same callback (HTTP's
// Connection: close): each client gets its whole answer, then EOF, as when the answer went out
// in a send() before the close.
TEST(SendPath, ManyConnectionsAnsweredAndClosedAtOnce) {
  Loop loop;
  HangGuard guard(loop, 60000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0, {.backlog = 512});
  constexpr int kClients = 200;
  std::vector<Stream> accepted;
  std::string answer(3000, 'a');
  server.serve([&](Stream s) {
    accepted.push_back(std::move(s));
    if (accepted.size() < kClients) return;
    for (Stream& a : accepted) EXPECT_EQ(a.write_nowait(answer), 0);
    accepted.clear();  // every one destroyed right after its write
  });
  int whole = 0;
  auto client = [&]() -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    std::string got = co_await read_all(s);
    if (got == answer) ++whole;
  };
  std::vector<Task<void>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(client());
  run_test(loop, when_all(std::move(clients)));
  EXPECT_EQ(whole, kClients);
  drain(loop, server);
}
