// SharedBuffer wait/notify ping-pong between the main thread and a Worker, same workload as
// bench/node/worker_atomics.js (Atomics.wait/notify on a SharedArrayBuffer): the two threads take
// turns on one slot (odd: the worker's turn, even: main's), COUNT round trips.
// Usage: worker_atomics [COUNT=100000]. Prints "atomics_rtt_us X".
#include <cstdio>
#include <cstdlib>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/shared_buffer.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

namespace {

// Waits on slot 0 until it holds `want`; `seen` is the value it holds while we wait.
void await_turn(const SharedBuffer& buf, int32_t seen, int32_t want) {
  while (buf.load(0) != want) buf.wait(0, seen);
}

void pass_turn(const SharedBuffer& buf, int32_t next) {
  buf.store(0, next);
  buf.notify(0);
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 100'000;
  Loop loop;
  SharedBuffer turn(4);
  Worker worker(
      loop,
      [count](WorkerContext& ctx) {
        const auto buf = ctx.worker_data.get<SharedBuffer>();
        for (int i = 0; i < count; ++i) {
          await_turn(buf, 2 * i, 2 * i + 1);
          pass_turn(buf, 2 * i + 2);
        }
      },
      Message(turn));

  const uint64_t start = Loop::hrtime();
  for (int i = 0; i < count; ++i) {
    pass_turn(turn, 2 * i + 1);
    await_turn(turn, 2 * i + 1, 2 * i + 2);
  }
  const uint64_t elapsed = Loop::hrtime() - start;
  loop.run();
  if (worker.exit_code() != 0) return 1;
  std::printf("atomics_rtt_us %.2f\n", double(elapsed) / 1e3 / count);
  return 0;
}
