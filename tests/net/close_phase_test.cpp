// The lifetime rule (docs/design.md section 3): a Stream or Listener destroyed by the user code
// its own event handler runs is closed at once and freed in the loop's close phase, so the
// handler below never reads freed memory (the ASan build checks that).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <span>
#include <string>
#include <thread>

#include "net_support.hpp"

using namespace net_test;

namespace {

struct Holder {
  std::unique_ptr<Stream> stream;
  int hooks = 0;
};

// A blocking reader of the socket pair's other end, until EOF.
std::size_t drain_peer(int fd) {
  std::size_t total = 0;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return total;
    total += static_cast<std::size_t>(n);
  }
}

}  // namespace

TEST(ClosePhase, StreamDestroyedInItsReadHook) {
  Loop loop;
  HangGuard guard(loop, 20000);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Holder h;
  h.stream = std::make_unique<Stream>(Stream::adopt(loop, sv[0]));
  h.stream->set_read_hook(
      [](void* p) {
        auto* self = static_cast<Holder*>(p);
        ++self->hooks;
        char buf[16];
        EXPECT_EQ(self->stream->try_read(std::span<char>(buf)), 2);
        self->stream.reset();  // under on_stream_io: the core waits for the close phase
      },
      &h);
  ASSERT_EQ(::write(sv[1], "hi", 2), 2);
  loop.run();  // ends: the stream was the only thing keeping it alive
  EXPECT_EQ(h.hooks, 1);
  EXPECT_EQ(h.stream, nullptr);
  char c;
  EXPECT_EQ(::read(sv[1], &c, 1), 0);  // closed at once: the peer sees EOF
  ::close(sv[1]);
}

TEST(ClosePhase, StreamDestroyedInItsDrainHook) {
  Loop loop;
  HangGuard guard(loop, 20000);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Holder h;
  h.stream = std::make_unique<Stream>(Stream::adopt(loop, sv[0]));
  std::string big(4 * 1024 * 1024, 'x');  // more than the socket buffers hold
  ASSERT_EQ(h.stream->write_nowait(big), 0);
  ASSERT_GT(h.stream->write_queue_size(), 0u);
  h.stream->set_drain_hook(
      [](void* p) {
        auto* self = static_cast<Holder*>(p);
        ++self->hooks;
        self->stream.reset();  // under flush(), under on_stream_io
      },
      &h);
  std::size_t got = 0;
  std::thread reader([&] { got = drain_peer(sv[1]); });
  loop.run();
  reader.join();
  EXPECT_EQ(h.hooks, 1);
  EXPECT_EQ(got, big.size());
  ::close(sv[1]);
}

TEST(ClosePhase, ListenerDestroyedInItsConnectionCallback) {
  Loop loop;
  HangGuard guard(loop, 20000);
  auto listener = std::make_unique<Listener>(listen_tcp(loop, "127.0.0.1", 0));
  uint16_t port = listener->port();
  int accepted = 0;
  listener->serve_callback([&](Stream s) {
    ++accepted;
    s.close();
    listener.reset();  // under accept_all: the core waits for the close phase
  });
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  loop.run();
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(listener, nullptr);
  ::close(fd);
}
