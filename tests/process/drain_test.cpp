// Graceful shutdown of examples/demo under SIGTERM: requests in flight (slow ones, on its
// WorkerPool) are all answered, in one process and in a cluster (signal to the primary, and to a
// worker); and examples/worker_drain, whose Worker thread computes when the signal comes. Each
// program runs in its own session and process group; the group is killed whatever the test's
// outcome.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "brigade/net/connect.hpp"
#include "brigade/process/spawn.hpp"
#include "process_support.hpp"

namespace drain_test {

using namespace brigade;
using namespace brigade::process;
using namespace process_test;

const std::string kDemo = std::string(BRIGADE_BINARY_DIR) + "/examples/demo";
const std::string kDb = std::string(BRIGADE_BINARY_DIR) + "/drain_test_demo.db";

// The demo's process group, killed on the way out (a failed test leaves nothing running).
struct Demo {
  Child child;
  std::string log;
  uint16_t port = 0;
  ~Demo() {
    if (child.pid() > 0) ::kill(-child.pid(), SIGKILL);
  }
};

// HangGuard aborts (no destructor runs): kill the demo's group first.
Timer kill_group_before(Loop& loop, uint64_t ms, Demo& d) {
  Timer t(loop);
  t.start(ms, [&d] {
    if (d.child.pid() > 0) ::kill(-d.child.pid(), SIGKILL);
  });
  t.unref();
  return t;
}

Task<void> read_log(net::Stream& out, Demo& d) {
  char buf[4096];
  try {
    for (;;) {
      std::size_t n = co_await out.read(buf);
      if (n == 0) break;
      d.log.append(buf, n);
      std::size_t at = d.log.find("http://127.0.0.1:");
      if (d.port == 0 && at != std::string::npos && d.log.find('\n', at) != std::string::npos)
        d.port = static_cast<uint16_t>(std::stoi(d.log.substr(at + 17)));
    }
  } catch (const Error&) {
  }
}

Task<void> wait_until(Loop& loop, uint64_t limit_ms, std::function<bool()> done) {
  uint64_t end = loop.now() + limit_ms;
  while (!done() && loop.now() < end) co_await brigade::sleep(5);
}

Task<void> start(Loop& loop, Demo& d, std::vector<std::string> args) {
  SpawnOptions o;
  o.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()};
  o.detached = true;  // setsid: its own process group, for the cleanup
  o.env_add = {"BRIGADE_DEMO_DB=" + kDb};
  d.child = spawn(loop, kDemo, args, o);
  brigade::spawn(read_log(d.child.out(), d), "demo log");
  co_await wait_until(loop, 20000, [&] { return d.port != 0 || d.child.exited(); });
  EXPECT_NE(d.port, 0) << d.log;
}

