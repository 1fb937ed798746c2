#include "byte_queue.hpp"

#include <algorithm>
#include <cstring>

namespace brigade::net::detail {

void ByteQueue::append(std::span<const char> bytes) {
  std::size_t n = bytes.size();
  if (n == 0) return;
  if (end_ + n > cap_) {
    std::size_t used = size();
    if (used + n <= cap_) {
      std::memmove(buf_.get(), buf_.get() + begin_, used);  // room at the front: slide down
    } else {
      std::size_t cap = std::max({cap_ * 2, used + n, kMinCapacity});
      auto grown = std::make_unique_for_overwrite<char[]>(cap);
      if (used) std::memcpy(grown.get(), buf_.get() + begin_, used);
      buf_ = std::move(grown);
      cap_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }
  std::memcpy(buf_.get() + end_, bytes.data(), n);
  end_ += n;
}

void ByteQueue::consume(std::size_t n) noexcept {
  begin_ += n;
  if (begin_ == end_) clear();
}

void ByteQueue::clear() noexcept {
  begin_ = end_ = 0;
  if (cap_ > kKeepCapacity) {
    buf_.reset();
    cap_ = 0;
  }
}

}  // namespace brigade::net::detail
