// Both poller backends keep the semantics the loop relies on (src/loop/poller.hpp): level watches
// reported while readiness holds, edge watches once per change, nothing of a removed or replaced
// registration reported afterwards, a removed fd closed at once. And the io_uring backend's own
// cases: a multishot request the kernel ends (a full completion ring) is armed again, and a
// ring's waits stay on one thread.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../src/loop/poller.hpp"
#include "brigade/loop/loop.hpp"

using namespace brigade;

namespace {

std::unique_ptr<Poller> make(const std::string& backend) {
  return backend == "epoll" ? make_epoll_poller() : make_uring_poller();
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) r = fds[0], w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void put() const { ASSERT_EQ(::write(w, "x", 1), 1); }
  void drain() const {
    char buf[256];
    while (::read(r, buf, sizeof buf) > 0) {
    }
  }
};

// A wait that a signal (or the task-work notification of a ring torn down on this thread
// earlier) cut short is taken again: the loop does the same.
int wait_through_eintr(Poller& p, PollEvent* out, int max, int timeout_ms) {
  int n;
  while ((n = p.wait(out, max, timeout_ms * 1'000'000LL)) == -EINTR) {
  }
  return n;
}

class PollerBackends : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "io_uring" && !uring_unavailable_reason().empty())
      GTEST_SKIP() << "io_uring: " << uring_unavailable_reason();
    poller = make(GetParam());
  }
  int wait(PollEvent* out, int max, int timeout_ms) {
    return wait_through_eintr(*poller, out, max, timeout_ms);
  }
  std::unique_ptr<Poller> poller;
  PollEvent ev[256];
};

}  // namespace

TEST_P(PollerBackends, LevelReadinessIsReportedAgainUntilDrained) {
  Pipe p;
  int tag = 0;
  ASSERT_EQ(poller->add(p.r, io::kReadable, &tag), 0);
  EXPECT_EQ(wait(ev, 256, 0), 0);
  p.put();
  for (int round = 0; round < 3; ++round) {  // the loop did not read: still ready, still said
    ASSERT_EQ(wait(ev, 256, 1000), 1) << "round " << round;
    EXPECT_EQ(ev[0].data, &tag);
    EXPECT_EQ(ev[0].events, io::kReadable);
  }
  p.drain();
  EXPECT_EQ(wait(ev, 256, 20), 0);
}

