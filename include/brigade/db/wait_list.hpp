#pragma once
// WaitList<T>: coroutines waiting, first come first served, for a T that someone hands over (a
// connection from a pool, a free slot), each with an optional deadline. Loop-thread only.
#include <coroutine>
#include <cstdint>
#include <deque>
#include <optional>

#include "brigade/loop/loop.hpp"

namespace brigade::db {

template <typename T>
class WaitList {
 public:
  class Awaiter;

  // co_await list.wait(loop, ms): the handed value, or nullopt when `timeout_ms` (0: none) passed.
  Awaiter wait(Loop& loop, uint64_t timeout_ms) { return Awaiter(*this, loop, timeout_ms); }

  // Hands `value` to the longest waiter (resumed as a microtask); false if nobody waits.
  bool wake_one(T value) {
    if (waiters_.empty()) return false;
    Awaiter* w = waiters_.front();
    waiters_.pop_front();
    w->hand(std::move(value));
    return true;
  }
  std::size_t size() const noexcept { return waiters_.size(); }
  bool empty() const noexcept { return waiters_.empty(); }

  class Awaiter {
   public:
    Awaiter(WaitList& list, Loop& loop, uint64_t timeout_ms)
        : list_(list), loop_(loop), timeout_ms_(timeout_ms) {}
    // Movable until await_suspend: the list learns its address there.
    Awaiter(Awaiter&& o) noexcept : list_(o.list_), loop_(o.loop_), timeout_ms_(o.timeout_ms_) {}
    ~Awaiter() {
      if (queued_) std::erase(list_.waiters_, this);
    }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      h_ = h;
      queued_ = true;
      list_.waiters_.push_back(this);
      keep_.emplace(loop_);
      if (timeout_ms_ > 0) {
        timer_ = Timer(loop_);
        timer_.start(timeout_ms_, [this] {
          std::erase(list_.waiters_, this);
          queued_ = false;
          keep_.reset();
          h_.resume();
        });
      }
    }
    std::optional<T> await_resume() { return std::move(value_); }

   private:
    friend class WaitList;
    void hand(T value) {
      queued_ = false;
      value_.emplace(std::move(value));
      timer_.clear();
      keep_.reset();
      loop_.queue_microtask([h = h_] { h.resume(); });
    }
    WaitList& list_;
    Loop& loop_;
    uint64_t timeout_ms_;
    std::coroutine_handle<> h_;
    bool queued_ = false;
    std::optional<T> value_;
    Timer timer_;
    std::optional<KeepAlive> keep_;  // a waiter keeps the loop alive, as a pending request does
  };

 private:
  std::deque<Awaiter*> waiters_;
};

}  // namespace brigade::db
