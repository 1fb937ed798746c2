// A timer ticks every 10 ms while a 500 ms CPU job runs (a) on the loop: the ticks stop and the
// blocked-loop detector reports the job by name; (b) on the ThreadPool: the ticks keep coming.
// Prints the ticks seen during the job and the loop's longest busy stretch (its max delay).
#include <chrono>
#include <cstdio>

#include "brigade/loop.hpp"
#include "brigade/pool.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

// 500 ms of arithmetic, standing in for hashing, image resizing, JSON of a huge document...
uint64_t cpu_job() {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  uint64_t x = 88172645463325252ull;
  while (std::chrono::steady_clock::now() < end)
    for (int i = 0; i < 1000; ++i) x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift
  return x;
}

struct PhaseResult {
  int ticks_during_job = 0;
  uint64_t max_delay_ms = 0;
  uint64_t blocked_reports = 0;
};

Task<void> phase(Loop& loop, bool on_pool, PhaseResult& r) {
  int ticks = 0;
  Timer ticker(loop);
  ticker.start(
      10, [&] { ++ticks; }, true);
  co_await brigade::sleep(50);
  int before = ticks;
  if (on_pool) {
    auto job = ThreadPool::shared().run(cpu_job);
    co_await job;
  } else {
    loop.set_activity("cpu_job on the loop");  // what the blocked-loop report will name
    cpu_job();
  }
  r.ticks_during_job = ticks - before;
  co_await brigade::sleep(50);  // let the late tick land, as Node would after the block
}

PhaseResult run_phase(bool on_pool) {
  Loop loop;
  PhaseResult r;
  loop.metrics().on_blocked = [](const BlockedReport& b) {
    std::printf("  blocked-loop report: '%s' held the loop for %llu ms\n", b.activity.c_str(),
                static_cast<unsigned long long>(b.duration_ns / 1'000'000));
  };
  run(loop, phase(loop, on_pool, r));
  r.max_delay_ms = loop.metrics().delay.max() / 1'000'000;
  r.blocked_reports = loop.metrics().blocked_count;
  return r;
}

}  // namespace

int main() {
  std::printf("(a) 500 ms CPU job on the loop, timer every 10 ms:\n");
  PhaseResult a = run_phase(false);
  std::printf("  ticks during the job: %d, loop max delay: %llu ms, blocked reports: %llu\n",
              a.ticks_during_job, static_cast<unsigned long long>(a.max_delay_ms),
              static_cast<unsigned long long>(a.blocked_reports));
  std::printf("(b) the same job on the ThreadPool:\n");
  PhaseResult b = run_phase(true);
  std::printf("  ticks during the job: %d, loop max delay: %llu ms, blocked reports: %llu\n",
              b.ticks_during_job, static_cast<unsigned long long>(b.max_delay_ms),
              static_cast<unsigned long long>(b.blocked_reports));
  bool as_expected = a.ticks_during_job == 0 && b.ticks_during_job > 10 && a.blocked_reports > 0;
  std::printf("%s\n", as_expected ? "the pool kept the loop responsive"
                                  : "unexpected: the machine may be badly overloaded");
  return 0;
}