// A timeout is nanoseconds: a 0.3 ms wait lasts at least 0.3 ms and ends well before the whole
// millisecond an ms-based wait would round it to (median of 50: the machine may be loaded).
TEST_P(PollerBackends, ASubMillisecondTimeoutIsWaitedExactly) {
  Pipe p;
  int tag = 0;
  ASSERT_EQ(poller->add(p.r, io::kReadable, &tag), 0);
  constexpr int64_t kTimeoutNs = 300'000;
  std::vector<int64_t> took;
  for (int i = 0; i < 50; ++i) {
    int64_t start = int64_t(Loop::hrtime());
    int n = poller->wait(ev, 256, kTimeoutNs);
    if (n == -EINTR) continue;  // cut short: not a measurement
    ASSERT_EQ(n, 0);
    took.push_back(int64_t(Loop::hrtime()) - start);
    EXPECT_GE(took.back(), kTimeoutNs);
  }
  ASSERT_FALSE(took.empty());
  std::sort(took.begin(), took.end());
  EXPECT_LT(took[took.size() / 2], 800'000);
}

TEST_P(PollerBackends, EdgeReadinessIsReportedOncePerChange) {
  Pipe p;
  int tag = 0;
  ASSERT_EQ(poller->add(p.r, io::kReadable | io::kEdge, &tag), 0);
  EXPECT_EQ(wait(ev, 256, 0), 0);
  p.put();
  ASSERT_EQ(wait(ev, 256, 1000), 1);
  EXPECT_EQ(ev[0].data, &tag);
  EXPECT_TRUE(ev[0].events & io::kReadable);
  EXPECT_EQ(wait(ev, 256, 20), 0);  // undrained, but no news
  p.put();                          // news
  ASSERT_EQ(wait(ev, 256, 1000), 1);
  EXPECT_EQ(ev[0].data, &tag);
}

TEST_P(PollerBackends, ReadinessPresentWhenAddedIsReported) {
  Pipe level, edge;
  level.put();
  edge.put();
  int a = 0, b = 0;
  ASSERT_EQ(poller->add(level.r, io::kReadable, &a), 0);
  ASSERT_EQ(poller->add(edge.r, io::kReadable | io::kEdge, &b), 0);
  ASSERT_EQ(wait(ev, 256, 1000), 2);
  EXPECT_NE(ev[0].data, ev[1].data);
}

TEST_P(PollerBackends, ARemovedWatchIsNotReportedFromAnEarlierBatch) {
  Pipe first, second;
  int a = 0, b = 0;
  ASSERT_EQ(poller->add(first.r, io::kReadable | io::kEdge, &a), 0);
  ASSERT_EQ(poller->add(second.r, io::kReadable | io::kEdge, &b), 0);
  EXPECT_EQ(wait(ev, 256, 0), 0);
  first.put();
  second.put();
  // Room for one event: the other one's completion stays queued in the backend...
  ASSERT_EQ(wait(ev, 1, 1000), 1);
  void* reported = ev[0].data;
  Pipe& other = reported == &a ? second : first;
  // ...until its watch goes, and with it every report of it.
  ASSERT_EQ(poller->remove(other.r), 0);
  EXPECT_EQ(wait(ev, 256, 50), 0);
}

TEST_P(PollerBackends, AReusedFdNumberReportsOnlyItsNewPointer) {
  auto p = std::make_unique<Pipe>();
  int old_tag = 0, new_tag = 0;
  ASSERT_EQ(poller->add(p->r, io::kReadable | io::kEdge, &old_tag), 0);
  EXPECT_EQ(wait(ev, 256, 0), 0);
  p->put();  // a report of the old file is (or may be) queued
  int fd = p->r;
  ASSERT_EQ(poller->remove(fd), 0);
  p.reset();
  Pipe q;  // the lowest free numbers: the ones just closed
  ASSERT_EQ(q.r == fd || q.w == fd, true);
  int read_end = q.r;
  ASSERT_EQ(poller->add(read_end, io::kReadable | io::kEdge, &new_tag), 0);
  EXPECT_EQ(wait(ev, 256, 50), 0);
  q.put();
  ASSERT_EQ(wait(ev, 256, 1000), 1);
  EXPECT_EQ(ev[0].data, &new_tag);
}

TEST_P(PollerBackends, ModifyReplacesTheBitsAndThePointer) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  int reading = 0, writing = 0;
  ASSERT_EQ(poller->add(sv[0], io::kReadable, &reading), 0);
  EXPECT_EQ(wait(ev, 256, 0), 0);
  ASSERT_EQ(poller->modify(sv[0], io::kWritable, &writing), 0);
  ASSERT_EQ(wait(ev, 256, 1000), 1);
  EXPECT_EQ(ev[0].data, &writing);
  EXPECT_EQ(ev[0].events, io::kWritable);
  EXPECT_EQ(poller->modify(sv[1], io::kWritable, &writing), ENOENT);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_P(PollerBackends, ARemovedAndClosedSocketIsClosedForThePeerAtOnce) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  int tag = 0;
  ASSERT_EQ(poller->add(sv[0], io::kReadable | io::kWritable | io::kEdge, &tag), 0);
  ASSERT_EQ(wait(ev, 256, 1000), 1);  // armed: the backend may hold the file now
  ASSERT_EQ(poller->remove(sv[0]), 0);
  ::close(sv[0]);
  char c;
  EXPECT_EQ(::recv(sv[1], &c, 1, 0), 0) << "the peer sees no end of stream: errno " << errno;
  ::close(sv[1]);
}

