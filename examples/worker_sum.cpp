// A worker sums the numbers below a billion while the main loop keeps ticking: the CPU-bound work
// never blocks the loop that owns it (Node's worker_threads "sum" example).
#include <cstdint>
#include <cstdio>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

int main() {
  Loop loop;
  int ticks = 0;
  Timer ticker(loop);
  ticker.start(
      50, [&] { std::printf("main loop tick %d\n", ++ticks); }, true);

  Worker worker(
      loop,
      [](WorkerContext& ctx) {
        uint64_t limit = ctx.worker_data.get<uint64_t>(), sum = 0;
        for (uint64_t i = 0; i < limit; ++i) {
          sum += i;
          if ((i & 0xFFFFFFF) == 0 && ctx.stop_token.stop_requested()) return;
        }
        ctx.parent_port.post_message(sum);
      },
      Message(uint64_t{1'000'000'000}));

  uint64_t result = 0;
  worker.on_message([&](Message m) { result = m.get<uint64_t>(); });
  worker.on_exit([&](int code) {
    ticker.clear();
    std::printf("worker exited with code %d; sum = %llu after %d ticks\n", code,
                static_cast<unsigned long long>(result), ticks);
  });
  loop.run();
  return result == 499'999'999'500'000'000ull ? 0 : 1;
}
