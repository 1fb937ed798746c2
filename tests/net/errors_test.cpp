// Failures come back as brigade::Error with the errno and the operation, never as a signal.
#include <sys/socket.h>

#include "net_support.hpp"

using namespace net_test;

namespace {
void linger_zero(Stream& s) {
  linger lg{1, 0};
  ASSERT_EQ(::setsockopt(s.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
}
}  // namespace

TEST(NetErrors, PeerResetGivesConnResetOnRead) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  // Waits for one byte, then resets the connection (SO_LINGER 0 + close sends RST).
  server.serve([](Stream s) -> Task<void> {
    char c;
    co_await s.read(std::span<char>(&c, 1));
    linger_zero(s);
    s.close();
  });
  auto client = [&]() -> Task<Error> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_await s.write("x");
    try {
      char buf[16];
      co_await s.read(buf);  // pending when the RST arrives
    } catch (const Error& e) {
      co_return e;
    }
    co_return Error(0, "none");
  };
  Error e = run_test(loop, client());
  EXPECT_EQ(e.errno_value(), ECONNRESET);
  EXPECT_EQ(e.operation(), "read");
  drain(loop, server);
}

TEST(NetErrors, WriteAfterPeerClosedGivesEpipeNotSigpipe) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve([](Stream s) { s.close(); });
  auto client = [&]() -> Task<Error> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    char buf[16];
    EXPECT_EQ(co_await s.read(buf), 0u);  // the peer's FIN
    std::string chunk(4096, 'a');
    for (int i = 0; i < 1000; ++i) {
      try {
        co_await s.write(chunk);  // the first one draws an RST; then the socket is broken
      } catch (const Error& e) {
        co_return e;
      }
      co_await brigade::sleep(1);
    }
    co_return Error(0, "none");
  };
  Error e = run_test(loop, client());
  EXPECT_TRUE(e.errno_value() == EPIPE || e.errno_value() == ECONNRESET) << e.what();
  EXPECT_EQ(e.operation(), "write");
  drain(loop, server);
}

TEST(NetErrors, ConnectRefused) {
  Loop loop;
  HangGuard guard(loop, 20000);
  uint16_t port;
  {
    Listener gone = listen_tcp(loop, "127.0.0.1", 0);
    port = gone.port();
  }
  try {
    run_test(loop, connect(loop, "127.0.0.1", port));
    ADD_FAILURE() << "connected to a closed port";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ECONNREFUSED);
    EXPECT_EQ(e.operation(), "connect");
  }
}

TEST(NetErrors, ConnectTakesNumericAddressesOnly) {
  Loop loop;
  try {
    run_test(loop, connect(loop, "localhost", 80));
    ADD_FAILURE() << "a hostname was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
  }
  EXPECT_THROW(listen_tcp(loop, "not-an-ip", 0), Error);
}

TEST(NetErrors, ConnectCancelledByStopToken) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  std::stop_source stop;
  stop.request_stop();
  EXPECT_THROW(run_test(loop, connect(loop, "127.0.0.1", server.port(), stop.get_token())),
               CancelledError);
}

TEST(NetErrors, ConnectUnixMissingPath) {
  Loop loop;
  try {
    run_test(loop, connect_unix(loop, "/nonexistent/brigade.sock"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.operation(), "connect");
  }
}

TEST(NetErrors, ListenOnBusyPortFails) {
  Loop loop;
  Listener a = listen_tcp(loop, "127.0.0.1", 0);
  try {
    Listener b = listen_tcp(loop, "127.0.0.1", a.port());
    ADD_FAILURE() << "two listeners on one port without SO_REUSEPORT";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EADDRINUSE);
    EXPECT_EQ(e.operation(), "listen");
  }
}

TEST(NetErrors, ReusePortLetsTwoListenersShareAPort) {
  Loop loop;
  Listener a = listen_tcp(loop, "127.0.0.1", 0, {.reuse_port = true});
  Listener b = listen_tcp(loop, "127.0.0.1", a.port(), {.reuse_port = true});
  EXPECT_EQ(a.port(), b.port());
}

TEST(NetErrors, CloseCancelsPendingAccept) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  Timer t(loop);
  t.start(10, [&] { server.close(); });
  EXPECT_THROW(run_test(loop, server.accept()), CancelledError);
  EXPECT_FALSE(server.is_open());
}

TEST(NetErrors, AdoptedListenerAccepts) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Listener original = listen_tcp(loop, "127.0.0.1", 0);
  uint16_t port = original.port();
  int fd = ::dup(original.fd());
  original.close();
  Listener adopted = Listener::adopt(loop, fd);
  EXPECT_EQ(adopted.port(), port);
  adopted.serve(echo);
  auto client = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", port);
    co_await s.write("adopted");
    std::string got(7, '\0');
    co_await s.read_full(got);
    co_return got;
  };
  EXPECT_EQ(run_test(loop, client()), "adopted");
  drain(loop, adopted);
}
