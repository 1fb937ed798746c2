#pragma once
// Waiters: coroutines parked until someone wakes them or their deadline passes (a connection
// coming back, a lease given back). A woken waiter re-checks what it waits for. Loop-thread only.
#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <vector>

#include "brigade/loop/loop.hpp"

namespace brigade::redis::detail {

class Waiters {
 public:
  class Awaiter {
   public:
    Awaiter(Waiters& list, Loop& loop, uint64_t timeout_ms)
        : list_(list), loop_(loop), timeout_ms_(timeout_ms) {}
    Awaiter(Awaiter&& o) noexcept : list_(o.list_), loop_(o.loop_), timeout_ms_(o.timeout_ms_) {}
    ~Awaiter() { unlink(); }
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      h_ = h;
      list_.parked_.push_back(this);
      keep_.emplace(loop_);
      if (timeout_ms_ > 0) {
        timer_ = Timer(loop_);
        timer_.start(timeout_ms_, [this] {
          unlink();
          h_.resume();
        });
      }
    }
    // True if woken, false if the deadline passed.
    bool await_resume() noexcept { return woken_; }

   private:
    friend class Waiters;
    void unlink() {
      std::erase(list_.parked_, this);
      timer_.clear();
      keep_.reset();
    }
    Waiters& list_;
    Loop& loop_;
    uint64_t timeout_ms_;
    std::coroutine_handle<> h_;
    bool woken_ = false;
    Timer timer_;
    std::optional<KeepAlive> keep_;
  };

  Awaiter wait(Loop& loop, uint64_t timeout_ms) { return Awaiter(*this, loop, timeout_ms); }
  bool empty() const noexcept { return parked_.empty(); }
  void wake_one() {
    if (parked_.empty()) return;
    wake(parked_.front());
  }
  void wake_all() {
    while (!parked_.empty()) wake(parked_.front());
  }

 private:
  void wake(Awaiter* a) {
    a->unlink();
    a->woken_ = true;
    a->loop_.queue_microtask([h = a->h_] { h.resume(); });
  }
  std::vector<Awaiter*> parked_;
};

}  // namespace brigade::redis::detail
