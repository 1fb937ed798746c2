#include "brigade/worker/mailbox.hpp"

// Lock order (held -> taken): Mailbox::mu_ -> Loop::post_mu_ (the first post of a batch wakes
// the loop while the queue is locked, so that a batch is never posted twice).

#include "brigade/worker/spin.hpp"

namespace brigade {

namespace {
thread_local Mailbox* t_running = nullptr;
// The mailboxes of this thread's loops that have endpoints.
thread_local std::vector<std::shared_ptr<Mailbox>> t_boxes;

constexpr uint64_t kRecentNs = 1'000'000;  // spin only if a batch came in this recently
}  // namespace

Mailbox* Mailbox::current() noexcept { return t_running; }

Mailbox::Mailbox(Loop& loop)
    : loop_(&loop), spin_ns_(detail::default_spin_ns()), budget_(spin_ns_.load()) {}

bool Mailbox::post(Callback cb) {
  std::lock_guard lock(mu_);
  if (!loop_) return false;
  queue_.push_back(std::move(cb));
  // Only the post that finds the loop neither notified nor spinning pays for a wakeup.
  if (state_.exchange(kNotified, std::memory_order_acq_rel) == kIdle)
    loop_->post([self = shared_from_this()] { self->drain(); });
  return true;
}

void Mailbox::attach_endpoint() {
  if (endpoints_++ == 0)
    hook_id_ = loop_->add_spin_hook([this](uint64_t max_ns) { return spin(max_ns); });
}

void Mailbox::detach_endpoint() {
  if (--endpoints_ > 0) return;
  Loop* loop = loop_;
  {
    std::lock_guard lock(mu_);
    loop_ = nullptr;
    queue_.clear();
  }
  loop->remove_hook(hook_id_);
  std::erase_if(t_boxes, [this](const std::shared_ptr<Mailbox>& b) { return b.get() == this; });
}

void Mailbox::drain() {
  if (!loop_) return;  // closed: a wakeup posted before the last endpoint left
  auto keep = shared_from_this();
  Loop* loop = loop_;
  state_.store(kIdle, std::memory_order_seq_cst);  // before taking the queue: later posts wake us
  {
    std::lock_guard lock(mu_);
    batch_.swap(queue_);
  }
  last_batch_ns_ = Loop::hrtime();
  Mailbox* outer = t_running;
  t_running = this;
  struct Restore {
    Mailbox* self;
    Mailbox* outer;
    ~Restore() {
      self->batch_.clear();
      t_running = outer;
    }
  } restore{this, outer};
  for (std::size_t i = 0; i < batch_.size() && loop_; ++i) {
    batch_[i]();
    loop->drain_microtasks();
  }
}

// While messages flow, the loop spins (see spin.hpp) before it sleeps. The loop counts the spin as
// idle time and a caught batch, run right after, as work.
bool Mailbox::spin(uint64_t limit_ns) {
  const uint64_t max = spin_ns_.load(std::memory_order_relaxed);
  if (!loop_ || Loop::hrtime() - last_batch_ns_ > kRecentNs) return false;  // idle: sleep at once
  const uint64_t budget = budget_.next(std::min(max, limit_ns));
  if (budget == 0) return false;
  int expected = kIdle;
  if (!state_.compare_exchange_strong(expected, kSpinning)) return false;  // a wakeup is coming
  Loop* loop = loop_;
  bool caught = detail::spin_until(
      [this, loop] {
        return state_.load(std::memory_order_acquire) == kNotified || loop->post_pending();
      },
      budget);
  if (caught) {
    budget_.caught(max);
  } else {
    budget_.missed();
  }
  expected = kSpinning;
  if (state_.compare_exchange_strong(expected, kIdle)) return loop->post_pending();
  // Notified (while spinning or as it gave up): the batch runs in this poll phase, as a wakeup
  // would have run it; the loop is awake, so this post writes no eventfd.
  loop->post([self = shared_from_this()] { self->drain(); });
  return true;
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
