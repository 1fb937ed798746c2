// Reads one 4 KiB file 100,000 times with 64 reads in flight through fs::read_file: on the
// loop's io_uring ring or on the shared pool (BRIGADE_THREADPOOL_SIZE, default 4), as
// BRIGADE_FS=ring|pool says. Same workload as bench/node/fs_read.js.
// Usage: fs_read [FILE] [COUNT=100000] [IN_FLIGHT=64]. Prints "ops_per_s X" (the key run.sh
// records, as the Node twin prints it) and "loop_stall_ms X", the longest a 1 ms interval timer
// waited past its time meanwhile (a read done on the loop thread shows there). Without FILE it
// writes a 4 KiB file in /tmp and removes it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "brigade/fs.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

struct Workload {
  std::string file;
  std::size_t size = 0;  // what every read must return
  long count = 100000;
  long started = 0;
};

Task<void> reader(Workload& w) {
  while (w.started < w.count) {
    ++w.started;
    std::string data = co_await fs::read_file(w.file);
    if (data.size() != w.size) throw std::runtime_error("short read: " + std::to_string(data.size()));
  }
}

Task<void> read_all(Workload& w, long in_flight) {
  std::vector<Task<void>> readers;
  for (long i = 0; i < in_flight; ++i) readers.push_back(reader(w));
  co_await when_all(std::move(readers));
}

}  // namespace

int main(int argc, char** argv) {
  Workload w;
  long in_flight = argc > 3 ? std::atol(argv[3]) : 64;
  if (argc > 2) w.count = std::atol(argv[2]);
  Loop loop;
  bool own = argc < 2 || !*argv[1];
  w.file = own ? "/tmp/brigade-fs-read-" + std::to_string(::getpid()) + ".bin" : argv[1];
  if (own) run(loop, fs::write_file(w.file, std::string(4096, 'x')));
  w.size = std::size_t(run(loop, fs::stat(w.file)).size);
  uint64_t last_tick = Loop::hrtime(), stall_ns = 0;
  Timer ticker(loop);
  ticker.start(
      1,
      [&] {
        uint64_t now = Loop::hrtime();
        stall_ns = std::max(stall_ns, now - last_tick);
        last_tick = now;
      },
      true);
  ticker.unref();
  uint64_t start = Loop::hrtime();
  run(loop, read_all(w, in_flight));
  double seconds = double(Loop::hrtime() - start) / 1e9;
  ticker.clear();
  if (own) run(loop, fs::unlink(w.file));
  double rate = double(w.count) / seconds;
  std::printf("ops_per_s %.0f\n", rate);
  std::printf("loop_stall_ms %.1f\n", double(stall_ns) / 1e6);
  std::fprintf(stderr, "fs_read brigade ops_per_sec=%.0f (threads %zu, %ld in flight)\n", rate,
               ThreadPool::shared().size(), in_flight);
  return 0;
}