Task<std::string> get(Loop& loop, uint16_t port, std::string path) {
  std::string answer;
  try {
    net::Stream s = co_await net::connect(loop, "127.0.0.1", port);
    co_await s.write("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    answer = co_await read_all(s);
  } catch (const Error& e) {
    answer = std::string("error: ") + e.what();
  }
  co_return answer;
}

// `n` slow requests in flight (fib on the demo's WorkerPool), then `signal_it()`; every answer.
// fib(42), the demo's largest: ~0.26 s on a quiet core, so four on two cores last >= 0.5 s.
// With fib(40) (~0.1 s) all four could end within the 300 ms below, before the signal.
Task<std::vector<std::string>> slow_requests_then(Loop& loop, uint16_t port, int n,
                                                  std::function<void()> signal_it) {
  std::vector<std::string> answers(static_cast<std::size_t>(n));
  int done = 0;
  for (int i = 0; i < n; ++i) {
    brigade::spawn([](Loop& l, uint16_t p, std::string& out, int& count) -> Task<void> {
      out = co_await get(l, p, "/heavy?n=42");
      ++count;
    }(loop, port, answers[static_cast<std::size_t>(i)], done));
  }
  co_await brigade::sleep(300);  // read and started by the server (fib(42) lasts far longer)
  EXPECT_LT(done, n) << "the requests were not slow enough to be in flight: " << answers[0];
  signal_it();
  co_await wait_until(loop, 30000, [&] { return done == n; });
  co_return answers;
}

void expect_all_answered(const std::vector<std::string>& answers, const std::string& log) {
  for (const std::string& a : answers) {
    EXPECT_EQ(a.rfind("HTTP/1.1 200", 0), 0u) << a << "\n" << log;
    EXPECT_NE(a.find("\"fib\":267914296"), std::string::npos) << a;
  }
}

Task<void> expect_exit_ok(Loop& loop, Demo& d) {
  co_await wait_until(loop, 20000, [&] { return d.child.exited(); });
  EXPECT_TRUE(d.child.exited()) << "still running after SIGTERM\n" << d.log;
  if (!d.child.exited()) co_return;
  ExitStatus st = co_await d.child.wait();
  EXPECT_TRUE(st.ok()) << st.describe() << "\n" << d.log;
}

// The demo's database, seeded once (cluster workers would otherwise race to seed it).
void seed_db(Loop& loop) {
  static bool seeded = false;
  if (seeded) return;
  run(loop, [](Loop& l) -> Task<void> {
    SpawnOptions o;
    o.stdio = {Stdio::ignore(), Stdio::ignore(), Stdio::inherit()};
    o.env_add = {"BRIGADE_DEMO_DB=" + kDb};
    std::vector<std::string> args{"--self-check"};
    Child c = spawn(l, kDemo, args, o);
    ExitStatus st = co_await c.wait();
    EXPECT_TRUE(st.ok()) << st.describe();
  }(loop));
  seeded = true;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::ifstream f("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) +
                  "/children");
  for (pid_t p; f >> p;) out.push_back(p);
  return out;
}

// Until both workers have answered (up to 20 s): a forked worker is a child before the primary
// routes to it, so counting children alone let a signal reach a worker that was not serving yet.
Task<void> both_workers_serving(Loop& loop, Demo& d) {
  std::vector<std::string> seen;
  for (uint64_t until = loop.now() + 20000; seen.size() < 2 && loop.now() < until;) {
    std::string a = co_await get(loop, d.port, "/stats");
    std::size_t at = a.find("\"pid\":");
    if (at == std::string::npos) continue;
    std::string pid = a.substr(at + 6, a.find_first_of(",}", at) - at - 6);
    if (std::find(seen.begin(), seen.end(), pid) == seen.end()) seen.push_back(pid);
  }
  EXPECT_EQ(seen.size(), 2u) << "both workers never answered";
}

TEST(Drain, SigtermToTheDemoAnswersEveryRequestInFlight) {
  Loop loop;
  HangGuard guard(loop, 90000);
  seed_db(loop);
  Demo d;
  Timer reaper = kill_group_before(loop, 85000, d);
  run_test(loop, [&]() -> Task<void> {
    std::vector<std::string> args{"--port", "0"};  // named: g++ 12 and lists in co_await
    co_await start(loop, d, args);
    if (!d.port) co_return;
    auto answers = co_await slow_requests_then(loop, d.port, 4, [&] { d.child.kill(SIGTERM); });
    expect_all_answered(answers, d.log);
    co_await expect_exit_ok(loop, d);
    EXPECT_NE(d.log.find("closing gracefully"), std::string::npos) << d.log;
  }());
}

TEST(Drain, SigtermToTheClusterPrimaryAnswersEveryRequestInFlight) {
  Loop loop;
  HangGuard guard(loop, 90000);
  seed_db(loop);
  Demo d;
  Timer reaper = kill_group_before(loop, 85000, d);
  run_test(loop, [&]() -> Task<void> {
    std::vector<std::string> args{"--port", "0", "--workers", "2"};
    co_await start(loop, d, args);
    if (!d.port) co_return;
    co_await wait_until(loop, 10000, [&] { return children_of(d.child.pid()).size() == 2; });
    co_await both_workers_serving(loop, d);
    auto answers = co_await slow_requests_then(loop, d.port, 4, [&] { d.child.kill(SIGTERM); });
    expect_all_answered(answers, d.log);
    co_await expect_exit_ok(loop, d);
  }());
}

TEST(Drain, SigtermToAClusterWorkerAnswersEveryRequestInFlight) {
  Loop loop;
  HangGuard guard(loop, 90000);
  seed_db(loop);
  Demo d;
  Timer reaper = kill_group_before(loop, 85000, d);
  run_test(loop, [&]() -> Task<void> {
    std::vector<std::string> args{"--port", "0", "--workers", "2"};
    co_await start(loop, d, args);
    if (!d.port) co_return;
    co_await wait_until(loop, 10000, [&] { return children_of(d.child.pid()).size() == 2; });
    co_await both_workers_serving(loop, d);
    std::vector<pid_t> workers = children_of(d.child.pid());
    EXPECT_EQ(workers.size(), 2u);
    if (workers.size() != 2) co_return;
    // Round robin: two of the four requests are on the worker that gets the signal.
    auto answers =
        co_await slow_requests_then(loop, d.port, 4, [&] { ::kill(workers[0], SIGTERM); });
    expect_all_answered(answers, d.log);
    d.child.kill(SIGTERM);
    co_await expect_exit_ok(loop, d);
  }());
}

// Behind a balancer (--drain-ms): after SIGTERM every worker's /readyz answers 503 while the
// cluster still serves, and only after the delay does it close and exit. `group`: the signal
// goes to the whole process group (systemd's default), else to the primary alone (Kubernetes).
void drain_delay_case(bool group) {
  Loop loop;
  HangGuard guard(loop, 90000);
  seed_db(loop);
  Demo d;
  Timer reaper = kill_group_before(loop, 85000, d);
  run_test(loop, [&]() -> Task<void> {
    std::vector<std::string> args{"--port", "0", "--workers", "2", "--drain-ms", "1500"};
    co_await start(loop, d, args);
    if (!d.port) co_return;
    co_await wait_until(loop, 10000, [&] { return children_of(d.child.pid()).size() == 2; });
    for (int i = 0; i < 4; ++i) {
      std::string a = co_await get(loop, d.port, "/readyz");
      EXPECT_EQ(a.rfind("HTTP/1.1 200", 0), 0u) << a;
    }
    uint64_t signalled = loop.now();
    ::kill(group ? -d.child.pid() : d.child.pid(), SIGTERM);
    co_await brigade::sleep(200);
    for (int i = 0; i < 4; ++i) {  // round robin: both workers answer
      std::string a = co_await get(loop, d.port, "/readyz");
      EXPECT_EQ(a.rfind("HTTP/1.1 503", 0), 0u) << a;
      EXPECT_NE(a.find("draining"), std::string::npos) << a;
      a = co_await get(loop, d.port, "/");
      EXPECT_EQ(a.rfind("HTTP/1.1 200", 0), 0u) << a;
    }
    EXPECT_FALSE(d.child.exited());
    co_await expect_exit_ok(loop, d);
    EXPECT_GE(loop.now() - signalled, 1500u);
  }());
}

TEST(Drain, DrainDelayToTheClusterPrimaryKeepsServingWithReadinessOff) { drain_delay_case(false); }

TEST(Drain, DrainDelayToTheWholeProcessGroupKeepsServingWithReadinessOff) {
  drain_delay_case(true);
}

// A worker signalled alone (drain delay set): its own /readyz says 503 at once, the primary stops
// it after the delay and starts a replacement; nothing is refused on the way.
TEST(Drain, DrainDelayToOneWorkerReplacesItAfterTheDelay) {
  Loop loop;
  HangGuard guard(loop, 90000);
  seed_db(loop);
  Demo d;
  Timer reaper = kill_group_before(loop, 85000, d);
  run_test(loop, [&]() -> Task<void> {
    // The delay is long enough that a slow (sanitized, loaded) worker is still draining below.
    std::vector<std::string> args{"--port", "0", "--workers", "2", "--drain-ms", "3000"};
    co_await start(loop, d, args);
    if (!d.port) co_return;
    co_await wait_until(loop, 10000, [&] { return children_of(d.child.pid()).size() == 2; });
    co_await both_workers_serving(loop, d);
    std::vector<pid_t> workers = children_of(d.child.pid());
    EXPECT_EQ(workers.size(), 2u);
    if (workers.size() != 2) co_return;
    ::kill(workers[0], SIGTERM);
    // A loaded (sanitized) worker may also say 503 for an overloaded loop: count only "draining".
    auto says_draining = [](const std::string& a) {
      return a.rfind("HTTP/1.1 503", 0) == 0 && a.find("draining") != std::string::npos;
    };
    bool draining = false;  // the signal is handled on the worker's loop: wait for its first 503
    for (uint64_t until = loop.now() + 2500; !draining && loop.now() < until;) {
      std::string a = co_await get(loop, d.port, "/readyz");
      draining = says_draining(a);
      if (!draining) co_await brigade::sleep(10);
    }
    EXPECT_TRUE(draining) << "the signalled worker never said 503";
    int not_ready = 0;
    std::string answers;
    for (int i = 0; i < 4; ++i) {
      std::string a = co_await get(loop, d.port, "/readyz");
      if (says_draining(a)) ++not_ready;
      answers += a + "\n---\n";
    }
    EXPECT_EQ(not_ready, 2) << answers;  // the signalled worker's half of the round robin
    uint64_t end = loop.now() + 15000;
    int failed = 0;
    while (loop.now() < end) {  // traffic on until the worker is replaced
      std::string a = co_await get(loop, d.port, "/");
      if (a.rfind("HTTP/1.1 200", 0) != 0) ++failed;
      std::vector<pid_t> now = children_of(d.child.pid());
      if (now.size() == 2 && std::find(now.begin(), now.end(), workers[0]) == now.end()) break;
      co_await brigade::sleep(20);
    }
    EXPECT_EQ(failed, 0);
    std::vector<pid_t> now = children_of(d.child.pid());
    EXPECT_EQ(std::find(now.begin(), now.end(), workers[0]), now.end()) << "not replaced";
    co_await wait_until(loop, 10000, [&] { return children_of(d.child.pid()).size() == 2; });
    for (int i = 0; i < 20; ++i) {  // the replacement becomes ready
      not_ready = 0;
      for (int j = 0; j < 4; ++j) {
        std::string a = co_await get(loop, d.port, "/readyz");
        if (a.rfind("HTTP/1.1 200", 0) != 0) ++not_ready;
      }
      if (not_ready == 0) break;
      co_await brigade::sleep(100);
    }
    EXPECT_EQ(not_ready, 0);
    d.child.kill(SIGTERM);
    co_await expect_exit_ok(loop, d);
  }());
}

// A Worker thread busy computing when SIGTERM comes: the signal goes to the loop's signalfd (the
// worker's thread blocks it too), the jobs in flight finish, the process exits 0.
TEST(Drain, SigtermWhileAWorkerThreadComputesLetsItsJobsFinish) {
  Loop loop;
  HangGuard guard(loop, 60000);
  Demo d;
  Timer reaper = kill_group_before(loop, 55000, d);
  run_test(loop, [&]() -> Task<void> {
    SpawnOptions o;
    o.stdio = {Stdio::ignore(), Stdio::pipe(), Stdio::inherit()};
    o.detached = true;
    std::vector<std::string> args{"200"};
    d.child = spawn(loop, std::string(BRIGADE_BINARY_DIR) + "/examples/worker_drain", args, o);
    brigade::spawn(read_log(d.child.out(), d), "worker_drain log");
    // Two jobs answered: the worker has run, and two more are in flight.
    co_await wait_until(loop, 20000, [&] {
      return d.log.find("job 2 done") != std::string::npos || d.child.exited();
    });
    EXPECT_NE(d.log.find("job 2 done"), std::string::npos) << d.log;
    co_await brigade::sleep(50);  // into the next job's computation
    d.child.kill(SIGTERM);
    co_await expect_exit_ok(loop, d);
    EXPECT_NE(d.log.find("closing gracefully"), std::string::npos) << d.log;
    std::size_t at = d.log.find("drained: ");
    EXPECT_NE(at, std::string::npos) << d.log;
    if (at == std::string::npos) co_return;
    int submitted = 0, answered = 0;
    std::sscanf(d.log.c_str() + at, "drained: %d jobs submitted, %d answered", &submitted,
                &answered);
    EXPECT_GE(submitted, 3) << d.log;  // a job was in flight when the signal came
    EXPECT_EQ(answered, submitted) << d.log;
  }());
}

}  // namespace drain_test
