// The accept path's edge cases, on every backend and, on io_uring, both ways a listener accepts
// (one multishot accept request, or readiness and accept4 with BRIGADE_URING_ACCEPT=0): churn of
// thousands of short connections, a listener closed or destroyed from its own handler while the
// request is armed, running out of fds and serving again once they free up, accept() cancelled
// and resumed, accept() falling behind (the request paused and armed again), accept_backlog with
// connections the ring already took.
#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "../../src/loop/poller.hpp"
#include "net_support.hpp"

using namespace net_test;

namespace accept_path_test {

int open_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d)) ++n;
  ::closedir(d);
  return n;
}

// Runs the loop without blocking until `done` or about 5 s have passed.
template <typename Done>
bool spin_until(Loop& loop, Done done) {
  for (int i = 0; i < 5000 && !done(); ++i) {
    loop.run_once(false);
    if (!done()) ::usleep(1000);
  }
  return done();
}

// An accept() that waits 20 ms, then is cancelled through its stop token.
void cancel_an_accept(Loop& loop, Listener& server) {
  std::stop_source stop;
  Timer t(loop);
  t.start(20, [&] { stop.request_stop(); });
  EXPECT_THROW(run_test(loop, server.accept(stop.get_token())), CancelledError);
}

int tcp_socket() { return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }

bool connect_fd(int fd, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

}  // namespace accept_path_test

namespace apt = accept_path_test;

// Each test runs with multishot accepts allowed (true) and turned off (false); the switch is
// read when a loop is made.
class AcceptPath : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const char* old = std::getenv("BRIGADE_URING_ACCEPT");
    saved_ = old ? std::optional<std::string>(old) : std::nullopt;
    ::setenv("BRIGADE_URING_ACCEPT", GetParam() ? "1" : "0", 1);
  }
  void TearDown() override {
    if (saved_)
      ::setenv("BRIGADE_URING_ACCEPT", saved_->c_str(), 1);
    else
      ::unsetenv("BRIGADE_URING_ACCEPT");
  }
  bool ring_expected(const Loop& loop) const {
    return GetParam() && std::string(loop.backend()) == "io_uring" &&
           brigade::uring_accept_unavailable_reason().empty();
  }

 private:
  std::optional<std::string> saved_;
};

TEST_P(AcceptPath, LoopSaysWhetherItAcceptsOnTheRing) {
  Loop loop;
  EXPECT_EQ(loop.io_accepts(), ring_expected(loop)) << loop.backend();
}

// Every connection is answered with one byte and closed by the server; 40 clients at a time.
TEST_P(AcceptPath, ChurnOfThousandsOfShortConnections) {
  Loop loop;
  HangGuard guard(loop, 120000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve([](Stream s) -> Task<void> {
    co_await s.write("x");
    s.close();
  });
  constexpr int kConnections = 3000, kClients = 40;
  int answered = 0;
  auto client = [&](int n) -> Task<void> {
    for (int i = 0; i < n; ++i) {
      Stream s = co_await connect(loop, "127.0.0.1", server.port());
      if (co_await read_all(s) == "x") ++answered;
    }
  };
  std::vector<Task<void>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(client(kConnections / kClients));
  run_test(loop, when_all(std::move(clients)));
  EXPECT_EQ(answered, kConnections);
  EXPECT_EQ(server.accepted(), uint64_t{kConnections});
  EXPECT_EQ(server.dropped(), 0u);
  drain(loop, server);
}

// The first connection's handler closes the listener (then the second's destroys one) while
// more connections are accepted or pending: the rest are closed, nothing leaks, and the port
// refuses connections after.
TEST_P(AcceptPath, ClosedFromItsOwnHandlerWhileArmed) {
  int fds_before = apt::open_fds();
  {
    Loop loop;
    HangGuard guard(loop, 30000);
    auto server = std::make_unique<Listener>(listen_tcp(loop, "127.0.0.1", 0));
    uint16_t port = server->port();
    int served = 0;
    server->serve([&](Stream s) {
      ++served;
      s.close();
      server->close();
    });
    loop.run_once(false);  // armed (io_uring: the request is in the kernel)
    std::vector<int> clients;
    for (int i = 0; i < 20; ++i) clients.push_back(connect_blocking(port));
    EXPECT_TRUE(apt::spin_until(loop, [&] { return !server->is_open(); }));
    EXPECT_EQ(served, 1);
    EXPECT_EQ(server->accepted(), 1u);
    // Every client sees its connection end (served and closed, or reset), none hangs.
    for (int fd : clients) {
      char c;
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      EXPECT_LE(::recv(fd, &c, 1, 0), 0);
      ::close(fd);
    }
    int late = apt::tcp_socket();
    EXPECT_FALSE(apt::connect_fd(late, port));
    ::close(late);

    // Destroyed, not just closed, from inside: the core outlives the handler.
    server = std::make_unique<Listener>(listen_tcp(loop, "127.0.0.1", 0));
    port = server->port();
    server->serve([&](Stream s) {
      ++served;
      s.close();
      server.reset();
    });
    loop.run_once(false);
    clients.clear();
    for (int i = 0; i < 20; ++i) clients.push_back(connect_blocking(port));
    EXPECT_TRUE(apt::spin_until(loop, [&] { return !server; }));
    EXPECT_EQ(served, 2);
    for (int fd : clients) ::close(fd);
    loop.run();
  }
  EXPECT_EQ(apt::open_fds(), fds_before);
}

// Out of fds: pending connections are dropped, the listener goes on, and once the connections
// it holds close it serves new ones (under the same limit).
TEST_P(AcceptPath, ServesAgainAfterRunningOutOfFds) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  std::vector<Stream> held;
  server.serve([&](Stream s) { held.push_back(std::move(s)); });
  constexpr int kFirst = 10, kLater = 3;
  std::vector<int> first, later;  // made before the limit: connect() needs no new fd
  for (int i = 0; i < kFirst; ++i) first.push_back(apt::tcp_socket());
  for (int i = 0; i < kLater; ++i) later.push_back(apt::tcp_socket());
  {
    FdLimit limit(3);  // room for 3 accepted connections, and the reserve's turn
    for (int fd : first) ASSERT_TRUE(apt::connect_fd(fd, server.port()));
    EXPECT_TRUE(
        apt::spin_until(loop, [&] { return server.accepted() + server.dropped() == kFirst; }));
    EXPECT_GE(server.dropped(), 1u);
    EXPECT_LE(server.accepted(), 3u);
    held.clear();  // the fds free up
    loop.run_once(false);
    uint64_t before = server.accepted();
    for (int fd : later) ASSERT_TRUE(apt::connect_fd(fd, server.port()));
    EXPECT_TRUE(apt::spin_until(loop, [&] { return server.accepted() == before + kLater; }));
    EXPECT_EQ(held.size(), std::size_t{kLater});
    held.clear();
  }
  for (int fd : first) ::close(fd);
  for (int fd : later) ::close(fd);
  drain(loop, server);
}

