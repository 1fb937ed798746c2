// Callback chains, each callback scheduling the next: set_immediate (one per loop iteration),
// next_tick and queue_microtask (drained in one go). Callbacks per second for each.
// Same workload as bench/node/chains.js. Usage: chains [COUNT=1000000]
// Prints: "immediate_per_s X", "tick_per_s X", "microtask_per_s X".
#include <cstdio>
#include <cstdlib>

#include "brigade/loop/loop.hpp"

namespace {

using Schedule = void (brigade::Loop::*)(brigade::Callback);

struct Chain {
  brigade::Loop* loop;
  Schedule schedule;
  long left;
  uint64_t end_ns;
};

void step(Chain* c) {
  if (--c->left > 0)
    (c->loop->*c->schedule)([c] { step(c); });
  else
    c->end_ns = brigade::Loop::hrtime();
}

// Runs a chain of `count` callbacks on a fresh loop; returns callbacks per second.
double run_chain(Schedule schedule, long count) {
  brigade::Loop loop;
  Chain chain{&loop, schedule, count, 0};
  const uint64_t start = brigade::Loop::hrtime();
  (loop.*schedule)([&chain] { step(&chain); });
  loop.run();
  const uint64_t elapsed = chain.end_ns - start;
  return static_cast<double>(count) * 1e9 / static_cast<double>(elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  std::printf("immediate_per_s %.0f\n", run_chain(&brigade::Loop::set_immediate, count));
  std::printf("tick_per_s %.0f\n", run_chain(&brigade::Loop::next_tick, count));
  std::printf("microtask_per_s %.0f\n", run_chain(&brigade::Loop::queue_microtask, count));
  return 0;
}
