// Out of file descriptors, a listener drops the pending connections and keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_support.hpp"

using namespace net_test;

TEST(Emfile, ListenerSurvivesRunningOutOfFds) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Listener server = listen_tcp(loop, "127.0.0.1", 0);
  server.serve(echo);
  constexpr int kClients = 12;
  // Client sockets are made before the limit drops; connect() needs no new fd.
  std::vector<Stream> clients;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i)
    fds.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int answered = 0, refused = 0;
  {
    // Only accepting runs under the limit: the sanitizers need fds of their own when they
    // report or check types, e.g. around a thrown Error.
    FdLimit limit(3);  // room for at most 3 accepted connections
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int fd : fds) ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    for (int i = 0; i < 1000 && server.accepted() + server.dropped() < uint64_t{kClients}; ++i) {
      loop.run_once(false);
      ::usleep(1000);
    }
  }
  EXPECT_EQ(server.accepted() + server.dropped(), static_cast<uint64_t>(kClients));
  for (int fd : fds) clients.push_back(Stream::adopt(loop, fd, Stream::Kind::kSocket));
  // Every client either gets its echo (accepted) or sees its connection closed (dropped).
  auto probe = [&](Stream& s) -> Task<void> {
    try {
      co_await s.write("ping");
      char buf[8];
      std::size_t n = co_await s.read(buf);
      (n == 4 ? answered : refused)++;
    } catch (const Error&) {
      refused++;
    }
  };
  std::vector<Task<void>> probes;
  for (auto& s : clients) probes.push_back(probe(s));
  run_test(loop, when_all(std::move(probes)));
  EXPECT_EQ(answered + refused, kClients);
  EXPECT_GE(answered, 1);
  EXPECT_LE(answered, 3);
  EXPECT_GE(server.dropped(), 1u);
  EXPECT_EQ(server.dropped(), static_cast<uint64_t>(refused));
  clients.clear();
  // With fds back, the same listener serves normally.
  auto again = [&]() -> Task<std::string> {
    Stream s = co_await connect(loop, "127.0.0.1", server.port());
    co_await s.write("after");
    std::string got(5, '\0');
    co_await s.read_full(got);
    co_return got;
  };
  EXPECT_EQ(run_test(loop, again()), "after");
  drain(loop, server);
}
