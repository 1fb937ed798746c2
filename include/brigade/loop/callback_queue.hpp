#pragma once
// A FIFO of callbacks on a power-of-two ring: push and pop without allocation once warm.
#include <cstddef>
#include <memory>
#include <utility>

#include "brigade/loop/function.hpp"

namespace brigade {

class CallbackQueue {
 public:
  CallbackQueue() = default;
  CallbackQueue(const CallbackQueue&) = delete;
  CallbackQueue& operator=(const CallbackQueue&) = delete;

  bool empty() const noexcept { return head_ == tail_; }
  std::size_t size() const noexcept { return tail_ - head_; }

  void push(Callback cb) {
    if (tail_ - head_ == cap_) grow();
    ring_[tail_++ & (cap_ - 1)] = std::move(cb);
  }

  Callback pop() noexcept { return std::move(ring_[head_++ & (cap_ - 1)]); }

  // Runs what is queued now; callbacks queued meanwhile wait for the next call.
  template <typename AfterEach>
  void run_batch(AfterEach&& after_each) {
    std::size_t n = size();
    while (n-- > 0) {
      Callback cb = pop();
      cb();
      after_each();
    }
  }

 private:
  void grow() {
    std::size_t ncap = cap_ ? cap_ * 2 : 64;
    auto nring = std::make_unique<Callback[]>(ncap);
    std::size_t n = size();
    for (std::size_t i = 0; i < n; ++i) nring[i] = std::move(ring_[(head_ + i) & (cap_ - 1)]);
    ring_ = std::move(nring);
    cap_ = ncap;
    head_ = 0;
    tail_ = n;
  }

  std::unique_ptr<Callback[]> ring_;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace brigade
