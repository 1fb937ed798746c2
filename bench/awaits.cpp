// co_await throughput on one loop: awaits of tasks that finish at once (a loop of them, and a
// recursion as deep as COUNT/10), and of tasks that suspend once on the microtask queue.
// No Node counterpart (an await of a settled promise always goes through the microtask queue;
// see chains' microtask row). Usage: awaits [COUNT=1000000] [ready|recursive|suspending]
// (one row only: for callgrind, whose instruction counts are steady where times are not).
// Prints: "ready_per_s X", "recursive_per_s X", "suspending_per_s X".
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

namespace {

brigade::Task<int> ready(int v) { co_return v; }

brigade::Task<long> loop_of_ready(long n) {
  long s = 0;
  for (long i = 0; i < n; ++i) s += co_await ready(1);
  co_return s;
}

brigade::Task<long> deep(long n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}

brigade::Task<int> after_microtask() {
  co_await brigade::next_microtask();
  co_return 1;
}

brigade::Task<long> loop_of_suspending(long n) {
  long s = 0;
  for (long i = 0; i < n; ++i) s += co_await after_microtask();
  co_return s;
}

template <typename Make>
double per_second(long count, Make make) {
  brigade::Loop loop;
  const uint64_t start = brigade::Loop::hrtime();
  long got = brigade::run(loop, make());
  const uint64_t elapsed = brigade::Loop::hrtime() - start;
  if (got != count) {
    std::fprintf(stderr, "awaits: got %ld of %ld\n", got, count);
    std::exit(1);
  }
  return static_cast<double>(count) * 1e9 / static_cast<double>(elapsed);
}

}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  const long depth = count / 10;
  const char* only = argc > 2 ? argv[2] : nullptr;
  auto wanted = [&](const char* row) { return !only || std::strcmp(only, row) == 0; };
  if (wanted("ready"))
    std::printf("ready_per_s %.0f\n", per_second(count, [&] { return loop_of_ready(count); }));
  if (wanted("recursive")) {
    double recursive = 0;
    for (int r = 0; r < 10; ++r) recursive += per_second(depth, [&] { return deep(depth); });
    std::printf("recursive_per_s %.0f\n", recursive / 10);
  }
  if (wanted("suspending"))
    std::printf("suspending_per_s %.0f\n",
                per_second(count, [&] { return loop_of_suspending(count); }));
  return 0;
}
