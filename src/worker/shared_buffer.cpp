#include "brigade/worker/shared_buffer.hpp"

// Locks: SharedBlock::mu is a leaf. notify() unlists the async waiters it wakes under it and
// posts their wakeups to their loops (LoopHandle) after releasing it: an unlisted waiter's
// timeout already yields to the notification on its way.

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "brigade/task/sleep.hpp"
#include "brigade/worker/spin.hpp"

namespace brigade {

namespace detail {
// One coroutine parked by wait_async; shared with a notification in flight to its loop.
struct AsyncWaitNode {
  std::size_t index;
  std::coroutine_handle<> h;          // the loop's thread only; cleared if the awaiter goes first
  std::shared_ptr<LoopHandle> inbox;  // the waiting loop's
  bool listed = false;                // guarded by SharedBlock::mu
  bool notified = false;
};

// A thread spinning in wait() before it sleeps; lives on that thread's stack.
struct SpinWaiter {
  std::size_t index;
  std::atomic<bool> notified{false};  // set (after unlisting) by notify, under SharedBlock::mu
};

struct SharedBlock {
  explicit SharedBlock(std::size_t n) : bytes(n), slots(new int32_t[(n + 3) / 4]()) {}
  std::size_t bytes;
  std::unique_ptr<int32_t[]> slots;
  std::mutex mu;
  std::list<std::shared_ptr<AsyncWaitNode>> waiters;  // guarded by mu, in arrival order
  std::vector<SpinWaiter*> spinners;                  // guarded by mu, in arrival order
  // Counted before the slot is compared, so that notify, which loads them after the caller's
  // store, skips the futex syscall and the mutex when nobody can be waiting (seq_cst both sides).
  // Decrements are relaxed: one seen late only sends notify the slow way, to find no one.
  std::atomic<int> sleepers{0};  // threads in (or entering) FUTEX_WAIT
  std::atomic<int> listed{0};    // spinners + async waiters
};
}  // namespace detail

namespace {
long futex(void* addr, int op, int32_t val, const timespec* ts) {
  return syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}
}  // namespace

const char* to_string(WaitResult r) noexcept {
  switch (r) {
    case WaitResult::kOk:
      return "ok";
    case WaitResult::kNotEqual:
      return "not-equal";
    case WaitResult::kTimedOut:
      return "timed-out";
  }
  return "?";
}

SharedBuffer::SharedBuffer(std::size_t bytes)
    : block_(std::make_shared<detail::SharedBlock>(bytes)) {}

std::size_t SharedBuffer::size() const noexcept { return block_ ? block_->bytes : 0; }

std::byte* SharedBuffer::data() const noexcept {
  return block_ ? reinterpret_cast<std::byte*>(block_->slots.get()) : nullptr;
}

std::atomic_ref<int32_t> SharedBuffer::ref(std::size_t i) const noexcept {
  return std::atomic_ref<int32_t>(block_->slots[i]);
}

namespace {

thread_local detail::SpinBudget t_wait_budget{detail::default_spin_ns()};

int64_t ms_left(int64_t timeout_ms, uint64_t since_ns) {
  if (timeout_ms < 0) return -1;
  int64_t spent = int64_t((Loop::hrtime() - since_ns) / 1'000'000u);
  return spent >= timeout_ms ? 0 : timeout_ms - spent;
}

// Spins (see spin.hpp) until a notify for slot i; kTimedOut means "not yet: go to sleep".
WaitResult spin_wait(detail::SharedBlock& b, std::size_t i, int32_t expected, uint64_t budget) {
  detail::SpinWaiter self{i};
  {
    std::lock_guard lock(b.mu);
    b.listed.fetch_add(1, std::memory_order_seq_cst);
    if (std::atomic_ref<int32_t>(b.slots[i]).load() != expected) {
      b.listed.fetch_sub(1, std::memory_order_relaxed);
      return WaitResult::kNotEqual;
    }
    b.spinners.push_back(&self);
  }
  auto notified = [&self] { return self.notified.load(std::memory_order_acquire); };
  if (detail::spin_until(notified, budget)) {
    t_wait_budget.caught(detail::default_spin_ns());
    return WaitResult::kOk;
  }
  t_wait_budget.missed();
  std::lock_guard lock(b.mu);
  if (notified()) return WaitResult::kOk;  // late: the spin still counts as a miss
  std::erase(b.spinners, &self);
  b.listed.fetch_sub(1, std::memory_order_relaxed);
  return WaitResult::kTimedOut;
}

WaitResult futex_wait(detail::SharedBlock& b, std::size_t i, int32_t expected, int64_t ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  b.sleepers.fetch_add(1, std::memory_order_seq_cst);
  long r = futex(&b.slots[i], FUTEX_WAIT_PRIVATE, expected, ms < 0 ? nullptr : &ts);
  int err = errno;
  b.sleepers.fetch_sub(1, std::memory_order_relaxed);
  if (r == 0) return WaitResult::kOk;
  if (err == EAGAIN) return WaitResult::kNotEqual;
  if (err == ETIMEDOUT) return WaitResult::kTimedOut;
  if (err == EINTR) return WaitResult::kOk;  // as a spurious wakeup: the caller re-checks
  throw_errno("futex", err);
}

// Wakes up to count spinning waiters on slot i; called with b.mu held.
int wake_spinners(detail::SharedBlock& b, std::size_t i, int count) {
  int n = 0;
  for (auto it = b.spinners.begin(); it != b.spinners.end() && n < count;) {
    detail::SpinWaiter* w = *it;
    if (w->index != i) {
      ++it;
      continue;
    }
    it = b.spinners.erase(it);
    b.listed.fetch_sub(1, std::memory_order_relaxed);
    ++n;
    w->notified.store(true, std::memory_order_release);  // w may be gone right after this
  }
  return n;
}

}  // namespace

// A waiter that is notified quickly (a ping-pong) is caught by a short adaptive spin; otherwise
// it sleeps on the futex.
WaitResult SharedBuffer::wait(std::size_t i, int32_t expected, int64_t timeout_ms) const {
  if (i >= slots()) throw std::out_of_range("SharedBuffer::wait: index");
  detail::SharedBlock& b = *block_;
  if (ref(i).load() != expected) return WaitResult::kNotEqual;
  const uint64_t start = Loop::hrtime();
  uint64_t max = detail::default_spin_ns();
  if (timeout_ms >= 0) max = std::min<uint64_t>(max, uint64_t(timeout_ms) * 1'000'000u);
  if (uint64_t budget = t_wait_budget.next(max)) {
    WaitResult r = spin_wait(b, i, expected, budget);
    if (r != WaitResult::kTimedOut) return r;
  }
  return futex_wait(b, i, expected, ms_left(timeout_ms, start));
}

int SharedBuffer::notify(std::size_t i, int count) const {
  if (i >= slots()) throw std::out_of_range("SharedBuffer::notify: index");
  detail::SharedBlock& b = *block_;
  int n = 0;
  if (b.listed.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard lock(b.mu);
    n = wake_spinners(b, i, count);
  }
  if (n < count && b.sleepers.load(std::memory_order_seq_cst) > 0) {
    long woken = futex(&b.slots[i], FUTEX_WAKE_PRIVATE, count - n, nullptr);
    n += woken > 0 ? int(woken) : 0;
  }
  if (n >= count || b.listed.load(std::memory_order_seq_cst) == 0) return n;
  std::vector<std::shared_ptr<detail::AsyncWaitNode>> woken;
  {
    std::lock_guard lock(b.mu);
    for (auto it = b.waiters.begin(); it != b.waiters.end() && n < count;) {
      if ((*it)->index != i) {
        ++it;
        continue;
      }
      (*it)->listed = false;
      woken.push_back(std::move(*it));
      it = b.waiters.erase(it);
      b.listed.fetch_sub(1, std::memory_order_relaxed);
      ++n;
    }
  }
  for (auto& node : woken) {
    LoopHandle& to = *node->inbox;
    to.post([node = std::move(node)] {
      node->notified = true;
      if (node->h) std::exchange(node->h, {}).resume();
    });
  }
  return n;
}

SharedBuffer::WaitAsync SharedBuffer::wait_async(std::size_t i, int32_t expected,
                                                 int64_t timeout_ms, Loop* loop) const {
  if (i >= slots()) throw std::out_of_range("SharedBuffer::wait_async: index");
  return WaitAsync(block_, i, expected, timeout_ms, detail::loop_or_current(loop));
}

bool SharedBuffer::WaitAsync::await_suspend(std::coroutine_handle<> h) {
  mailbox_ = MailboxRef(*loop_);
  node_ = std::make_shared<detail::AsyncWaitNode>();
  node_->index = index_;
  node_->h = h;
  node_->inbox = mailbox_.handle();
  {
    std::lock_guard lock(block_->mu);
    block_->listed.fetch_add(1, std::memory_order_seq_cst);
    if (std::atomic_ref<int32_t>(block_->slots[index_]).load() != expected_) {
      block_->listed.fetch_sub(1, std::memory_order_relaxed);
      result_ = WaitResult::kNotEqual;
      node_.reset();
      return false;
    }
    node_->listed = true;
    block_->waiters.push_back(node_);
  }
  keep_ = KeepAlive(*loop_);
  if (timeout_ms_ >= 0) {
    timer_ = Timer(*loop_);
    timer_.start(uint64_t(timeout_ms_), [this] {
      {
        std::lock_guard lock(block_->mu);
        if (!node_->listed) return;  // a notification is on its way: it wins
        unlist();
      }
      result_ = WaitResult::kTimedOut;
      std::exchange(node_->h, {}).resume();
    });
  }
  return true;
}

// Called with block_->mu held.
void SharedBuffer::WaitAsync::unlist() {
  node_->listed = false;
  std::erase(block_->waiters, node_);
  block_->listed.fetch_sub(1, std::memory_order_relaxed);
}

WaitResult SharedBuffer::WaitAsync::await_resume() {
  if (node_ && node_->notified) result_ = WaitResult::kOk;
  timer_.clear();
  keep_.reset();
  return result_;
}

SharedBuffer::WaitAsync::~WaitAsync() {
  if (!node_) return;
  node_->h = {};  // a notification in flight finds no one
  std::lock_guard lock(block_->mu);
  if (node_->listed) unlist();
}

}  // namespace brigade
