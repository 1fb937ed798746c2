#pragma once
// LoopHandle: a thread-safe weak reference to a loop. Other threads post through it; once the
// loop is gone, post() drops the callback and returns false instead of touching freed memory.
#include <memory>
#include <mutex>

#include "brigade/loop/loop.hpp"

namespace brigade {

class LoopHandle {
 public:
  explicit LoopHandle(Loop& loop) : loop_(&loop) {}
  // Runs cb on the loop thread; false (cb destroyed here) if the loop was closed.
  bool post(Callback cb) {
    std::lock_guard lock(mu_);
    if (!loop_) return false;
    loop_->post(std::move(cb));
    return true;
  }
  // False once the loop is gone (for owners of per-loop state that may outlive it).
  bool alive() {
    std::lock_guard lock(mu_);
    return loop_ != nullptr;
  }
  // Called by the loop's owner before the loop is destroyed.
  void close() {
    std::lock_guard lock(mu_);
    loop_ = nullptr;
  }

 private:
  std::mutex mu_;
  Loop* loop_;
};

// The handle of `loop`, made on first use and closed when the loop is destroyed.
std::shared_ptr<LoopHandle> handle_of(Loop& loop);

}  // namespace brigade
