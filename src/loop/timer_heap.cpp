#include "brigade/loop/timer_heap.hpp"

namespace brigade {

uint32_t TimerHeap::alloc_slot() {
  if (!free_.empty()) {
    uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  if ((slots_used_ & (kChunk - 1)) == 0) chunks_.push_back(std::make_unique<Slot[]>(kChunk));
  return slots_used_++;
}

void TimerHeap::free_slot(uint32_t i) {
  Slot& s = slot(i);
  s.cb.reset();
  s.heap_pos = kFree;
  ++s.gen;
  free_.push_back(i);
}

const TimerHeap::Slot* TimerHeap::live(TimerId id) const noexcept {
  if (id.slot >= slots_used_) return nullptr;
  const Slot& s = slot(id.slot);
  return s.gen == id.gen && s.heap_pos != kFree ? &s : nullptr;
}

TimerId TimerHeap::add(uint64_t now_ms, uint64_t timeout_ms, bool repeat, Callback cb) {
  if (timeout_ms > UINT32_MAX) timeout_ms = UINT32_MAX;
  uint32_t i = alloc_slot();
  Slot& s = slot(i);
  s.cb = std::move(cb);
  s.timeout_ms = static_cast<uint32_t>(timeout_ms);
  s.repeat = repeat;
  s.ref = 1;
  ++refs_;
  push(Entry{now_ms + timeout_ms, seq_++, i});
  return TimerId{i, s.gen};
}

bool TimerHeap::cancel(TimerId id) {
  if (!live(id)) return false;
  Slot& s = slot(id.slot);
  if (s.ref) --refs_;
  remove_at(s.heap_pos);
  free_slot(id.slot);
  return true;
}

bool TimerHeap::refresh(TimerId id, uint64_t now_ms) {
  if (!live(id)) return false;
  Slot& s = slot(id.slot);
  remove_at(s.heap_pos);
  push(Entry{now_ms + s.timeout_ms, seq_++, id.slot});
  return true;
}

bool TimerHeap::set_ref(TimerId id, bool ref) {
  if (!live(id)) return false;
  Slot& s = slot(id.slot);
  if (s.ref != ref) {
    s.ref = ref;
    ref ? ++refs_ : --refs_;
  }
  return true;
}

bool TimerHeap::has_ref(TimerId id) const {
  const Slot* s = live(id);
  return s && s->ref;
}

bool TimerHeap::active(TimerId id) const { return live(id) != nullptr; }

int64_t TimerHeap::next_timeout(uint64_t now_ms) const noexcept {
  if (heap_.empty()) return -1;
  return heap_[0].due <= now_ms ? 0 : static_cast<int64_t>(heap_[0].due - now_ms);
}

// Fires the earliest timer; an interval is re-armed before its callback so it may clear itself.
bool TimerHeap::fire_one(uint64_t now_ms) {
  uint32_t i = heap_[0].slot;
  Slot& s = slot(i);
  if (s.repeat) {
    uint32_t gen = s.gen;
    remove_at(0);
    // Intervals of 0 ms still wait one loop turn, as Node's setInterval(fn, 0) does (1 ms).
    push(Entry{now_ms + (s.timeout_ms ? s.timeout_ms : 1), seq_++, i});
    Callback cb = std::move(s.cb);
    cb();
    Slot& after = slot(i);  // chunks never move, but the callback may have cleared the timer
    if (after.gen == gen && after.heap_pos != kFree) after.cb = std::move(cb);
    return true;
  }
  Callback cb = std::move(s.cb);
  if (s.ref) --refs_;
  remove_at(0);
  free_slot(i);
  cb();
  return true;
}

void TimerHeap::push(Entry e) {
  heap_.push_back(e);
  uint32_t pos = static_cast<uint32_t>(heap_.size() - 1);
  place(pos, e);
  sift_up(pos);
}

void TimerHeap::remove_at(uint32_t pos) {
  uint32_t last = static_cast<uint32_t>(heap_.size() - 1);
  if (pos != last) {
    Entry moved = heap_[last];
    heap_.pop_back();
    place(pos, moved);
    if (pos > 0 && less(moved, heap_[(pos - 1) / 4]))
      sift_up(pos);
    else
      sift_down(pos);
  } else {
    heap_.pop_back();
  }
}

void TimerHeap::sift_up(uint32_t pos) {
  Entry e = heap_[pos];
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 4;
    if (!less(e, heap_[parent])) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, e);
}

void TimerHeap::sift_down(uint32_t pos) {
  Entry e = heap_[pos];
  uint32_t n = static_cast<uint32_t>(heap_.size());
  for (;;) {
    uint32_t first = pos * 4 + 1;
    if (first >= n) break;
    uint32_t best = first;
    uint32_t end = first + 4 < n ? first + 4 : n;
    for (uint32_t c = first + 1; c < end; ++c)
      if (less(heap_[c], heap_[best])) best = c;
    if (!less(heap_[best], e)) break;
    place(pos, heap_[best]);
    pos = best;
  }
  place(pos, e);
}

}  // namespace brigade
