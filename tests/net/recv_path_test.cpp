// The read path's edge cases, on both backends (on io_uring a socket's bytes come through one
// multishot receive into the loop's buffer ring, armed at the first read, paused past 64 KiB
// unread): a reader that stops reading while the peer goes on, the peer's half-close, a reset
// and a close while a receive is armed, more connections sending at once than the ring has
// buffers, tiny reads of a large transfer, and big transfers both ways.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "../../src/loop/poller.hpp"
#include "net_support.hpp"

using namespace net_test;

namespace {

// Reads until EOF (or `limit` bytes) in reads of at most `chunk` bytes.
Task<std::string> recv_test_read(Stream& s, std::size_t chunk, std::size_t limit = SIZE_MAX) {
  std::string out;
  std::vector<char> buf(chunk);
  while (out.size() < limit) {
    std::size_t n =
        co_await s.read(std::span<char>(buf.data(), std::min(chunk, limit - out.size())));
    if (n == 0) break;
    out.append(buf.data(), n);
  }
  co_return out;
}

bool ring_receives_expected(const Loop& loop) {
  const char* off = std::getenv("BRIGADE_URING_RECV");
  return std::string(loop.backend()) == "io_uring" && !(off && std::strcmp(off, "0") == 0) &&
         brigade::uring_recv_unavailable_reason().empty();
}

}  // namespace

TEST(RecvPath, LoopSaysWhetherItReceivesOnTheRing) {
  Loop loop;
  EXPECT_EQ(loop.io_recvs(), ring_receives_expected(loop)) << loop.backend();
  if (std::string(loop.backend()) == "epoll") {
    EXPECT_FALSE(loop.io_recvs());
  }
}

namespace {

// Sends from `bytes` past `off` until the socket takes no more; returns how many it took.
std::size_t recv_test_push(int fd, const std::vector<char>& bytes, std::size_t off) {
  std::size_t took = 0;
  while (off + took < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off + took, bytes.size() - off - took,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    took += std::size_t(n);
  }
  return took;
}

}  // namespace

// A reader that stops reading while the peer pushes 32 MiB: the stream stops taking the bytes,
// so the peer is held back by TCP (as when nobody read() on epoll) instead of everything
// landing in the stream; once the reader reads again every byte comes, in order.
TEST(RecvPath, PausedReaderHoldsThePeerBackAndLosesNothing) {
  constexpr std::size_t kTotal = 32u << 20;
  std::vector<char> data = pattern(kTotal, 11);
  Loop loop;
  HangGuard guard(loop, 60000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  int fd = connect_blocking(server.port());
  ASSERT_GE(fd, 0);
  bool window_done = false;
  std::size_t taken_while_paused = 0;
  auto server_side = [&]() -> Task<std::string> {
    Stream s = co_await server.accept();
    char buf[65536];
    std::size_t n = co_await s.read(buf);  // waits (the receive armed) for the first bytes
    while (!window_done) co_await brigade::sleep(5);  // then reads nothing a while
    std::string rest = co_await recv_test_read(s, 65536);
    co_return std::string(buf, n) + rest;
  };
  auto client = [&]() -> Task<void> {
    co_await brigade::sleep(20);  // the server's read waits
    std::size_t off = 0;
    for (int i = 0; i < 25; ++i) {  // 250 ms of pushing at a reader that does not read
      off += recv_test_push(fd, data, off);
      co_await brigade::sleep(10);
    }
    taken_while_paused = off;
    window_done = true;
    while (off < kTotal) {
      off += recv_test_push(fd, data, off);
      co_await brigade::sleep(1);
    }
    ::shutdown(fd, SHUT_WR);
  };
  auto [got, unused] = run_test(loop, when_all(server_side(), client()));
  (void)unused;
  ::close(fd);
  EXPECT_LT(taken_while_paused, kTotal / 2) << "the paused stream went on taking the bytes";
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
  drain(loop, server);
}

// The peer half-closes: the reader gets its bytes, then the end; the stream still writes, and
// the peer reads the answer after its own shutdown.
TEST(RecvPath, PeerHalfCloseEndsTheReadsNotTheWrites) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  auto server_side = [&]() -> Task<std::string> {
    Stream s = co_await server.accept();
    std::string got = co_await recv_test_read(s, 4096);
    EXPECT_EQ(co_await recv_test_read(s, 4096), "") << "the end repeats";
    co_await s.write("answer after the end: " + got);
    co_await s.shutdown();
    co_return got;
  };
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_await s.write("question");
    co_await brigade::sleep(20);  // the server's receive is armed and waiting by now
    co_await s.shutdown();
    co_return co_await read_all(s);
  };
  auto [question, answer] = run_test(loop, when_all(server_side(), client()));
  EXPECT_EQ(question, "question");
  EXPECT_EQ(answer, "answer after the end: question");
  drain(loop, server);
}

