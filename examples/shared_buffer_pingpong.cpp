// SharedBuffer ping-pong: main and a worker take turns on one slot with Atomics-style
// wait/notify (futex), then the main thread waits for the last turn with wait_async, which does
// not block its loop.
#include <cstdio>

#include "brigade/task/spawn.hpp"
#include "brigade/worker/shared_buffer.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

int main() {
  constexpr int kRounds = 100000;
  Loop loop;
  SharedBuffer turn(4);  // odd: the worker's turn; even: main's
  Worker worker(
      loop,
      [](WorkerContext& ctx) {
        auto buf = ctx.worker_data.get<SharedBuffer>();
        for (int i = 0; i <= kRounds; ++i) {
          while (buf.load(0) != 2 * i + 1) buf.wait(0, 2 * i);
          buf.store(0, 2 * i + 2);
          buf.notify(0);
        }
      },
      Message(turn));

  uint64_t t0 = Loop::hrtime();
  for (int i = 0; i < kRounds; ++i) {
    turn.store(0, 2 * i + 1);
    turn.notify(0);
    while (turn.load(0) != 2 * i + 2) turn.wait(0, 2 * i + 1);
  }
  double us = double(Loop::hrtime() - t0) / kRounds / 1000.0;

  // The last turn, awaited without blocking the loop.
  WaitResult last = run(loop, [&]() -> Task<WaitResult> {
    turn.store(0, 2 * kRounds + 1);
    turn.notify(0);
    WaitResult r = WaitResult::kOk;
    while (turn.load(0) != 2 * kRounds + 2) r = co_await turn.wait_async(0, 2 * kRounds + 1, 2000);
    co_return r;
  }());
  loop.run();
  std::printf("%d ping-pong rounds: %.2f us per round trip; last wait_async: %s; worker exit %d\n",
              kRounds, us, to_string(last), worker.exit_code().value_or(-1));
  return turn.load(0) == 2 * kRounds + 2 && worker.exit_code() == 0 ? 0 : 1;
}
