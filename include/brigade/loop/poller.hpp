#pragma once
// The poller backend behind a narrow interface: epoll today; io_uring may come later.
#include <sys/epoll.h>

#include <cstdint>

namespace brigade {

namespace io {
inline constexpr uint32_t kReadable = EPOLLIN;
inline constexpr uint32_t kWritable = EPOLLOUT;
inline constexpr uint32_t kPeerClosed = EPOLLRDHUP;
inline constexpr uint32_t kError = EPOLLERR;
inline constexpr uint32_t kHangup = EPOLLHUP;
inline constexpr uint32_t kEdge = EPOLLET;
}  // namespace io

struct PollEvent {
  void* data;
  uint32_t events;
};

class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Each returns 0 or an errno value.
  int add(int fd, uint32_t events, void* data) noexcept;
  int modify(int fd, uint32_t events, void* data) noexcept;
  int remove(int fd) noexcept;
  // Waits up to timeout_ms (-1: forever, 0: not at all); returns the number of events, 0 on EINTR.
  int wait(PollEvent* out, int max, int timeout_ms) noexcept;

 private:
  int epfd_;
  epoll_event raw_[256];
};

}  // namespace brigade
