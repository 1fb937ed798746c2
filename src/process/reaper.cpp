#include "reaper.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <system_error>
#include <vector>

#include "brigade/loop/thread.hpp"

namespace brigade::process::detail {

namespace {

struct Reaper {
  std::mutex mu;
  std::vector<int> pidfds;
  int wake = -1;    // eventfd: a pidfd was added
  pid_t owner = 0;  // the process whose thread runs (a fork() child starts its own)
  bool running = false;

  // Reaps the pidfds whose child has exited; returns whether any remain.
  bool reap_exited() {
    std::lock_guard lock(mu);
    std::erase_if(pidfds, [](int fd) {
      siginfo_t info{};
      int rc = waitid(P_PIDFD, fd, &info, WEXITED | WNOHANG);
      if (rc == 0 && info.si_pid == 0) return false;  // still running
      ::close(fd);                                    // reaped, or not ours to reap (ECHILD)
      return true;
    });
    return !pidfds.empty();
  }

  void run() {
    std::vector<pollfd> fds;
    for (;;) {
      {
        std::lock_guard lock(mu);
        fds.assign(1, pollfd{wake, POLLIN, 0});
        for (int fd : pidfds) fds.push_back(pollfd{fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
      if (fds[0].revents) {
        uint64_t n;
        [[maybe_unused]] ssize_t r = ::read(wake, &n, sizeof n);
      }
      reap_exited();
    }
  }
};

Reaper& reaper() {
  static Reaper* r = new Reaper;  // never destroyed: its thread may outlive static teardown
  return *r;
}

}  // namespace

void reap_later(int pidfd) noexcept {
  Reaper& r = reaper();
  std::lock_guard lock(r.mu);
  pid_t me = ::getpid();
  if (r.owner != me) {  // first use, or a fork() child: the parent's list and thread are not ours
    for (int fd : r.pidfds) ::close(fd);
    r.pidfds.clear();
    if (r.wake >= 0) ::close(r.wake);
    r.wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r.owner = me;
    r.running = false;
  }
  r.pidfds.push_back(pidfd);
  if (!r.running && r.wake >= 0) {
    try {
      start_thread("brigade-reaper", [&r] { r.run(); }).detach();
      r.running = true;
    } catch (const std::system_error&) {  // no thread now: retried on the next drop
    }
  }
  if (r.wake >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(r.wake, &one, sizeof one);
  }
}

}  // namespace brigade::process::detail