// The kernel refuses to cancel an io_uring poll request while a wakeup's work owns it (EALREADY):
// a remove right after the peer wrote must still let the socket close.
TEST_P(PollerBackends, ARemovedSocketWithAWakeupPendingIsClosedAtOnce) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  int tag = 0;
  ASSERT_EQ(poller->add(sv[0], io::kReadable | io::kWritable | io::kEdge, &tag), 0);
  ASSERT_EQ(wait(ev, 256, 1000), 1);
  ASSERT_EQ(::shutdown(sv[1], SHUT_WR), 0);  // a wakeup, not yet reaped
  ASSERT_EQ(poller->remove(sv[0]), 0);
  ::close(sv[0]);
  char c;
  EXPECT_EQ(::recv(sv[1], &c, 1, 0), 0) << "the peer sees no end of stream: errno " << errno;
  EXPECT_EQ(wait(ev, 256, 0), 0);
  ::close(sv[1]);
}

TEST_P(PollerBackends, PeerClosedAndHangupAreReported) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  int tag = 0;
  ASSERT_EQ(poller->add(sv[0], io::kReadable | io::kPeerClosed | io::kEdge, &tag), 0);
  EXPECT_EQ(wait(ev, 256, 0), 0);
  ::shutdown(sv[1], SHUT_WR);
  ASSERT_EQ(wait(ev, 256, 1000), 1);
  EXPECT_TRUE(ev[0].events & io::kPeerClosed);
  ::close(sv[1]);
  ASSERT_EQ(wait(ev, 256, 1000), 1);
  EXPECT_TRUE(ev[0].events & io::kHangup);
  ASSERT_EQ(poller->remove(sv[0]), 0);
  ::close(sv[0]);
}

TEST_P(PollerBackends, ManyFdsAreEachReportedOnceAcrossFullBatches) {
  Loop loop;  // raises the process's open-file limit, as every program's first loop does
  constexpr int kPipes = 700;
  std::vector<std::unique_ptr<Pipe>> pipes;
  for (int i = 0; i < kPipes; ++i) {
    pipes.push_back(std::make_unique<Pipe>());
    ASSERT_GE(pipes.back()->r, 0);
    ASSERT_EQ(poller->add(pipes.back()->r, io::kReadable | io::kEdge, pipes.back().get()), 0);
  }
  EXPECT_EQ(wait(ev, 256, 0), 0);
  for (auto& p : pipes) p->put();
  std::map<void*, int> seen;
  for (int round = 0; round < 100 && seen.size() < std::size_t(kPipes); ++round) {
    int n = wait(ev, 256, 1000);
    ASSERT_GE(n, 0);
    ASSERT_LE(n, 256);
    for (int i = 0; i < n; ++i) ++seen[ev[i].data];
  }
  ASSERT_EQ(seen.size(), std::size_t(kPipes));
  for (auto& [data, times] : seen) EXPECT_EQ(times, 1);
  EXPECT_EQ(wait(ev, 256, 20), 0);
  for (auto& p : pipes) ASSERT_EQ(poller->remove(p->r), 0);
}

TEST_P(PollerBackends, AWriteFromAnotherThreadEndsAnEndlessWait) {
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(efd, 0);
  int tag = 0;
  ASSERT_EQ(poller->add(efd, io::kReadable, &tag), 0);
  std::thread writer([efd] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    uint64_t one = 1;
    EXPECT_EQ(::write(efd, &one, sizeof one), ssize_t(sizeof one));
  });
  ASSERT_EQ(wait(ev, 256, -1), 1);
  EXPECT_EQ(ev[0].data, &tag);
  writer.join();
  ::close(efd);
}