// The peer resets while a read waits (the receive armed): the read fails with ECONNRESET, as
// read() does on epoll, and the stream stays closable.
TEST(RecvPath, ResetWhileAReadWaits) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  int client_fd = -1;
  auto server_side = [&]() -> Task<int> {
    Stream s = co_await server.accept();
    char buf[64];
    try {
      std::size_t n = co_await s.read(buf);  // "x"
      EXPECT_EQ(n, 1u);
      co_await s.read(buf);  // waits: the reset comes
    } catch (const Error& e) {
      s.close();
      co_return e.errno_value();
    }
    co_return 0;
  };
  auto client = [&]() -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_await s.write("x");
    co_await brigade::sleep(30);
    client_fd = s.release();
    linger lg{1, 0};
    EXPECT_EQ(::setsockopt(client_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    ::close(client_fd);  // RST
  };
  auto [err, unused] = run_test(loop, when_all(server_side(), client()));
  (void)unused;
  EXPECT_EQ(err, ECONNRESET);
  drain(loop, server);
}

// Closed and destroyed with a read waiting: the read is cancelled, the fd is really closed at
// once (the peer reads the end: no receive still holds the file), and bytes the peer sends
// after that reach nothing (ASan watches the buffers).
TEST(RecvPath, ClosedAndDestroyedWithAReadWaiting) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  bool cancelled = false;
  auto reader = [&](Stream& s) -> Task<void> {
    char buf[64];
    try {
      co_await s.read(buf);
    } catch (const CancelledError&) {
      cancelled = true;
    }
  };
  auto server_side = [&]() -> Task<void> {
    {
      Stream s = co_await server.accept();
      Task<void> r = reader(s);
      spawn(std::move(r), "reader");
      co_await brigade::sleep(20);  // the read waits, its receive armed
      s.close();
      co_await brigade::sleep(1);
      EXPECT_TRUE(cancelled);
      Stream t = co_await server.accept();
      char buf[8];
      Task<void> r2 = [](Stream& t, char* buf) -> Task<void> {
        try {
          co_await t.read(std::span<char>(buf, 8));
        } catch (const CancelledError&) {
        }
      }(t, buf);
      spawn(std::move(r2), "second reader");
      co_await brigade::sleep(20);
    }  // `t` destroyed with its read waiting
    co_await brigade::sleep(20);
  };
  auto client = [&]() -> Task<std::pair<std::string, std::string>> {
    Stream a = co_await connect(loop, "127.0.0.1", server.port());
    std::string end_a = co_await read_all(a);  // the end, once the server closed
    (void)a.write_nowait("late bytes");
    Stream b = co_await connect(loop, "127.0.0.1", server.port());
    std::string end_b = co_await read_all(b);
    (void)b.write_nowait("late bytes");
    co_await brigade::sleep(10);
    co_return std::pair{end_a, end_b};
  };
  auto [unused, ends] = run_test(loop, when_all(server_side(), client()));
  (void)unused;
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(ends.first, "");
  EXPECT_EQ(ends.second, "");
  drain(loop, server);
}

