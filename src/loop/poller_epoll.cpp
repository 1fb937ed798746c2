// The epoll backend: the only file of brigade that includes <sys/epoll.h>.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>

#include "brigade/error.hpp"
#include "poller.hpp"

namespace brigade {

// io:: bits are poll(2)'s, which are epoll's: they pass through untranslated.
static_assert(io::kReadable == EPOLLIN && io::kWritable == EPOLLOUT && io::kError == EPOLLERR &&
              io::kHangup == EPOLLHUP && io::kPeerClosed == EPOLLRDHUP && io::kEdge == EPOLLET);

namespace {

class EpollPoller final : public Poller {
 public:
  EpollPoller() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epfd_ < 0) throw_errno("epoll_create1");
  }
  ~EpollPoller() override { ::close(epfd_); }

  const char* name() const noexcept override { return "epoll"; }

  int add(int fd, uint32_t events, void* data) noexcept override {
    epoll_event ev{events, {.ptr = data}};
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
  }

  int modify(int fd, uint32_t events, void* data) noexcept override {
    epoll_event ev{events, {.ptr = data}};
    return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : errno;
  }

  int remove(int fd) noexcept override {
    epoll_event ev{};  // ignored since Linux 2.6.9, but must not be null before it
    return epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) == 0 ? 0 : errno;
  }

  int wait(PollEvent* out, int max, int64_t timeout_ns) noexcept override {
    if (max > kBatch) max = kBatch;
    int n = -1;
    if (timeout_ns > 0 && has_pwait2_) {
      timespec ts{time_t(timeout_ns / 1'000'000'000), long(timeout_ns % 1'000'000'000)};
      n = epoll_pwait2(epfd_, raw_, max, &ts, nullptr);
      if (n < 0 && errno == ENOSYS) has_pwait2_ = false;  // before Linux 5.11: whole ms below
    }
    if (timeout_ns <= 0 || !has_pwait2_) n = epoll_wait(epfd_, raw_, max, whole_ms(timeout_ns));
    if (n < 0) return -errno;
    for (int i = 0; i < n; ++i) out[i] = PollEvent{raw_[i].data.ptr, raw_[i].events};
    return n;
  }

 private:
  // Rounded up: a wait that ends early would only make the loop go round to wait again.
  static int whole_ms(int64_t timeout_ns) noexcept {
    if (timeout_ns <= 0) return timeout_ns < 0 ? -1 : 0;
    int64_t ms = (timeout_ns + 999'999) / 1'000'000;
    return ms > INT32_MAX ? INT32_MAX : int(ms);
  }

  static constexpr int kBatch = 256;
  int epfd_;
  bool has_pwait2_ = true;
  epoll_event raw_[kBatch];
};

}  // namespace

std::unique_ptr<Poller> make_epoll_poller() { return std::make_unique<EpollPoller>(); }

}  // namespace brigade
