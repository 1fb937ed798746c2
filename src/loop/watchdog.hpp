#pragma once
// One process-wide thread that notices a loop held busy past its threshold and records what it
// was doing; the loop itself reports it once the callback returns.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace brigade {

class Loop;

class BlockedLoopWatchdog {
 public:
  static BlockedLoopWatchdog& instance();
  void add(Loop* loop);
  void remove(Loop* loop);

 private:
  void run();
  void check_all(uint64_t now_ns);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Loop*> loops_;
  int pid_ = 0;  // the process that started the thread: a forked child starts its own
};

}  // namespace brigade
