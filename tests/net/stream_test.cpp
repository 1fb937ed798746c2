// Round trips, concurrency, backpressure and half-close over TCP and Unix sockets.
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "net_support.hpp"

using namespace net_test;

namespace {

std::string temp_socket_path(const char* name) {
  return "/tmp/brigade-net-" + std::to_string(::getpid()) + "-" + name + ".sock";
}

Task<std::string> echo_once(Stream s, std::string msg) {
  co_await s.write(msg);
  std::string got(msg.size(), '\0');
  std::size_t n = co_await s.read_full(got);
  got.resize(n);
  co_return got;
}

}  // namespace

TEST(Stream, TcpEchoRoundTrip) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  ASSERT_NE(server.port(), 0);
  server.serve(echo);
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    EXPECT_EQ(s.remote_endpoint().to_string(), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(s.local_endpoint().address, "127.0.0.1");
    EXPECT_NE(s.local_endpoint().port, 0);
    EXPECT_TRUE(s.is_socket());
    EXPECT_EQ(s.set_no_delay(true), 0);
    EXPECT_EQ(s.set_keep_alive(true, 30), 0);
    std::string a = co_await echo_once(std::move(s), "hello brigade");
    co_return a;
  };
  EXPECT_EQ(run_test(loop, client()), "hello brigade");
  EXPECT_EQ(server.accepted(), 1u);
  drain(loop, server);
}

TEST(Stream, UnixEchoRoundTrip) {
  Loop loop;
  HangGuard guard(loop, 20000);
  std::string path = temp_socket_path("echo");
  ::unlink(path.c_str());
  {
    Listener server = listen_unix(loop, path);
    EXPECT_EQ(server.local_endpoint().to_string(), path);
    EXPECT_EQ(server.port(), 0);
    server.serve(echo);
    auto client = [&]() -> Task<std::string> {
      Stream s = co_await connect_unix(loop, path);
      co_return co_await echo_once(std::move(s), "over a unix socket");
    };
    EXPECT_EQ(run_test(loop, client()), "over a unix socket");
    drain(loop, server);
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "close() unlinks the socket file";
}

TEST(Stream, ManyConcurrentConnections) {
  Loop loop;
  HangGuard guard(loop, 60000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve(echo);
  constexpr int kClients = 200;
  auto one = [&](int i) -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    std::string msg = "client " + std::to_string(i) + std::string(i * 7, 'x');
    for (int round = 0; round < 3; ++round) {
      co_await s.write(msg);
      std::string got(msg.size(), '\0');
      co_await s.read_full(got);
      EXPECT_EQ(got, msg);
    }
  };
  std::vector<Task<void>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(one(i));
  run_test(loop, when_all(std::move(clients)));
  EXPECT_EQ(server.accepted(), static_cast<uint64_t>(kClients));
  drain(loop, server);
}

// 64 MiB from a fast writer to a slow reader: the writer must be held back (backpressure),
// the write queue must stay under the high-water mark, and every byte must arrive in order.
TEST(Stream, LargeTransferWithBackpressure) {
  Loop loop;
  HangGuard guard(loop, 120000);
  constexpr std::size_t kTotal = 64u << 20, kChunk = 1u << 20;
  std::vector<char> data = pattern(kTotal);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  std::size_t received = 0, written = 0, max_ahead = 0, max_queue = 0;
  bool intact = true;

  auto slow_reader = [&](Stream s) -> Task<void> {
    std::vector<char> buf(16384);
    for (int reads = 1;; ++reads) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      if (intact && !std::equal(buf.begin(), buf.begin() + n, data.begin() + received))
        intact = false;
      received += n;
      if (reads % 64 == 0) co_await brigade::sleep(1);
    }
  };
  auto writer = [&]() -> Task<void> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    for (std::size_t off = 0; off < kTotal; off += kChunk) {
      co_await s.write(std::span<const char>(data.data() + off, kChunk));
      written = off + kChunk;
      max_queue = std::max(max_queue, s.write_queue_size());
      max_ahead = std::max(max_ahead, written - std::min(written, received));
    }
    co_await s.shutdown();
  };
  auto server_side = [&]() -> Task<void> { co_await slow_reader(co_await server.accept()); };
  run_test(loop, when_all(server_side(), writer()));
  EXPECT_EQ(received, kTotal);
  EXPECT_TRUE(intact);
  EXPECT_LE(max_queue, kDefaultHighWaterMark);
  // Kernel socket buffers hold a few MiB; without backpressure the writer would be 60+ ahead.
  EXPECT_LT(max_ahead, 24u << 20) << "writer ran ahead of the reader";
}

TEST(Stream, HalfCloseThenReadReply) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  // Reads to EOF, then answers with the byte count on the still-open write side.
  server.serve([](Stream s) -> Task<void> {
    std::string all = co_await read_all(s);
    co_await s.write("got " + std::to_string(all.size()));
    co_await s.shutdown();
  });
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_await s.write("hello world");
    co_await s.shutdown();
    EXPECT_THROW(co_await s.write("late"), Error) << "write after end";
    co_return co_await read_all(s);
  };
  EXPECT_EQ(run_test(loop, client()), "got 11");
  drain(loop, server);
}

