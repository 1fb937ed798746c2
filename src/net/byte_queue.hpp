#pragma once
// ByteQueue: the unsent bytes of a stream, one contiguous buffer consumed from the front.
// It keeps its capacity, so a steady request/response cycle allocates nothing.
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace brigade::net::detail {

class ByteQueue {
 public:
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::span<const char> front() const noexcept { return {buf_.get() + begin_, size()}; }

  void append(std::span<const char> bytes);
  void consume(std::size_t n) noexcept;
  void clear() noexcept;
  // Hands the buffer over (its bytes too) and leaves the queue empty, without capacity.
  std::unique_ptr<char[]> release() noexcept;
  // An empty queue gives its buffer up (one of the two usual sizes to this thread's spares,
  // which the next append of any queue takes back): an idle stream holds no buffer, and a busy
  // one allocates nothing in the steady state.
  void shed() noexcept;

 private:
  static constexpr std::size_t kMinCapacity = 4096;
  static constexpr std::size_t kSmallCapacity = 256;     // a first small write without a spare
  static constexpr std::size_t kKeepCapacity = 1 << 20;  // a bigger buffer is freed once empty

  static std::vector<std::unique_ptr<char[]>>* spares(std::size_t cap) noexcept;
  static std::unique_ptr<char[]> take_spare(std::size_t cap) noexcept;  // null: none
  static void give_spare(std::unique_ptr<char[]> buf, std::size_t cap) noexcept;

  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

}  // namespace brigade::net::detail
