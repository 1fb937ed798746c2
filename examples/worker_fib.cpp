// A fibonacci worker: the number comes in as workerData, the answer goes back as a message.
#include <cstdio>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

static long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main() {
  Loop loop;
  constexpr int kN = 35;
  long answer = -1;
  Worker worker(
      loop,
      [](WorkerContext& ctx) { ctx.parent_port.post_message(fib(ctx.worker_data.get<int>())); },
      Message(kN));
  worker.on_message([&](Message m) { answer = m.get<long>(); });
  worker.on_error([](std::exception_ptr) { std::puts("worker failed"); });
  worker.on_exit(
      [&](int code) { std::printf("fib(%d) = %ld (worker exit code %d)\n", kN, answer, code); });
  loop.run();
  return answer == 9227465 ? 0 : 1;
}
