#pragma once
// LoopHandle: the one way into a loop from another thread (libuv's uv_async, carrying the
// callback). Every loop has one, made with it; anything that reaches a loop from elsewhere (the
// thread pool's results, message ports, workers, the worker pool, SharedBuffer's async waiters)
// holds a shared_ptr to it and posts through it. Loop::post is the same call on the loop's own
// handle.
//
// Weak: the loop's destructor closes the handle; a later post() destroys the callback on the
// posting thread and returns false. The handle owns the eventfd that wakes the loop, so a post
// racing with the loop's end writes to that eventfd, never to a closed or reused fd.
// Batching: posts append to one queue under mu_; only the first post of a batch writes the
// eventfd, and none does while the loop is awake (it looks at the queue before it sleeps); the
// loop runs a whole batch per wakeup, in order, in the poll phase.
// mu_ is a leaf: no other lock is taken under it, and no callback runs or is destroyed under it.
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "brigade/loop/function.hpp"

namespace brigade {

class Loop;

class LoopHandle {
 public:
  ~LoopHandle();
  LoopHandle(const LoopHandle&) = delete;
  LoopHandle& operator=(const LoopHandle&) = delete;

  // Thread-safe: runs cb on the loop's thread after every callback posted before it; false (cb
  // destroyed here) once the loop is gone.
  bool post(Callback cb);
  // Thread-safe: false once the loop is gone (for owners of per-loop state that may outlive it).
  bool alive();
  // Thread-safe: a post is waiting for the loop (a spin hook stops spinning when one is).
  bool pending() const noexcept { return wake_pending_.load(std::memory_order_acquire); }

  // The handle whose batch runs on this thread now, else nullptr: a delivery that finds another
  // handle here knows it was meant for a loop its receiver has left.
  static LoopHandle* current() noexcept;
  // When the loop last ran a batch (Loop::now_ns() then); the loop's thread only.
  uint64_t last_batch_ns() const noexcept { return last_batch_ns_; }

 private:
  friend class Loop;
  explicit LoopHandle(Loop& loop);
  void close();  // by ~Loop, on the loop's thread

  std::mutex mu_;
  Loop* loop_;                   // guarded by mu_; nullptr once the loop is gone
  std::vector<Callback> queue_;  // guarded by mu_
  std::vector<Callback> batch_;  // the loop's thread only: the batch being run
  int wake_fd_;                  // an eventfd the loop polls; closed with the handle
  // Set by the post that starts a batch, cleared by the loop as it takes the batch.
  std::atomic<bool> wake_pending_{false};
  // False only around the poller's wait: a post skips the eventfd write while the loop will look
  // at wake_pending_ anyway (seq_cst on both sides: one of them sees the other's store).
  std::atomic<bool> awake_{true};
  uint64_t last_batch_ns_ = 0;
};

}  // namespace brigade
