#include "brigade/worker/shared_buffer.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>

#include "brigade/task/sleep.hpp"

namespace brigade {

namespace detail {
// One coroutine parked by wait_async; shared with a notification in flight to its loop.
struct AsyncWaitNode {
  std::size_t index;
  std::coroutine_handle<> h;  // the loop's thread only; cleared if the awaiter goes first
  std::shared_ptr<Mailbox> mailbox;
  bool listed = false;  // guarded by SharedBlock::mu
  bool notified = false;
};

struct SharedBlock {
  explicit SharedBlock(std::size_t n) : bytes(n), slots(new int32_t[(n + 3) / 4]()) {}
  std::size_t bytes;
  std::unique_ptr<int32_t[]> slots;
  std::mutex mu;
  std::list<std::shared_ptr<AsyncWaitNode>> waiters;  // guarded by mu, in arrival order
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

WaitResult SharedBuffer::wait(std::size_t i, int32_t expected, int64_t timeout_ms) const {
  if (i >= slots()) throw std::out_of_range("SharedBuffer::wait: index");
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000};
  long r = futex(&block_->slots[i], FUTEX_WAIT_PRIVATE, expected, timeout_ms < 0 ? nullptr : &ts);
  if (r == 0) return WaitResult::kOk;
  if (errno == EAGAIN) return WaitResult::kNotEqual;
  if (errno == ETIMEDOUT) return WaitResult::kTimedOut;
  if (errno == EINTR) return WaitResult::kOk;  // as a spurious wakeup: the caller re-checks
  throw_errno("futex");
}

int SharedBuffer::notify(std::size_t i, int count) const {
  if (i >= slots()) throw std::out_of_range("SharedBuffer::notify: index");
  long woken = futex(&block_->slots[i], FUTEX_WAKE_PRIVATE, count, nullptr);
  int n = woken > 0 ? int(woken) : 0;
  std::lock_guard lock(block_->mu);
  for (auto it = block_->waiters.begin(); it != block_->waiters.end() && n < count;) {
    auto node = *it;
    if (node->index != i) {
      ++it;
      continue;
    }
    it = block_->waiters.erase(it);
    node->listed = false;
    ++n;
    node->mailbox->post([node] {
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
  node_->mailbox = mailbox_.shared();
  {
    std::lock_guard lock(block_->mu);
    if (std::atomic_ref<int32_t>(block_->slots[index_]).load() != expected_) {
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