// A cancelled accept() leaves nothing behind: the next one gets the next connection; a close
// cancels a waiting one.
TEST_P(AcceptPath, AcceptCancelledThenResumed) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  apt::cancel_an_accept(loop, server);
  int client = connect_blocking(server.port());
  ASSERT_GE(client, 0);
  Stream s = run_test(loop, server.accept());
  ASSERT_EQ(::send(client, "hi", 2, MSG_NOSIGNAL), 2);
  auto read_two = [&]() -> Task<std::size_t> {
    char buf[4];
    co_return co_await s.read(buf);
  };
  EXPECT_EQ(run_test(loop, read_two()), 2u);
  EXPECT_EQ(server.accepted(), 1u);
  ::close(client);
  s.close();
  Timer t(loop);
  t.start(20, [&] { server.close(); });
  EXPECT_THROW(run_test(loop, server.accept()), CancelledError);
}

// More connections arrive than accept() takes at once (the ring queues some, then pauses its
// request and arms it again when accept() has caught up): every one is accepted once; then
// accept_backlog takes what arrived since, the request armed (what the ring already took, in
// its queue or its completions, and what is still in the kernel's backlog).
TEST_P(AcceptPath, AcceptFallingBehindThenBacklog) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  apt::cancel_an_accept(loop, server);  // on the ring, its request stays armed
  std::vector<int> clients;
  auto connect_some = [&](int n) {
    for (int i = 0; i < n; ++i) clients.push_back(connect_blocking(server.port()));
  };
  connect_some(150);
  for (int i = 0; i < 20; ++i) loop.run_once(false);  // the ring takes what it takes
  for (int i = 0; i < 150; ++i) (void)run_test(loop, server.accept());
  connect_some(5);  // accept() armed the request again for these
  for (int i = 0; i < 5; ++i) (void)run_test(loop, server.accept());
  EXPECT_EQ(server.accepted(), 155u);
  std::vector<int> taken;
  connect_some(7);
  for (int i = 0; i < 3; ++i) loop.run_once(false);
  connect_some(4);
  EXPECT_EQ(server.accept_backlog([&](int fd) { taken.push_back(fd); }), 11u);
  EXPECT_EQ(taken.size(), 11u);
  EXPECT_EQ(server.accepted(), 166u);
  EXPECT_EQ(server.accept_backlog([&](int) { ADD_FAILURE() << "nothing was queued"; }), 0u);
  for (int fd : taken) ::close(fd);
  for (int fd : clients) ::close(fd);
  server.close();
}

// accept_backlog called from the same wait's batch as connections the ring accepted (a
// draining cluster's message arrives with them): those go to accept_backlog, not reset.
TEST_P(AcceptPath, BacklogTakenFromInsideTheBatch) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  int served = 0;
  server.serve([&](Stream s) {
    ++served;
    s.close();
  });
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Stream trigger = Stream::adopt(loop, sv[0], Stream::Kind::kSocket);
  std::vector<int> taken;
  bool done = false;
  auto drain_on_message = [&]() -> Task<void> {
    char c;
    co_await trigger.read(std::span<char>(&c, 1));
    server.accept_backlog([&](int fd) { taken.push_back(fd); });
    server.close();
    done = true;
  };
  spawn(drain_on_message(), "drain");
  for (int i = 0; i < 3; ++i) loop.run_once(false);  // the accept and the read armed
  ASSERT_EQ(::send(sv[1], "x", 1, MSG_NOSIGNAL), 1);
  std::vector<int> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(connect_blocking(server.port()));
  EXPECT_TRUE(apt::spin_until(loop, [&] { return done; }));
  EXPECT_EQ(served + int(taken.size()), 10);
  EXPECT_EQ(server.accepted(), 10u);
  for (int fd : taken) ::close(fd);
  for (int fd : clients) ::close(fd);
  ::close(sv[1]);
  trigger.close();
  loop.run();
}

INSTANTIATE_TEST_SUITE_P(Both, AcceptPath, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ring" : "readiness"; });
