// worker_drain: a stream of CPU-bound jobs on a Worker thread, and a graceful stop on SIGTERM or
// SIGINT (Node's process.on('SIGTERM') beside worker_threads): no new job starts, the jobs in
// flight finish, then the worker ends and the process exits 0.
//   worker_drain [MS=200]   each job computes for about MS ms on the worker; two are in flight
// Prints "job N done" for each answer, "closing gracefully" on the signal, then
// "drained: S jobs submitted, A answered".
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "brigade/loop.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

int main(int argc, char** argv) {
  const int ms = argc > 1 ? std::atoi(argv[1]) : 200;
  Loop loop;
  Worker worker(
      loop,
      [](WorkerContext& ctx) {
        const int job_ms = ctx.worker_data.get<int>();
        ctx.parent_port.on_message([&ctx, job_ms](Message m) {
          int job = m.get<int>();
          // Busy, not asleep: the worker thread runs when the signal comes.
          auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(job_ms);
          volatile unsigned long spin = 0;
          while (std::chrono::steady_clock::now() < end) spin = spin + 1;
          ctx.parent_port.post_message(job);
        });
      },
      Message(ms));

  int submitted = 0, answered = 0;
  bool draining = false;
  auto submit = [&] { worker.post_message(++submitted); };
  worker.on_message([&](Message m) {
    ++answered;
    std::printf("job %d done\n", m.get<int>());
    std::fflush(stdout);
    if (!draining) return submit();
    if (answered == submitted) worker.terminate();  // nothing in flight: the worker may go
  });
  worker.on_exit([&](int) {
    std::printf("drained: %d jobs submitted, %d answered\n", submitted, answered);
    std::fflush(stdout);
  });
  auto drain = [&](int signo) {
    if (draining) return;
    draining = true;
    std::printf("closing gracefully (signal %d): %d jobs in flight\n", signo, submitted - answered);
    std::fflush(stdout);
    if (answered == submitted) worker.terminate();
  };
  SignalWatcher term(loop, SIGTERM, drain);
  SignalWatcher intr(loop, SIGINT, drain);
  submit();
  submit();
  loop.run();
  return answered == submitted ? 0 : 1;
}
