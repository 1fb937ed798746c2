#include "watchdog.hpp"

#include <unistd.h>

#include <algorithm>

#include "brigade/loop/loop.hpp"
#include "brigade/loop/thread.hpp"

namespace brigade {

BlockedLoopWatchdog& BlockedLoopWatchdog::instance() {
  static auto* w = [] {
    auto* dog = new BlockedLoopWatchdog;  // never destroyed: the thread outlives static teardown
    // Hold the lock across fork() so a child never inherits it locked mid-check.
    pthread_atfork([] { instance().mu_.lock(); }, [] { instance().mu_.unlock(); },
                   [] { instance().mu_.unlock(); });
    return dog;
  }();
  return *w;
}

void BlockedLoopWatchdog::add(Loop* loop) {
  std::lock_guard lock(mu_);
  loops_.push_back(loop);
  int pid = getpid();
  if (pid_ != pid) {
    if (pid_ != 0) {
      // A forked child: the parent's loops are gone with its other threads; keep only ours.
      loops_.assign(1, loop);
    }
    pid_ = pid;
    start_thread("brigade-watch", [this] { run(); }).detach();
  }
}

void BlockedLoopWatchdog::remove(Loop* loop) {
  std::lock_guard lock(mu_);
  std::erase(loops_, loop);
}

void BlockedLoopWatchdog::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(20));
    check_all(Loop::hrtime());
  }
}

void BlockedLoopWatchdog::check_all(uint64_t now_ns) {
  for (Loop* loop : loops_) {
    uint64_t threshold = loop->blocked_threshold_ms_.load(std::memory_order_relaxed) * 1'000'000u;
    uint64_t since = loop->busy_since_ns_.load(std::memory_order_relaxed);
    if (threshold == 0 || since == 0 || now_ns < since + threshold) continue;
    if (loop->blocked_flagged_.load(std::memory_order_relaxed) == since) continue;
    loop->blocked_activity_.store(loop->activity(), std::memory_order_relaxed);
    // Release: the loop's acquire of blocked_flagged_ (finish_busy_period) then sees the activity.
    loop->blocked_flagged_.store(since, std::memory_order_release);
  }
}

}  // namespace brigade
