#pragma once
// Mailbox: one loop's cross-thread inbox and a thread-safe weak handle to it.
// Any thread may post(); the callbacks run on the loop's thread, in order, in batches (one
// Loop::post, so one eventfd write, per batch). Endpoints (ports, workers, pools) attach on the
// loop's thread and detach before the loop goes away; when the last one detaches the mailbox is
// closed and post() returns false instead of touching the loop.
// While messages flow (a batch arrived in the last millisecond), the loop spins a few
// microseconds before it sleeps in epoll (a Loop spin hook), so a quick reply skips the eventfd
// wakeup entirely and the sender skips its eventfd write.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/spin.hpp"

namespace brigade {

class Mailbox : public std::enable_shared_from_this<Mailbox> {
 public:
  explicit Mailbox(Loop& loop);
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Thread-safe: runs cb on the loop's thread. False (cb dropped) once the mailbox is closed.
  bool post(Callback cb);

  // The mailbox whose batch is running on this thread (to recognise stale deliveries).
  static Mailbox* current() noexcept;
  // Longest spin before sleeping while messages flow (default 50 us, or BRIGADE_SPIN_NS; 0: off).
  void set_spin_ns(uint64_t ns) noexcept { spin_ns_.store(ns, std::memory_order_relaxed); }
  Loop* loop() const noexcept { return loop_; }  // the loop's thread only

 private:
  friend class MailboxRef;
  enum State : int { kIdle, kSpinning, kNotified };
  void attach_endpoint();
  void detach_endpoint();
  void drain();
  bool spin(uint64_t limit_ns);

  std::mutex mu_;
  Loop* loop_;                   // written under mu_; nullptr once closed
  std::vector<Callback> queue_;  // guarded by mu_
  std::vector<Callback> batch_;  // the loop's thread only
  std::atomic<int> state_{kIdle};
  std::atomic<uint64_t> spin_ns_;
  uint64_t hook_id_ = 0;
  uint64_t last_batch_ns_ = 0;
  detail::SpinBudget budget_;  // adaptive, at most spin_ns_
  int endpoints_ = 0;
};

// An endpoint's attachment to its loop's mailbox (made on first use, shared by every endpoint on
// that loop). Construct and destroy on the loop's thread.
class MailboxRef {
 public:
  MailboxRef() = default;
  explicit MailboxRef(Loop& loop);
  MailboxRef(MailboxRef&& o) noexcept : box_(std::move(o.box_)) {}
  MailboxRef& operator=(MailboxRef&& o) noexcept {
    if (this != &o) {
      reset();
      box_ = std::move(o.box_);
    }
    return *this;
  }
  ~MailboxRef() { reset(); }
  void reset();

  explicit operator bool() const noexcept { return bool(box_); }
  Mailbox* get() const noexcept { return box_.get(); }
  Mailbox* operator->() const noexcept { return box_.get(); }
  const std::shared_ptr<Mailbox>& shared() const noexcept { return box_; }

 private:
  std::shared_ptr<Mailbox> box_;
};

}  // namespace brigade
