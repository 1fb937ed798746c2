// 1,000,000 timers with random timeouts in 0..1000 ms on one loop: how long creating them takes,
// how long until the last has fired (from the first creation) and the peak RSS.
// Same workload as bench/node/timers.js. Usage: timers [COUNT=1000000]
// Prints: "create_ms X", "fire_ms X", "peak_rss_mb X".
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "brigade/loop/loop.hpp"

namespace {

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  brigade::Loop loop;
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> timeout_ms(0, 1000);

  // The callbacks capture one pointer, as a JS closure over one scope: more would overflow the
  // callback's inline storage and cost brigade an allocation per timer that Node does not pay.
  struct Progress {
    long fired;
    long count;
    uint64_t last_fire_ns;
  } progress{0, count, 0};
  const uint64_t start = brigade::Loop::hrtime();
  for (long i = 0; i < count; ++i) {
    loop.set_timeout(static_cast<uint64_t>(timeout_ms(rng)), [p = &progress] {
      if (++p->fired == p->count) p->last_fire_ns = brigade::Loop::hrtime();
    });
  }
  const uint64_t created = brigade::Loop::hrtime();
  loop.run();

  if (progress.fired != count) {
    std::fprintf(stderr, "timers: %ld of %ld fired\n", progress.fired, count);
    return 1;
  }
  std::printf("create_ms %.1f\nfire_ms %.1f\npeak_rss_mb %.1f\n", (created - start) / 1e6,
              (progress.last_fire_ns - start) / 1e6, peak_rss_mb());
  return 0;
}
