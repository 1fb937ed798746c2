#include "byte_queue.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

namespace brigade::net::detail {

namespace {
thread_local bool t_spares_gone = false;  // trivially destructible: readable at thread exit

// Small buffers shed by idle queues of this thread, for the next queue that needs one.
struct SpareBuffers {
  static constexpr std::size_t kMax = 8;  // bounds what an idle thread keeps (32 KiB)
  std::vector<std::unique_ptr<char[]>> buffers;
  ~SpareBuffers() { t_spares_gone = true; }  // a queue destroyed later frees its own buffer
};
thread_local SpareBuffers t_spares;
}  // namespace

void ByteQueue::append(std::span<const char> bytes) {
  std::size_t n = bytes.size();
  if (n == 0) return;
  if (end_ + n > cap_) {
    std::size_t used = size();
    if (used + n <= cap_) {
      std::memmove(buf_.get(), buf_.get() + begin_, used);  // room at the front: slide down
    } else {
      std::size_t cap = std::max({cap_ * 2, used + n, kMinCapacity});
      std::unique_ptr<char[]> grown;
      bool spare = !t_spares_gone && !t_spares.buffers.empty();
      if (cap == kMinCapacity && spare) {
        grown = std::move(t_spares.buffers.back());
        t_spares.buffers.pop_back();
      } else if (cap == kMinCapacity && cap_ == 0 && n <= kSmallCapacity) {
        // No spare: many queues fill at once (a broadcast to thousands of sockets, each send
        // holding its buffer until its completion). A small buffer each keeps them in a few
        // hot pages instead of a fresh 4 KiB page per socket.
        cap = kSmallCapacity;
        grown = std::make_unique_for_overwrite<char[]>(cap);
      } else {
        grown = std::make_unique_for_overwrite<char[]>(cap);
      }
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

void ByteQueue::shed() noexcept {
  assert(empty() && "only an empty queue sheds its buffer");
  if (cap_ == kMinCapacity && !t_spares_gone && t_spares.buffers.size() < SpareBuffers::kMax) {
    try {
      t_spares.buffers.push_back(std::move(buf_));
    } catch (...) {  // no room for the pointer: the buffer is simply freed
    }
  }
  buf_.reset();
  cap_ = begin_ = end_ = 0;
}

std::unique_ptr<char[]> ByteQueue::release() noexcept {
  cap_ = begin_ = end_ = 0;
  return std::move(buf_);
}

}  // namespace brigade::net::detail
