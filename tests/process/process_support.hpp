#pragma once
// Shared pieces of the process tests: a hang guard, running a task to its end, zombie counting.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "brigade/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task.hpp"

namespace process_test {

using namespace brigade;

// A test that hangs is a failure, not a stuck CI: abort after `ms` (an unref'd timer).
class HangGuard {
 public:
  HangGuard(Loop& loop, uint64_t ms) : timer_(loop) {
    timer_.start(ms, [] {
      std::fprintf(stderr, "process test: timed out\n");
      std::abort();
    });
    timer_.unref();
  }

 private:
  Timer timer_;
};

// brigade::run itself returns as soon as its task ends (even in the timer phase).
template <typename T>
T run_test(Loop& loop, Task<T> task) {
  return run(loop, std::move(task));
}

// Zombie children of this process, from /proc/*/stat ("pid (comm) Z ppid ...").
inline int count_zombies() {
  int count = 0;
  DIR* d = opendir("/proc");
  if (!d) return -1;
  pid_t me = getpid();
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    if (ppid == me && state == 'Z') ++count;
  }
  closedir(d);
  return count;
}

// Reads until EOF.
inline Task<std::string> read_all(net::Stream& s) {
  std::string out;
  char buf[4096];
  for (;;) {
    std::size_t n = co_await s.read(buf);
    if (n == 0) co_return out;
    out.append(buf, n);
  }
}

}  // namespace process_test
