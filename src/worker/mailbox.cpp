#include "brigade/worker/mailbox.hpp"

#include <cassert>

#include "brigade/worker/spin.hpp"

namespace brigade {

namespace {
// The mailboxes of this thread's loops that have endpoints.
thread_local std::vector<std::shared_ptr<Mailbox>> t_boxes;

constexpr uint64_t kRecentNs = 1'000'000;  // spin only if a batch came in this recently
}  // namespace

Mailbox::Mailbox(Loop& loop)
    : loop_(&loop), spin_ns_(detail::default_spin_ns()), budget_(spin_ns_.load()) {}

void Mailbox::attach_endpoint() {
  if (endpoints_++ == 0)
    hook_id_ = loop_->add_spin_hook([this](uint64_t max_ns) { return spin(max_ns); });
}

void Mailbox::detach_endpoint() {
  assert(endpoints_ > 0 && "a MailboxRef detached twice");
  if (--endpoints_ > 0) return;
  loop_->remove_hook(hook_id_);
  std::erase_if(t_boxes, [this](const std::shared_ptr<Mailbox>& b) { return b.get() == this; });
}

// While messages flow, the loop spins (see spin.hpp) before it sleeps, until a post is pending.
// The loop counts the spin as idle time and a caught batch, run right after, as work. Posts
// that come meanwhile write no eventfd: the loop is awake (loop_handle.hpp).
bool Mailbox::spin(uint64_t limit_ns) {
  const LoopHandle& handle = *loop_->handle();
  if (handle.pending()) return true;
  if (Loop::hrtime() - handle.last_batch_ns() > kRecentNs) return false;  // idle: sleep at once
  const uint64_t max = spin_ns_.load(std::memory_order_relaxed);
  const uint64_t budget = budget_.next(std::min(max, limit_ns));
  if (budget == 0) return false;
  if (detail::spin_until([&handle] { return handle.pending(); }, budget)) {
    budget_.caught(max);
    return true;
  }
  budget_.missed();
  return handle.pending();  // came as the spin gave up
}

MailboxRef::MailboxRef(Loop& loop) {
  for (auto& b : t_boxes)
    if (b->loop_ == &loop) box_ = b;
  if (!box_) {
    box_ = std::make_shared<Mailbox>(loop);
    t_boxes.push_back(box_);
  }
  box_->attach_endpoint();
}

void MailboxRef::reset() {
  if (!box_) return;
  box_->detach_endpoint();
  box_.reset();
}

}  // namespace brigade