// One stream's hook closes every stream, some with completions later in the same batch: those
// reach no one (no use after free under ASan), and the peers all see the end.
TEST(RecvPath, StreamsClosedWhileTheirCompletionsWait) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0, {.backlog = 256});
  constexpr int kClients = 64;
  std::vector<int> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(connect_blocking(server.port()));
  std::vector<Stream> streams;
  int hooks = 0;
  auto server_side = [&]() -> Task<void> {
    for (int i = 0; i < kClients; ++i) streams.push_back(co_await server.accept());
    for (Stream& s : streams) {
      char buf[16];
      EXPECT_EQ(s.try_read(buf), -EAGAIN);  // every receive armed
      s.set_read_hook(
          [](void* ctx) {
            auto* all = static_cast<std::vector<Stream>*>(ctx);
            for (Stream& t : *all) t.close();
          },
          &streams);
    }
    co_await brigade::sleep(10);
    for (int fd : clients) EXPECT_EQ(::send(fd, "ping", 4, MSG_NOSIGNAL), 4);  // one batch
    co_await brigade::sleep(50);
    for (Stream& s : streams) hooks += s.is_open() ? 0 : 1;
    streams.clear();
  };
  run_test(loop, server_side());
  EXPECT_EQ(hooks, kClients);
  for (int fd : clients) {  // the end, or a reset where "ping" was left unread (epoll)
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 5000), 1) << "the server's close reaches the peer";
    char c;
    ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << n << " " << std::strerror(errno);
    ::close(fd);
  }
  drain(loop, server);
}

// More connections send at once than the ring has buffers (256 of 2 KiB): some receives end
// for want of a buffer and are armed again, and every connection still gets its bytes whole.
TEST(RecvPath, MoreSendersThanRingBuffers) {
  constexpr int kClients = 320;
  constexpr std::size_t kEach = 60000;  // 30 buffers each
  Loop loop;
  HangGuard guard(loop, 60000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0, {.backlog = 512});
  std::vector<int> clients;
  for (int i = 0; i < kClients; ++i) {
    int fd = connect_blocking(server.port());
    ASSERT_GE(fd, 0) << i;
    clients.push_back(fd);
  }
  int whole = 0;
  auto one = [&](Stream s, int i) -> Task<void> {
    std::string got = co_await recv_test_read(s, 65536, kEach);
    std::vector<char> want = pattern(kEach, unsigned(i));
    if (got.size() == kEach && std::equal(got.begin(), got.end(), want.begin())) ++whole;
  };
  auto server_side = [&]() -> Task<void> {
    std::vector<Task<void>> readers;
    for (int i = 0; i < kClients; ++i) {
      Stream s = co_await server.accept();
      readers.push_back(one(std::move(s), i));
    }
    auto sender = [&]() -> Task<void> {
      co_await brigade::sleep(20);          // every reader waits, its receive armed
      for (int i = 0; i < kClients; ++i) {  // all of it before the loop's next wait
        std::vector<char> bytes = pattern(kEach, unsigned(i));
        EXPECT_EQ(::send(clients[i], bytes.data(), kEach, MSG_NOSIGNAL), ssize_t(kEach));
      }
    };
    readers.push_back(sender());
    co_await when_all(std::move(readers));
  };
  run_test(loop, server_side());
  EXPECT_EQ(whole, kClients);
  for (int fd : clients) ::close(fd);
  drain(loop, server);
}

// 8 MiB read 7 bytes at a time: what each read leaves of a completion waits for the next one,
// in order.
TEST(RecvPath, TinyReadsKeepTheOrder) {
  constexpr std::size_t kTotal = 8u << 20;
  std::vector<char> data = pattern(kTotal, 13);
  Loop loop;
  HangGuard guard(loop, 120000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  auto server_side = [&]() -> Task<std::string> {
    Stream s = co_await server.accept();
    co_return co_await recv_test_read(s, 7);
  };
  auto client = [&]() -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_await s.write(std::span<const char>(data));
    co_await s.shutdown();
  };
  auto [got, unused] = run_test(loop, when_all(server_side(), client()));
  (void)unused;
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
  drain(loop, server);
}

// 64 MiB each way at once through an echo: every byte back, in order.
TEST(RecvPath, BigTransfersBothWays) {
  constexpr std::size_t kTotal = 64u << 20;
  std::vector<char> data = pattern(kTotal, 17);
  Loop loop;
  HangGuard guard(loop, 120000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve([](Stream s) { spawn(echo(std::move(s)), "echo"); });
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    auto writer = [&]() -> Task<void> {
      co_await s.write(std::span<const char>(data));
      co_await s.shutdown();
    };
    auto [unused, got] = co_await when_all(writer(), recv_test_read(s, 65536));
    (void)unused;
    co_return got;
  };
  std::string got = run_test(loop, client());
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
  drain(loop, server);
}
