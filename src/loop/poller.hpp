#pragma once
// The loop's I/O backend, behind the small readiness interface below: register an fd with io::
// bits and a pointer, wait for a batch of events. epoll implements it (poller_epoll.cpp, the one
// file that includes <sys/epoll.h>); an io_uring backend would implement the same five calls
// with poll requests on its ring, and make_poller() is where the choice between them is made.
// Private to the loop layer: Loop is the only user.
#include <cstdint>
#include <memory>

#include "brigade/loop/io.hpp"

namespace brigade {

struct PollEvent {
  void* data;       // the pointer given to add()/modify(); the loop nulls it to drop an event
  uint32_t events;  // io:: bits
};

class Poller {
 public:
  virtual ~Poller() = default;
  // The backend's name, for messages ("epoll").
  virtual const char* name() const noexcept = 0;
  // Each returns 0 or an errno value.
  virtual int add(int fd, uint32_t events, void* data) noexcept = 0;
  virtual int modify(int fd, uint32_t events, void* data) noexcept = 0;
  virtual int remove(int fd) noexcept = 0;
  // Waits up to timeout_ms (-1: forever, 0: not at all) for at most `max` events; returns how
  // many were written to `out`, or -errno (-EINTR when a signal cut the wait short). What to do
  // with an error is the loop's choice, not the backend's.
  virtual int wait(PollEvent* out, int max, int timeout_ms) noexcept = 0;
};

// The process's backend (epoll: the only one so far). Throws brigade::Error if the kernel
// refuses to make one.
std::unique_ptr<Poller> make_poller();

}  // namespace brigade
