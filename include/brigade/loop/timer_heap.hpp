#pragma once
// TimerHeap: a 4-ary min-heap of deadlines over a chunked slab of timer slots.
// Insert, cancel and refresh are O(log n); a slot is 40 bytes and a heap entry 16, so
// 1,000,000 pending timers take about 56 MB with no doubling spikes in the slab.
#include <cstdint>
#include <memory>
#include <vector>

#include "brigade/loop/function.hpp"

namespace brigade {

// Names a timer; stale ids (fired or cleared) are recognised by their generation.
struct TimerId {
  uint32_t slot = UINT32_MAX;
  uint32_t gen = 0;
  explicit operator bool() const noexcept { return slot != UINT32_MAX; }
  friend bool operator==(TimerId, TimerId) = default;
};

class TimerHeap {
 public:
  TimerHeap() = default;
  TimerHeap(const TimerHeap&) = delete;
  TimerHeap& operator=(const TimerHeap&) = delete;

  TimerId add(uint64_t now_ms, uint64_t timeout_ms, bool repeat, Callback cb);
  bool cancel(TimerId id);
  bool refresh(TimerId id, uint64_t now_ms);  // restart with its own timeout
  bool set_ref(TimerId id, bool ref);         // returns false for a stale id
  bool has_ref(TimerId id) const;
  bool active(TimerId id) const;

  std::size_t size() const noexcept { return heap_.size(); }
  std::size_t ref_count() const noexcept { return refs_; }
  // Milliseconds until the earliest deadline (0 if due), or -1 if there is none.
  int64_t next_timeout(uint64_t now_ms) const noexcept;
  // Runs every timer due at now_ms, in deadline then creation order. `after_each` runs after
  // each callback (the loop drains its microtasks there). Returns how many ran.
  template <typename AfterEach>
  std::size_t run_due(uint64_t now_ms, AfterEach&& after_each);

 private:
  struct Slot {
    Callback cb;
    uint32_t heap_pos;  // index in heap_, or kFree
    uint32_t gen;
    uint32_t timeout_ms;
    uint8_t repeat;
    uint8_t ref;
  };
  struct Entry {
    uint64_t due;
    uint32_t seq;
    uint32_t slot;
  };
  static constexpr uint32_t kFree = UINT32_MAX;
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunk = 1u << kChunkBits;

  Slot& slot(uint32_t i) noexcept { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const Slot& slot(uint32_t i) const noexcept {
    return chunks_[i >> kChunkBits][i & (kChunk - 1)];
  }
  const Slot* live(TimerId id) const noexcept;
  uint32_t alloc_slot();
  void free_slot(uint32_t i);
  static bool less(const Entry& a, const Entry& b) noexcept {
    return a.due < b.due || (a.due == b.due && int32_t(a.seq - b.seq) < 0);
  }
  void push(Entry e);
  void remove_at(uint32_t pos);
  void sift_up(uint32_t pos);
  void sift_down(uint32_t pos);
  void place(uint32_t pos, const Entry& e) noexcept {
    heap_[pos] = e;
    slot(e.slot).heap_pos = pos;
  }
  bool fire_one(uint64_t now_ms);

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::vector<uint32_t> free_;
  std::vector<Entry> heap_;
  uint32_t slots_used_ = 0;
  uint32_t seq_ = 0;
  std::size_t refs_ = 0;
};

template <typename AfterEach>
std::size_t TimerHeap::run_due(uint64_t now_ms, AfterEach&& after_each) {
  std::size_t n = 0;
  while (!heap_.empty() && heap_[0].due <= now_ms) {
    if (fire_one(now_ms)) {
      ++n;
      after_each();
    }
  }
  return n;
}

}  // namespace brigade
