#include "byte_queue.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

namespace brigade::net::detail {

namespace {
thread_local bool t_spares_gone = false;  // trivially destructible: readable at thread exit

// Buffers shed by idle queues of this thread, for the next queue that needs one: the small ones
// and the 4 KiB ones apart, so a steady cycle of small answers allocates nothing either.
struct SpareBuffers {
  static constexpr std::size_t kMax = 8;  // of each size: bounds what an idle thread keeps (34 KiB)
  std::vector<std::unique_ptr<char[]>> small, regular;
  ~SpareBuffers() { t_spares_gone = true; }  // a queue destroyed later frees its own buffer
};
thread_local SpareBuffers t_spares;
}  // namespace

// The spares of this thread for buffers of `cap` bytes, or null (another size, or gone).
std::vector<std::unique_ptr<char[]>>* ByteQueue::spares(std::size_t cap) noexcept {
  if (t_spares_gone) return nullptr;
  return cap == kSmallCapacity ? &t_spares.small
         : cap == kMinCapacity ? &t_spares.regular
                               : nullptr;
}

std::unique_ptr<char[]> ByteQueue::take_spare(std::size_t cap) noexcept {
  auto* list = spares(cap);
  if (!list || list->empty()) return nullptr;
  std::unique_ptr<char[]> b = std::move(list->back());
  list->pop_back();
  return b;
}

void ByteQueue::give_spare(std::unique_ptr<char[]> buf, std::size_t cap) noexcept {
  auto* list = spares(cap);
  if (!list || list->size() >= SpareBuffers::kMax) return;
  try {
    list->push_back(std::move(buf));
  } catch (...) {  // no room for the pointer: the buffer is simply freed
  }
}

void ByteQueue::append(std::span<const char> bytes) {
  std::size_t n = bytes.size();
  if (n == 0) return;
  if (end_ + n > cap_) {
    std::size_t used = size();
    if (used + n <= cap_) {
      std::memmove(buf_.get(), buf_.get() + begin_, used);  // room at the front: slide down
    } else {
      // A first small write takes a small buffer: when many queues fill at once (a broadcast to
      // thousands of sockets, each send holding its buffer until its completion) they stay in
      // a few hot pages instead of a fresh 4 KiB page per socket.
      std::size_t cap = cap_ == 0 && n <= kSmallCapacity
                            ? kSmallCapacity
                            : std::max({cap_ * 2, used + n, kMinCapacity});
      std::unique_ptr<char[]> grown = take_spare(cap);
      if (!grown) grown = std::make_unique_for_overwrite<char[]>(cap);
      if (used) std::memcpy(grown.get(), buf_.get() + begin_, used);
      if (buf_) give_spare(std::move(buf_), cap_);  // outgrown
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
  if (buf_) give_spare(std::move(buf_), cap_);
  buf_.reset();
  cap_ = begin_ = end_ = 0;
}

std::unique_ptr<char[]> ByteQueue::release() noexcept {
  cap_ = begin_ = end_ = 0;
  return std::move(buf_);
}

}  // namespace brigade::net::detail
