// spawn: child processes started and reaped per second — /bin/true one at a time, and 16 at
// once — against bench/node/spawn.js (child_process.spawn). Prints "key value" lines.
//   spawn [COUNT]     (default 2000 per figure)
#include "brigade/process/spawn.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

process::SpawnOptions quiet() {
  process::SpawnOptions o;
  o.stdio = {process::Stdio::ignore(), process::Stdio::ignore(), process::Stdio::ignore()};
  return o;
}

// One lane: spawns and waits for children one after another until `left` runs out.
Task<void> lane(Loop& loop, int& left, int& failed) {
  const process::SpawnOptions options = quiet();
  const std::vector<std::string> none;
  while (left > 0) {
    --left;
    process::Child c = process::spawn(loop, "/bin/true", none, options);
    process::ExitStatus st = co_await c.wait();
    if (!st.ok()) ++failed;
  }
}

double rate(Loop& loop, int count, int lanes) {
  int left = count, failed = 0;
  uint64_t start = Loop::hrtime();
  run(loop, [&]() -> Task<void> {
    std::vector<Task<void>> all;
    for (int i = 0; i < lanes; ++i) all.push_back(lane(loop, left, failed));
    co_await when_all(std::move(all));
  }());
  double secs = double(Loop::hrtime() - start) / 1e9;
  if (failed) std::fprintf(stderr, "spawn: %d children failed\n", failed);
  return count / secs;
}

}  // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 2000;
  Loop loop;
  std::printf("sequential_per_s %.0f\n", rate(loop, count, 1));
  std::printf("concurrent16_per_s %.0f\n", rate(loop, count, 16));
}
