// Signals and threads: every thread brigade starts blocks the signals the loop watches (else a
// process-directed SIGTERM may land in it and end the process), and SignalWatcher's handling
// of ignored dispositions, pending instances and threads that had the signal blocked already.
#include "brigade/loop/signal.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "brigade/loop.hpp"
#include "brigade/loop/thread.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task.hpp"
#include "brigade/worker/worker.hpp"
#include "brigade/worker/worker_pool.hpp"

using namespace brigade;

namespace {

// Thread name -> blocked-signal mask (SigBlk) of every thread of this process.
std::multimap<std::string, uint64_t> thread_masks() {
  std::multimap<std::string, uint64_t> out;
  DIR* d = opendir("/proc/self/task");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string dir = std::string("/proc/self/task/") + e->d_name;
    std::string name, line;
    std::getline(std::ifstream(dir + "/comm") >> std::ws, name);
    std::ifstream status(dir + "/status");
    while (std::getline(status, line)) {
      if (line.rfind("SigBlk:", 0) == 0)
        out.emplace(name, std::stoull(line.substr(7), nullptr, 16));
    }
  }
  closedir(d);
  return out;
}

bool has(uint64_t mask, int signo) { return (mask >> (signo - 1)) & 1u; }

bool blocked_here(int signo) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, signo) == 1;
}

// A ThreadPool, a WorkerPool and a Worker, all with their threads up.
struct AllKindsOfThreads {
  explicit AllKindsOfThreads(Loop& loop)
      : pool(1), workers(loop, options()), worker(loop, [](WorkerContext& ctx) -> Task<void> {
          while (!ctx.stop_token.stop_requested()) co_await brigade::sleep(5);
        }) {
    run(loop, warm_up(loop));
  }
  static PoolOptions options() {
    PoolOptions o;
    o.min_threads = o.max_threads = 2;
    return o;
  }
  Task<void> warm_up(Loop&) {
    co_await pool.run([] { return 1; });
    auto a = workers.run([] { return 1; });
    auto b = workers.run([] { return 2; });
    co_await a;
    co_await b;
  }
  ThreadPool pool;
  WorkerPool workers;
  Worker worker;
};

}  // namespace

TEST(ThreadSignals, EveryThreadBrigadeStartsBlocksTheAsynchronousSignals) {
  Loop loop;
  AllKindsOfThreads threads(loop);
  // A thread names itself once it runs with its final mask: wait until every one has (the
  // watchdog thread may not have been scheduled yet on a loaded machine).
  auto named = [] {
    std::map<std::string, int> n;
    for (auto& [name, mask] : thread_masks()) ++n[name];
    return n["brigade-pool"] >= 1 && n["brigade-wpool"] == 2 && n["brigade-worker"] == 1 &&
           n["brigade-watch"] >= 1;
  };
  for (int i = 0; i < 500 && !named(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::map<std::string, int> seen;
  for (auto& [name, mask] : thread_masks()) {
    if (name.rfind("brigade-", 0) != 0) continue;
    ++seen[name];
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGPIPE, SIGALRM})
      EXPECT_TRUE(has(mask, s)) << name << " does not block " << sigabbrev_np(s);
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL})  // faults stay with the faulting thread
      EXPECT_FALSE(has(mask, s)) << name << " blocks " << sigabbrev_np(s);
  }
  EXPECT_GE(seen["brigade-pool"], 1);
  EXPECT_EQ(seen["brigade-wpool"], 2);
  EXPECT_EQ(seen["brigade-worker"], 1);
  EXPECT_GE(seen["brigade-watch"], 1);
}

TEST(ThreadSignals, ProcessDirectedSignalsReachTheLoopWhileThoseThreadsRun) {
  Loop loop;
  AllKindsOfThreads threads(loop);
  int got = 0;
  SignalWatcher w(loop, SIGTERM, [&](int) {
    if (++got < 20)
      kill(getpid(), SIGTERM);
    else
      loop.stop();
  });
  w.ref();
  kill(getpid(), SIGTERM);  // the kernel picks any thread that does not block it
  loop.run();
  EXPECT_EQ(got, 20);
}

TEST(ThreadSignals, StartThreadRestoresTheCallersMask) {
  ASSERT_FALSE(blocked_here(SIGUSR1));
  bool blocked_inside = false;
  start_thread("brigade-test", [&] { blocked_inside = blocked_here(SIGUSR1); }).join();
  EXPECT_TRUE(blocked_inside);
  EXPECT_FALSE(blocked_here(SIGUSR1));
}

TEST(SignalWatcher, SignalInheritedAsIgnoredIsWatchedThenIgnoredAgain) {
  struct sigaction ign {
  }, now{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGUSR2, &ign, nullptr), 0);  // as a shell does for a background job
  {
    Loop loop;
    int got = 0;
    SignalWatcher w(loop, SIGUSR2, [&](int s) {
      got = s;
      loop.stop();
    });
    w.ref();
    sigaction(SIGUSR2, nullptr, &now);
    EXPECT_EQ(now.sa_handler, SIG_DFL) << "SIG_IGN must give way while watched";
    kill(getpid(), SIGUSR2);
    loop.set_timeout(2000, [&] { loop.stop(); });
    loop.run();
    EXPECT_EQ(got, SIGUSR2);
  }
  sigaction(SIGUSR2, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_IGN) << "the inherited disposition comes back";
  EXPECT_FALSE(blocked_here(SIGUSR2));
  signal(SIGUSR2, SIG_DFL);
}

TEST(SignalWatcher, DroppingOneOfTwoSignalsConsumesItsPendingInstance) {
  Loop loop;
  auto a = std::make_unique<SignalWatcher>(loop, SIGUSR1, [](int) {});
  auto b = std::make_unique<SignalWatcher>(loop, SIGUSR2, [](int) {});
  kill(getpid(), SIGUSR2);  // pending, not yet read by the loop
  b.reset();                // unblocking it must not hand it to the default action (exit)
  EXPECT_FALSE(blocked_here(SIGUSR2));
  EXPECT_TRUE(blocked_here(SIGUSR1));
  a.reset();
  EXPECT_FALSE(blocked_here(SIGUSR1));
}

TEST(SignalWatcher, AThreadThatBlockedTheSignalBeforeKeepsItBlocked) {
  bool blocked_after = false;
  start_thread("brigade-test", [&] {
    Loop loop;
    {
      SignalWatcher w(loop, SIGTERM, [](int) {});
    }
    blocked_after = blocked_here(SIGTERM);
  }).join();
  EXPECT_TRUE(blocked_after);
}

TEST(SignalWatcher, BadSignalNumberIsAClearError) {
  Loop loop;
  EXPECT_THROW(SignalWatcher(loop, 0, [](int) {}), Error);
  EXPECT_THROW(SignalWatcher(loop, SIGKILL, [](int) {}), Error);
  EXPECT_THROW(SignalWatcher(loop, NSIG + 3, [](int) {}), Error);
}
