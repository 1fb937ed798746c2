#pragma once
// Mailbox: what the message endpoints of one loop (ports, workers, the worker pool, SharedBuffer's
// async waits) share: the loop's LoopHandle, through which other threads reach them (the one
// cross-thread entry, brigade/loop/loop_handle.hpp; a Mailbox has no queue or lock of its own),
// and the spin below. Endpoints attach on the loop's thread through a MailboxRef and detach
// before the loop goes away.
// While messages flow (a posted batch ran in the last millisecond), the loop spins a few
// microseconds before it sleeps in its poller (a Loop spin hook), so a quick reply skips the
// eventfd wakeup entirely and its sender skips the eventfd write (the loop is awake).
#include <atomic>
#include <cstdint>
#include <memory>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/spin.hpp"

namespace brigade {

class Mailbox {
 public:
  explicit Mailbox(Loop& loop);
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Where other threads post to the endpoints of this loop.
  const std::shared_ptr<LoopHandle>& handle() const noexcept { return loop_->handle(); }
  // Longest spin before sleeping while messages flow (default 50 us, or BRIGADE_SPIN_NS; 0: off).
  void set_spin_ns(uint64_t ns) noexcept { spin_ns_.store(ns, std::memory_order_relaxed); }
  Loop* loop() const noexcept { return loop_; }  // the loop's thread only

 private:
  friend class MailboxRef;
  void attach_endpoint();
  void detach_endpoint();
  bool spin(uint64_t limit_ns);

  Loop* loop_;
  std::atomic<uint64_t> spin_ns_;
  uint64_t hook_id_ = 0;
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
  // The loop's handle, for the endpoint's shared state (what other threads post to).
  const std::shared_ptr<LoopHandle>& handle() const noexcept { return box_->handle(); }

 private:
  std::shared_ptr<Mailbox> box_;
};

}  // namespace brigade
