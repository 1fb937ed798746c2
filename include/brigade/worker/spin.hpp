#pragma once
// Bounded, adaptive spin-waiting for a reply from another thread, used before a thread sleeps
// (a loop in epoll_wait, a SharedBuffer waiter in futex): a caught reply skips two wake-ups.
#include <sched.h>

#include <algorithm>
#include <cstdint>

#include "brigade/loop/loop.hpp"

namespace brigade::detail {

// The longest spin: 50 us, or BRIGADE_SPIN_NS (0 turns spinning off).
uint64_t default_spin_ns() noexcept;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls ready() for up to budget_ns: about 2 us of pause instructions (the other thread runs on
// another core and answers at once), then a sched_yield between checks, because on a busy
// machine the other thread often waits for this very core. Returns whether ready() held in
// time; false also when a yield kept this thread off the CPU for long (other work wants the
// cores: spinning only delays everyone), so the caller re-checks and counts a miss.
template <typename Ready>
bool spin_until(Ready ready, uint64_t budget_ns) {
  constexpr uint64_t kYieldAfterNs = 2'000;
  constexpr uint64_t kLongYieldNs = 20'000;
  const uint64_t start = Loop::hrtime();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    uint64_t now = Loop::hrtime();
    if (now - start > budget_ns) return false;
    if (now - start > kYieldAfterNs) {
      sched_yield();
      if (Loop::hrtime() - now > kLongYieldNs) return false;
    }
  }
}

// How long to spin next time: a spin that catches its reply doubles the budget, one that times
// out quarters it, down to none; then one probe every 64 turns. A probe spins the whole budget:
// when both sides have stopped spinning each reply waits for a sleeping thread's wake-up, and
// only a spin longer than that wake-up can catch it and bring the pair back. A probe that misses
// returns to none at once, so where replies take longer than a spin (an idle peer, a machine
// with no core to spare) spinning fades to one probe in 64 turns.
class SpinBudget {
 public:
  static constexpr uint64_t kMinNs = 2'000;
  static constexpr uint32_t kProbeEvery = 64;
  explicit SpinBudget(uint64_t ns) noexcept : ns_(ns) {}

  // The budget for this turn (0: do not spin), capped by max_ns.
  uint64_t next(uint64_t max_ns) noexcept {
    if (max_ns == 0) return 0;
    if (ns_ == 0) {
      if (++skipped_ < kProbeEvery) return 0;
      skipped_ = 0;
      probing_ = true;
      return max_ns;
    }
    return std::min(ns_, max_ns);
  }
  void caught(uint64_t max_ns) noexcept {
    ns_ = probing_ ? max_ns : std::min(max_ns, std::max(ns_ * 2, kMinNs));
    probing_ = false;
  }
  void missed() noexcept {
    ns_ = probing_ || ns_ / 4 < kMinNs ? 0 : ns_ / 4;
    probing_ = false;
  }

 private:
  uint64_t ns_;
  uint32_t skipped_ = 0;
  bool probing_ = false;
};

}  // namespace brigade::detail
