#pragma once
// TimerQueue: Node's timer layout. Timers of one duration (whole ms) share a list, in creation
// order (so each list is sorted by deadline); a 4-ary heap orders the lists by their first
// deadline. Insert, cancel and refresh are O(1) (plus O(log lists) when a list's head changes);
// firing walks lists in order. A slot is 48 bytes, so 1,000,000 pending timers take about 48 MB.
// Deadlines are exact nanoseconds on the caller's monotonic clock (the loop's), so the loop can
// sleep to the instant a timer is due; durations stay milliseconds, as Node's API.
#include <cstdint>
#include <memory>
#include <unordered_map>
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

class TimerQueue {
 public:
  // Longest timeout, as Node's TIMEOUT_MAX; longer (or zero) timeouts become 1 ms, as in Node.
  static constexpr uint64_t kMaxTimeoutMs = 2147483647;

  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // `now_ns` never goes back between calls (a monotonic clock): each list stays sorted.
  TimerId add(uint64_t now_ns, uint64_t timeout_ms, bool repeat, Callback cb);
  bool cancel(TimerId id);
  bool refresh(TimerId id, uint64_t now_ns);  // restart with its own timeout
  bool set_ref(TimerId id, bool ref);         // false for a stale id
  bool has_ref(TimerId id) const;
  bool active(TimerId id) const { return live(id) != nullptr; }

  std::size_t size() const noexcept { return size_; }
  std::size_t ref_count() const noexcept { return refs_; }
  // Nanoseconds until the earliest deadline (0 if due), or -1 if there is none.
  int64_t next_timeout(uint64_t now_ns) const noexcept;
  // Runs every timer due at now_ns in deadline, then creation, order; `after_each` runs after
  // each callback (the loop drains its microtasks there). Returns how many ran. An interval's
  // next deadline is its last plus its period (no drift), or now plus it if that has passed.
  template <typename AfterEach>
  std::size_t run_due(uint64_t now_ns, AfterEach&& after_each) {
    std::size_t n = 0;
    while (!heap_.empty() && slot(lists_[heap_[0]].head).due <= now_ns) {
      fire_head(heap_[0], now_ns);
      ++n;
      after_each();
    }
    return n;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunk = 1u << kChunkBits;
  static constexpr uint32_t kRefBit = 1u << 31;
  static constexpr uint32_t kRepeatBit = 1u << 30;
  static constexpr uint32_t kGenMask = kRepeatBit - 1;

  static constexpr uint64_t kNsPerMs = 1'000'000;

  struct Slot {
    Callback cb;
    uint64_t due;   // ns on the caller's clock
    uint32_t next;  // in its list, or in the free list
    uint32_t prev;
    uint32_t flags;  // generation | kRefBit | kRepeatBit
    uint32_t list;   // kNone while free
  };
  struct List {
    uint32_t head = kNone, tail = kNone;
    uint32_t duration = 0;  // ms
    uint32_t heap_pos = kNone;
  };

  Slot& slot(uint32_t i) noexcept { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const Slot& slot(uint32_t i) const noexcept { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const Slot* live(TimerId id) const noexcept;
  uint32_t alloc_slot();
  void free_slot(uint32_t i);
  uint32_t list_for(uint32_t duration);
  void append(uint32_t list, uint32_t i, uint64_t due_ns);
  void unlink(uint32_t i);
  void fire_head(uint32_t list, uint64_t now_ns);

  bool before(uint32_t a, uint32_t b) const noexcept;  // lists, by their heads
  void heap_push(uint32_t list);
  void heap_remove(uint32_t list);
  void heap_fix(uint32_t list);  // after its head changed
  void sift_up(uint32_t pos);
  void sift_down(uint32_t pos);
  void heap_place(uint32_t pos, uint32_t list) noexcept {
    heap_[pos] = list;
    lists_[list].heap_pos = pos;
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  uint32_t slots_used_ = 0;
  uint32_t free_head_ = kNone;
  std::vector<List> lists_;
  std::unordered_map<uint32_t, uint32_t> list_of_duration_;
  std::vector<uint32_t> heap_;  // list indices
  std::size_t size_ = 0;
  std::size_t refs_ = 0;
};

}  // namespace brigade
