#pragma once
// The wait before reconnect attempt `failures` (1, 2, ...): reconnect_min_ms doubling up to
// reconnect_max_ms, plus up to 25% random jitter so many clients do not come back in step.
#include <algorithm>
#include <cstdint>
#include <random>

#include "brigade/redis/options.hpp"

namespace brigade::redis::detail {

inline uint64_t reconnect_delay(const Options& o, unsigned failures) {
  thread_local std::minstd_rand jitter{std::random_device{}()};
  uint64_t ms = o.reconnect_min_ms;
  for (unsigned i = 1; i < failures && ms < o.reconnect_max_ms; ++i) ms *= 2;
  ms = std::min(ms, o.reconnect_max_ms);
  return ms + (ms / 4 ? jitter() % (ms / 4 + 1) : 0);
}

}  // namespace brigade::redis::detail
