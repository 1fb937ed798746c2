#pragma once
// SharedBuffer: a block of memory shared between threads (SharedArrayBuffer), with the Atomics
// operations on its 32-bit slots: load/store/add/sub/exchange/compare_exchange, a blocking
// wait/notify on a futex (Atomics.wait/notify) and wait_async, which parks a coroutine without
// blocking its loop (Atomics.waitAsync). Copies share the same memory; send one to a worker
// through workerData or a port.
#include <atomic>
#include <climits>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/mailbox.hpp"

namespace brigade {

enum class WaitResult { kOk, kNotEqual, kTimedOut };
const char* to_string(WaitResult r) noexcept;  // "ok", "not-equal", "timed-out"

namespace detail {
struct SharedBlock;
struct AsyncWaitNode;
}  // namespace detail

class SharedBuffer {
 public:
  SharedBuffer() = default;
  explicit SharedBuffer(std::size_t bytes);  // zero-filled; slots are 4 bytes each

  std::size_t size() const noexcept;  // bytes
  std::size_t slots() const noexcept { return size() / 4; }
  std::byte* data() const noexcept;

  int32_t load(std::size_t i) const noexcept { return ref(i).load(); }
  void store(std::size_t i, int32_t v) const noexcept { ref(i).store(v); }
  int32_t add(std::size_t i, int32_t v) const noexcept { return ref(i).fetch_add(v); }  // old value
  int32_t sub(std::size_t i, int32_t v) const noexcept { return ref(i).fetch_sub(v); }
  int32_t exchange(std::size_t i, int32_t v) const noexcept { return ref(i).exchange(v); }
  // Stores desired if slot i holds expected; returns the value it held (Atomics.compareExchange).
  int32_t compare_exchange(std::size_t i, int32_t expected, int32_t desired) const noexcept {
    ref(i).compare_exchange_strong(expected, desired);
    return expected;
  }

  // Blocks this thread while slot i holds expected, until notified or timeout_ms passes
  // (negative: no timeout). Never call it on a loop thread that others wait on.
  WaitResult wait(std::size_t i, int32_t expected, int64_t timeout_ms = -1) const;
  // Wakes up to count waiters on slot i (blocked and async); returns how many.
  int notify(std::size_t i, int count = INT_MAX) const;

  class WaitAsync;
  // co_await buf.wait_async(i, expected, ms): the loop keeps running meanwhile.
  WaitAsync wait_async(std::size_t i, int32_t expected, int64_t timeout_ms = -1,
                       Loop* loop = nullptr) const;

 private:
  std::atomic_ref<int32_t> ref(std::size_t i) const noexcept;
  std::shared_ptr<detail::SharedBlock> block_;
};

class SharedBuffer::WaitAsync {
 public:
  WaitAsync(std::shared_ptr<detail::SharedBlock> block, std::size_t i, int32_t expected,
            int64_t timeout_ms, Loop& loop)
      : block_(std::move(block)),
        index_(i),
        expected_(expected),
        timeout_ms_(timeout_ms),
        loop_(&loop) {}
  WaitAsync(WaitAsync&&) noexcept = default;
  ~WaitAsync();
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  WaitResult await_resume();

 private:
  void unlist();
  std::shared_ptr<detail::SharedBlock> block_;
  std::size_t index_;
  int32_t expected_;
  int64_t timeout_ms_;
  Loop* loop_;
  WaitResult result_ = WaitResult::kNotEqual;
  std::shared_ptr<detail::AsyncWaitNode> node_;
  MailboxRef mailbox_;
  Timer timer_;
  KeepAlive keep_;
};

}  // namespace brigade
