#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "brigade/error.hpp"
#include "brigade/loop/poller.hpp"

namespace brigade {

Poller::Poller() : epfd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (epfd_ < 0) throw_errno("epoll_create1");
}

Poller::~Poller() { ::close(epfd_); }

int Poller::add(int fd, uint32_t events, void* data) noexcept {
  epoll_event ev{events, {.ptr = data}};
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

int Poller::modify(int fd, uint32_t events, void* data) noexcept {
  epoll_event ev{events, {.ptr = data}};
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : errno;
}

int Poller::remove(int fd) noexcept {
  epoll_event ev{};
  return epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev) == 0 ? 0 : errno;
}

int Poller::wait(PollEvent* out, int max, int timeout_ms) noexcept {
  if (max > 256) max = 256;
  int n = epoll_wait(epfd_, raw_, max, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;  // a signal: the loop simply goes round again
    // EBADF, EFAULT or EINVAL: the poller itself is broken; carrying on would spin silently.
    std::fprintf(stderr, "brigade: epoll_wait failed: %s\n", std::strerror(errno));
    std::abort();
  }
  for (int i = 0; i < n; ++i) out[i] = PollEvent{raw_[i].data.ptr, raw_[i].events};
  return n;
}

}  // namespace brigade
