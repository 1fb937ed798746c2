#include "brigade/loop/timer_queue.hpp"

namespace brigade {

static_assert(sizeof(Callback) + sizeof(uint64_t) + 4 * sizeof(uint32_t) == 48,
              "a timer slot stays 48 bytes");

uint32_t TimerQueue::alloc_slot() {
  if (free_head_ != kNone) {
    uint32_t i = free_head_;
    free_head_ = slot(i).next;
    return i;
  }
  if ((slots_used_ & (kChunk - 1)) == 0) {
    chunks_.push_back(std::make_unique<Slot[]>(kChunk));
  }
  Slot& s = slot(slots_used_);
  s.flags = 0;
  s.list = kNone;
  return slots_used_++;
}

void TimerQueue::free_slot(uint32_t i) {
  Slot& s = slot(i);
  s.cb.reset();
  s.list = kNone;
  s.flags = ((s.flags & kGenMask) + 1) & kGenMask;
  s.next = free_head_;
  free_head_ = i;
}

const TimerQueue::Slot* TimerQueue::live(TimerId id) const noexcept {
  if (id.slot >= slots_used_) return nullptr;
  const Slot& s = slot(id.slot);
  return s.list != kNone && (s.flags & kGenMask) == id.gen ? &s : nullptr;
}

uint32_t TimerQueue::list_for(uint32_t duration) {
  auto [it, fresh] = list_of_duration_.try_emplace(duration, static_cast<uint32_t>(lists_.size()));
  if (fresh) lists_.push_back(List{kNone, kNone, duration, kNone});
  return it->second;
}

// Appends at the tail of `l`, due at `due_ns` or at the tail's deadline if later, so the list
// stays sorted (an interval's rearmed deadline may precede a timer added since it fell due).
void TimerQueue::append(uint32_t l, uint32_t i, uint64_t due_ns) {
  List& list = lists_[l];
  Slot& s = slot(i);
  s.list = l;
  s.next = kNone;
  s.prev = list.tail;
  if (list.tail != kNone) {
    Slot& tail = slot(list.tail);
    s.due = due_ns > tail.due ? due_ns : tail.due;
    tail.next = i;
    list.tail = i;
    return;
  }
  s.due = due_ns;
  list.head = list.tail = i;
  heap_push(l);
}

void TimerQueue::unlink(uint32_t i) {
  Slot& s = slot(i);
  List& list = lists_[s.list];
  if (s.next != kNone)
    slot(s.next).prev = s.prev;
  else
    list.tail = s.prev;
  if (s.prev != kNone) {
    slot(s.prev).next = s.next;
    return;
  }
  list.head = s.next;
  if (list.head == kNone)
    heap_remove(s.list);
  else
    heap_fix(s.list);
}

TimerId TimerQueue::add(uint64_t now_ns, uint64_t timeout_ms, bool repeat, Callback cb) {
  if (timeout_ms == 0 || timeout_ms > kMaxTimeoutMs) timeout_ms = 1;
  uint32_t i = alloc_slot();
  Slot& s = slot(i);
  s.cb = std::move(cb);
  s.flags = (s.flags & kGenMask) | kRefBit | (repeat ? kRepeatBit : 0);
  ++refs_;
  ++size_;
  append(list_for(static_cast<uint32_t>(timeout_ms)), i, now_ns + timeout_ms * kNsPerMs);
  return TimerId{i, s.flags & kGenMask};
}

bool TimerQueue::cancel(TimerId id) {
  if (!live(id)) return false;
  Slot& s = slot(id.slot);
  if (s.flags & kRefBit) --refs_;
  --size_;
  unlink(id.slot);
  free_slot(id.slot);
  return true;
}

bool TimerQueue::refresh(TimerId id, uint64_t now_ns) {
  if (!live(id)) return false;
  uint32_t l = slot(id.slot).list;
  unlink(id.slot);
  append(l, id.slot, now_ns + lists_[l].duration * kNsPerMs);
  return true;
}

bool TimerQueue::set_ref(TimerId id, bool ref) {
  if (!live(id)) return false;
  Slot& s = slot(id.slot);
  bool had = s.flags & kRefBit;
  if (had != ref) {
    s.flags ^= kRefBit;
    ref ? ++refs_ : --refs_;
  }
  return true;
}

bool TimerQueue::has_ref(TimerId id) const {
  const Slot* s = live(id);
  return s && (s->flags & kRefBit);
}

int64_t TimerQueue::next_timeout(uint64_t now_ns) const noexcept {
  if (heap_.empty()) return -1;
  uint64_t due = slot(lists_[heap_[0]].head).due;
  return due <= now_ns ? 0 : static_cast<int64_t>(due - now_ns);
}

// Fires the head of `l`; an interval is re-armed before its callback so it may clear itself.
void TimerQueue::fire_head(uint32_t l, uint64_t now_ns) {
  uint32_t i = lists_[l].head;
  Slot& s = slot(i);
  unlink(i);
  if (s.flags & kRepeatBit) {
    // The callback goes back to its slot even when it throws, unless it cleared the interval.
    struct Rearm {
      TimerQueue* q;
      uint32_t i;
      uint32_t gen;
      Callback cb;
      ~Rearm() {
        Slot& after = q->slot(i);  // chunks never move; the callback may have cleared or reused it
        if ((after.flags & kGenMask) == gen && after.list != kNone) after.cb = std::move(cb);
      }
    };
    uint32_t gen = s.flags & kGenMask;
    uint64_t period = lists_[l].duration * kNsPerMs;
    uint64_t next = s.due + period;  // from its deadline, not from its lateness: no drift
    append(l, i, next > now_ns ? next : now_ns + period);  // fell a period behind: no burst
    Rearm rearm{this, i, gen, std::move(s.cb)};
    rearm.cb();
    return;
  }
  Callback cb = std::move(s.cb);
  if (s.flags & kRefBit) --refs_;
  --size_;
  free_slot(i);
  cb();
}

// Equal deadlines in two lists: the longer duration was set earlier (the clock never goes back).
bool TimerQueue::before(uint32_t a, uint32_t b) const noexcept {
  const Slot& x = slot(lists_[a].head);
  const Slot& y = slot(lists_[b].head);
  return x.due < y.due || (x.due == y.due && lists_[a].duration > lists_[b].duration);
}

void TimerQueue::heap_push(uint32_t l) {
  heap_.push_back(l);
  uint32_t pos = static_cast<uint32_t>(heap_.size() - 1);
  heap_place(pos, l);
  sift_up(pos);
}

void TimerQueue::heap_remove(uint32_t l) {
  uint32_t pos = lists_[l].heap_pos;
  lists_[l].heap_pos = kNone;
  uint32_t last = heap_.back();
  heap_.pop_back();
  if (last == l) return;
  heap_place(pos, last);
  heap_fix(last);
}

void TimerQueue::heap_fix(uint32_t l) {
  uint32_t pos = lists_[l].heap_pos;
  if (pos > 0 && before(l, heap_[(pos - 1) / 4]))
    sift_up(pos);
  else
    sift_down(pos);
}

void TimerQueue::sift_up(uint32_t pos) {
  uint32_t l = heap_[pos];
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 4;
    if (!before(l, heap_[parent])) break;
    heap_place(pos, heap_[parent]);
    pos = parent;
  }
  heap_place(pos, l);
}

void TimerQueue::sift_down(uint32_t pos) {
  uint32_t l = heap_[pos];
  uint32_t n = static_cast<uint32_t>(heap_.size());
  for (;;) {
    uint32_t first = pos * 4 + 1;
    if (first >= n) break;
    uint32_t best = first;
    uint32_t end = first + 4 < n ? first + 4 : n;
    for (uint32_t c = first + 1; c < end; ++c)
      if (before(heap_[c], heap_[best])) best = c;
    if (!before(heap_[best], l)) break;
    heap_place(pos, heap_[best]);
    pos = best;
  }
  heap_place(pos, l);
}

}  // namespace brigade