TEST_P(PollerBackends, AWaitEndsAtItsTimeout) {
  Pipe p;
  int tag = 0;
  ASSERT_EQ(poller->add(p.r, io::kReadable, &tag), 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(wait(ev, 256, 60), 0);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_GE(ms, 55);
  EXPECT_LT(ms, 5000);
}

INSTANTIATE_TEST_SUITE_P(, PollerBackends, testing::Values("epoll", "io_uring"),
                         [](const auto& info) { return info.param; });

// The kernel ends a multishot poll request whose completion finds the completion ring full; the
// backend arms it again, or that fd would never be reported again (a stream would hang).
TEST(UringPoller, AMultishotRequestTheKernelEndsIsArmedAgain) {
  if (!uring_unavailable_reason().empty()) GTEST_SKIP() << uring_unavailable_reason();
  auto poller = make_uring_poller(4, 8);  // 8 completions fit; 40 ready fds do not
  constexpr int kPipes = 40;
  std::vector<std::unique_ptr<Pipe>> pipes;
  for (int i = 0; i < kPipes; ++i) {
    pipes.push_back(std::make_unique<Pipe>());
    ASSERT_EQ(poller->add(pipes.back()->r, io::kReadable | io::kEdge, pipes.back().get()), 0);
  }
  PollEvent ev[256];
  EXPECT_EQ(wait_through_eintr(*poller, ev, 256, 0), 0);
  for (int rounds = 0; rounds < 3; ++rounds) {
    for (auto& p : pipes) p->put();
    std::map<void*, int> seen;
    for (int i = 0; i < 100 && seen.size() < std::size_t(kPipes); ++i) {
      int n = wait_through_eintr(*poller, ev, 256, 1000);
      ASSERT_GE(n, 0);
      if (n == 0) break;  // a second of silence: the rest will not come
      for (int j = 0; j < n; ++j) ++seen[ev[j].data];
    }
    EXPECT_EQ(seen.size(), std::size_t(kPipes)) << "round " << rounds;
    for (auto& p : pipes) p->drain();
  }
}

// Multishot receives into a ring of two 64-byte buffers: each completion lends one buffer; the
// kernel ends the receive (ENOBUFS) once none is left, and after give_back() a receive armed
// again goes on where the last stopped, until the end of the stream.
TEST(UringPoller, AReceiveEndsWhenTheBuffersRunOutAndGoesOnOnceTheyAreBack) {
  if (!uring_recv_unavailable_reason().empty()) GTEST_SKIP() << uring_recv_unavailable_reason();
  auto poller = make_uring_poller(8, 64, 2, 64);
  ASSERT_TRUE(poller->has_recvs());
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  std::string sent(300, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = char('a' + i % 26);
  ASSERT_EQ(::send(sv[1], sent.data(), sent.size(), 0), ssize_t(sent.size()));
  IoRecv op;
  op.handler = [](IoRecv&, long, const char*, bool) {};
  std::string got;
  bool ended = false;
  for (int round = 0; round < 3 && !ended; ++round) {
    if (round == 2) ::close(sv[1]);  // the end follows the last bytes
    ASSERT_EQ(poller->recv(op, sv[0]), 0);
    std::size_t mark = poller->lent_mark();
    int results = 0, enobufs = 0;
    for (int waits = 0; waits < 50 && op.tag; ++waits) {
      PollEvent ev[16];
      int n = wait_through_eintr(*poller, ev, 16, 1000);
      ASSERT_GT(n, 0) << "round " << round << ": a second without the receive's completions";
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ(ev[i].data, &op);
        ASSERT_TRUE(ev[i].events & kRecvEvent);
        bool last = !(ev[i].events & kRecvMore);
        if (ev[i].result > 0) {
          ASSERT_LE(ev[i].result, 64);
          got.append(ev[i].bytes, std::size_t(ev[i].result));
          ++results;
        } else if (ev[i].result == -ENOBUFS) {
          ++enobufs;
          EXPECT_TRUE(last);
        } else {
          EXPECT_EQ(ev[i].result, 0) << std::strerror(-ev[i].result);
          EXPECT_TRUE(last);
          ended = true;
        }
      }
    }
    EXPECT_EQ(op.tag, 0u) << "round " << round << ": the receive has ended";
    if (round < 2) {
      EXPECT_EQ(results, 2) << "round " << round << ": two buffers, two completions";
      EXPECT_EQ(enobufs, 1) << "round " << round;
    }
    poller->give_back(mark);
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(got, sent);
  ::close(sv[0]);
}

// A paused receive still reports what came before its last completion (ECANCELED here); a
// cancelled one reports nothing more, whatever arrives after.
TEST(UringPoller, PausedAndCancelledReceives) {
  if (!uring_recv_unavailable_reason().empty()) GTEST_SKIP() << uring_recv_unavailable_reason();
  auto poller = make_uring_poller(8, 64, 4, 64);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  IoRecv paused, cancelled;
  paused.handler = cancelled.handler = [](IoRecv&, long, const char*, bool) {};
  ASSERT_EQ(poller->recv(paused, sv[0]), 0);
  PollEvent ev[16];
  EXPECT_EQ(wait_through_eintr(*poller, ev, 16, 0), 0);  // armed, nothing to read
  poller->recv_pause(paused);
  EXPECT_NE(paused.tag, 0u) << "its last completion is still to come";
  int n = wait_through_eintr(*poller, ev, 16, 1000);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(ev[0].data, &paused);
  EXPECT_EQ(ev[0].result, -ECANCELED);
  EXPECT_FALSE(ev[0].events & kRecvMore);
  EXPECT_EQ(paused.tag, 0u);

  ASSERT_EQ(poller->recv(cancelled, sv[0]), 0);
  EXPECT_EQ(wait_through_eintr(*poller, ev, 16, 0), 0);
  poller->recv_cancel(cancelled);
  EXPECT_EQ(cancelled.tag, 0u);
  ASSERT_EQ(::send(sv[1], "late", 4, 0), 4);
  EXPECT_EQ(wait_through_eintr(*poller, ev, 16, 50), 0);
  char buf[8];
  EXPECT_EQ(::recv(sv[0], buf, sizeof buf, 0), 4) << "the bytes stayed in the socket";
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(UringPoller, AnotherThreadCannotWaitOnALoopsRing) {
  if (!uring_unavailable_reason().empty()) GTEST_SKIP() << uring_unavailable_reason();
  auto poller = make_uring_poller();
  PollEvent ev[4];
  EXPECT_EQ(poller->wait(ev, 4, 0), 0);
  int result = 0;
  std::thread other([&] { result = poller->wait(ev, 4, 0); });
  other.join();
  EXPECT_EQ(result, -EEXIST);
  EXPECT_EQ(poller->wait(ev, 4, 0), 0);
}

TEST(UringPoller, ADifferentThreadFromTheMakerMayRunIt) {
  if (!uring_unavailable_reason().empty()) GTEST_SKIP() << uring_unavailable_reason();
  auto poller = make_uring_poller();
  Pipe p;
  int tag = 0;
  ASSERT_EQ(poller->add(p.r, io::kReadable, &tag), 0);
  p.put();
  int n = -1;
  std::thread runner([&] {
    PollEvent ev[4];
    n = wait_through_eintr(*poller, ev, 4, 1000);
  });
  runner.join();
  EXPECT_EQ(n, 1);
}

TEST(PollerChoice, BrigadeBackendNamesTheBackend) {
  const char* outer = std::getenv("BRIGADE_BACKEND");
  std::string saved = outer ? outer : "";
  ::setenv("BRIGADE_BACKEND", "epoll", 1);
  EXPECT_STREQ(make_poller()->name(), "epoll");
  ::setenv("BRIGADE_BACKEND", "io_uring", 1);
  EXPECT_STREQ(make_poller()->name(), uring_unavailable_reason().empty() ? "io_uring" : "epoll");
  ::unsetenv("BRIGADE_BACKEND");
  EXPECT_STREQ(make_poller()->name(), uring_unavailable_reason().empty() ? "io_uring" : "epoll");
  if (outer) ::setenv("BRIGADE_BACKEND", saved.c_str(), 1);
}
