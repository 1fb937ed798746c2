// A CPU-bound job (summing 0..N-1 as doubles, ~2 s) run on the loop vs in a Worker while a 10 ms
// interval timer ticks, same workload as bench/node/worker_offload.js. For each case: the total
// time from start until the result is on the loop (*_total_ms) and the loop's longest block, the
// largest gap between two ticks (*_gap_ms; 10 ms when it never blocks).
// The sum is a chain of dependent double additions in both languages, so it is the same work.
// Usage: worker_offload [N=1500000000]
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

namespace {

// Not inlined: both cases run the very same machine code.
[[gnu::noinline]] double sum_to(uint64_t n) {
  double sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum += double(i);
  return sum;
}

struct Outcome {
  double total_ms;
  double max_gap_ms;
  double sum;
};

// The ticks' bookkeeping: the longest gap, until the first tick after the job is done.
struct Ticks {
  Timer timer;
  uint64_t last_ns;
  uint64_t max_gap_ns = 0;
  uint64_t done_ns = 0;
};

void on_tick(Ticks* t) {
  const uint64_t now = Loop::hrtime();
  if (now - t->last_ns > t->max_gap_ns) t->max_gap_ns = now - t->last_ns;
  t->last_ns = now;
  if (t->done_ns) t->timer.clear();
}

Outcome measure(uint64_t n, bool in_worker) {
  Loop loop;
  const uint64_t start = Loop::hrtime();
  Ticks ticks{Timer(loop), start};
  Ticks* t = &ticks;
  ticks.timer.start(
      10, [t] { on_tick(t); }, true);
  double sum = 0;
  std::optional<Worker> worker;
  if (in_worker) {
    worker.emplace(
        loop,
        [](WorkerContext& ctx) {
          ctx.parent_port.post_message(sum_to(ctx.worker_data.get<uint64_t>()));
        },
        Message(n));
    worker->on_message([t, &sum](Message m) {
      sum = m.get<double>();
      t->done_ns = Loop::hrtime();
    });
  } else {
    loop.set_immediate([t, &sum, n] {
      sum = sum_to(n);
      t->done_ns = Loop::hrtime();
    });
  }
  loop.run();
  return {double(ticks.done_ns - start) / 1e6, double(ticks.max_gap_ns) / 1e6, sum};
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'500'000'000;
  const Outcome on_loop = measure(n, false);
  const Outcome in_worker = measure(n, true);
  std::printf("loop_total_ms %.1f\nloop_gap_ms %.1f\n", on_loop.total_ms, on_loop.max_gap_ms);
  std::printf("worker_total_ms %.1f\nworker_gap_ms %.1f\n", in_worker.total_ms,
              in_worker.max_gap_ms);
  return on_loop.sum == in_worker.sum ? 0 : 1;
}
