// Stream::adopt on pipes: what the child-process layer wraps stdin/stdout/stderr with.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "net_support.hpp"

using namespace net_test;

namespace {
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) r = fds[0], w = fds[1];
  }
};
}  // namespace

TEST(Pipe, AdoptSetsNonBlockingAndTransfers) {
  Loop loop;
  HangGuard guard(loop, 30000);
  Pipe p;
  ASSERT_GE(p.r, 0);
  Stream reader = Stream::adopt(loop, p.r);
  Stream writer = Stream::adopt(loop, p.w, Stream::Kind::kOther);
  EXPECT_FALSE(reader.is_socket());
  EXPECT_TRUE(::fcntl(p.r, F_GETFL) & O_NONBLOCK);
  EXPECT_EQ(writer.set_no_delay(true), ENOTSOCK);
  constexpr std::size_t kTotal = 8u << 20;  // far beyond the 64 KiB pipe buffer
  std::vector<char> data = pattern(kTotal, 3);
  auto produce = [&]() -> Task<void> {
    for (std::size_t off = 0; off < kTotal; off += 256 * 1024)
      co_await writer.write(std::span<const char>(data.data() + off, 256 * 1024));
    co_await writer.shutdown();  // a pipe has no half-close: this closes the write end
    EXPECT_FALSE(writer.is_open());
  };
  std::string got;
  auto consume = [&]() -> Task<void> { got = co_await read_all(reader); };
  run_test(loop, when_all(produce(), consume()));
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
}

TEST(Pipe, WriteToClosedPipeIsEpipeNotSignal) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Pipe p;
  ::close(p.r);
  Stream writer = Stream::adopt(loop, p.w);
  struct sigaction sa {};
  sigaction(SIGPIPE, nullptr, &sa);
  EXPECT_EQ(sa.sa_handler, SIG_IGN) << "adopting a non-socket ignores SIGPIPE";
  try {
    run_test(loop, [&]() -> Task<void> { co_await writer.write("into the void"); }());
    ADD_FAILURE() << "write to a pipe without reader succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), EPIPE);
    EXPECT_EQ(e.operation(), "write");
  }
  EXPECT_EQ(writer.write_nowait("again"), EPIPE) << "the failure is sticky";
}

TEST(Pipe, ReaderSeesEofWhenWriterCloses) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Pipe p;
  Stream reader = Stream::adopt(loop, p.r);
  ASSERT_EQ(::write(p.w, "tail", 4), 4);
  Timer t(loop);
  t.start(10, [&] { ::close(p.w); });
  EXPECT_EQ(run_test(loop, read_all(reader)), "tail");
}

TEST(Pipe, AdoptRejectsRegularFiles) {
  Loop loop;
  int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_THROW(Stream::adopt(loop, fd), Error);
  EXPECT_EQ(::close(fd), 0) << "a failed adopt leaves the fd to the caller";
}

TEST(Pipe, ShutdownWithNothingQueuedClosesTheWriteEnd) {
  Loop loop;
  HangGuard guard(loop, 20000);
  Pipe p;
  Stream reader = Stream::adopt(loop, p.r);
  Stream writer = Stream::adopt(loop, p.w);
  auto go = [&]() -> Task<std::string> {
    co_await writer.write("abc");  // goes straight to the kernel: nothing stays queued
    co_await writer.shutdown();
    co_await writer.shutdown();  // idempotent
    EXPECT_FALSE(writer.is_open());
    co_return co_await read_all(reader);
  };
  EXPECT_EQ(run_test(loop, go()), "abc");
}