TEST(Stream, CloseWhileReadPendingCancelsTheReader) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve(echo);
  auto client = [&]() -> Task<int> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    Timer t(loop);
    t.start(20, [&] { s.close(); });
    int outcome = 0;
    try {
      char buf[64];
      co_await s.read(buf);
      outcome = 1;
    } catch (const CancelledError& e) {
      EXPECT_EQ(e.errno_value(), ECANCELED);
      EXPECT_EQ(e.operation(), "read");
      outcome = 2;
    }
    EXPECT_FALSE(s.is_open());
    EXPECT_EQ(s.fd(), -1);
    try {
      co_await s.write("x");
    } catch (const Error& e) {
      EXPECT_EQ(e.errno_value(), EBADF);
    }
    co_return outcome;
  };
  EXPECT_EQ(run_test(loop, client()), 2);
  drain(loop, server);
}

TEST(Stream, DestroyWhileReadPendingCancelsTheReader) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve(echo);
  auto client = [&]() -> Task<bool> {
    auto s = std::make_unique<Stream>(co_await connect(loop, "127.0.0.1", server.port()));
    Timer t(loop);
    t.start(20, [&] { s.reset(); });
    try {
      char buf[64];
      co_await s->read(buf);
    } catch (const CancelledError&) {
      co_return s == nullptr;
    }
    co_return false;
  };
  EXPECT_TRUE(run_test(loop, client()));
  drain(loop, server);
}

TEST(Stream, StopTokenCancelsReadAndStreamStaysUsable) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve(echo);
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    std::stop_source stop;
    Timer t(loop);
    t.start(10, [&] { stop.request_stop(); });
    char buf[64];
    EXPECT_THROW(co_await s.read(buf, stop.get_token()), CancelledError);
    co_await s.write("still works");
    std::size_t n = co_await s.read(buf);
    co_return std::string(buf, n);
  };
  EXPECT_EQ(run_test(loop, client()), "still works");
  drain(loop, server);
}

TEST(Stream, SecondConcurrentReadIsBusy) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve(echo);
  auto client = [&]() -> Task<int> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    char a[16], b[16];
    std::size_t first_n = 0;
    spawn([](Stream& s, std::span<char> buf, std::size_t& n) -> Task<void> {
      n = co_await s.read(buf);
    }(s, a, first_n));
    int err = 0;
    try {
      co_await s.read(b);
    } catch (const Error& e) {
      err = e.errno_value();
    }
    co_await s.write("z");
    while (first_n == 0) co_await brigade::sleep(1);
    EXPECT_EQ(a[0], 'z');
    co_return err;
  };
  EXPECT_EQ(run_test(loop, client()), EBUSY);
  drain(loop, server);
}

// The callback-style API: hooks, try_read and write_nowait, as the HTTP server may use them.
namespace {
struct HookEcho {
  Stream s;
  static void on_readable(void* ctx) {
    auto* self = static_cast<HookEcho*>(ctx);
    char buf[4096];
    for (;;) {
      long n = self->s.try_read(buf);
      if (n == -EAGAIN) return;
      if (n <= 0) {
        self->s.close();
        return;
      }
      EXPECT_EQ(self->s.write_nowait(std::span<const char>(buf, static_cast<std::size_t>(n))), 0);
    }
  }
};
}  // namespace

TEST(Stream, ReadHookAndWriteNowait) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0, {.no_delay = true});
  std::vector<std::unique_ptr<HookEcho>> conns;
  server.serve([&](Stream s) {
    auto c = std::make_unique<HookEcho>(HookEcho{std::move(s)});
    c->s.set_read_hook(&HookEcho::on_readable, c.get());
    HookEcho::on_readable(c.get());  // data may be there already
    conns.push_back(std::move(c));
  });
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    std::string all;
    for (int i = 0; i < 50; ++i) {
      std::string msg = "ping " + std::to_string(i) + ";";
      co_await s.write(msg);
      std::string got(msg.size(), '\0');
      co_await s.read_full(got);
      all += got;
    }
    co_return all;
  };
  std::string all = run_test(loop, client());
  EXPECT_EQ(all.substr(0, 14), "ping 0;ping 1;");
  EXPECT_EQ(all.size(), 390u);
  drain(loop, server);
}

// write_nowait queues beyond the high-water mark; the drain hook says when it is all out.
TEST(Stream, WriteNowaitQueuesAndDrains) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  constexpr std::size_t kTotal = 16u << 20;
  std::vector<char> data = pattern(kTotal, 7);
  std::string received;
  server.serve([&](Stream s) -> Task<void> { received = co_await read_all(s); });
  auto client = [&]() -> Task<int> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    int drains = 0;
    s.set_drain_hook([](void* ctx) { ++*static_cast<int*>(ctx); }, &drains);
    EXPECT_EQ(s.write_nowait(std::span<const char>(data)), 0);
    EXPECT_GT(s.write_queue_size(), kDefaultHighWaterMark) << "16 MiB cannot all fit the kernel";
    co_await s.flush();
    EXPECT_EQ(s.write_queue_size(), 0u);
    s.end();
    co_await brigade::sleep(50);
    co_return drains;
  };
  EXPECT_EQ(run_test(loop, client()), 1);
  drain(loop, server);  // the server may still be reading on a loaded machine: wait for its end
  EXPECT_EQ(received.size(), kTotal);
  EXPECT_TRUE(std::equal(received.begin(), received.end(), data.begin()));
}

TEST(Stream, UnrefLetsTheLoopExit) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve(echo);
  Stream s = run_test(loop, connect(loop, "127.0.0.1", server.port()));
  server.unref();
  EXPECT_TRUE(s.has_ref());
  s.unref();
  EXPECT_FALSE(s.has_ref());
  // The accepted side is ref'd: let the echo close it by ending ours.
  s.end();
  loop.run();  // returns: nothing ref'd keeps it alive once the server's echo ended
  SUCCEED();
}
