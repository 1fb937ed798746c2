// README: the event loop's order, async/await, the thread pool, loop metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>

#include "brigade/fs/fs.hpp"
#include "brigade/loop.hpp"
#include "brigade/pool.hpp"
#include "brigade/task.hpp"

namespace {

brigade::Task<int> work(int n) {
  co_await brigade::sleep(1);
  co_return n * 10;
}
int g_void_runs = 0;
brigade::Task<void> handler_void() {
  co_await brigade::sleep(1);
  ++g_void_runs;
}
void log(const std::string&, uint64_t) {}
// A stand-in digest for the README's sha256.
std::size_t sha256(const std::string& data) { return std::hash<std::string>{}(data); }

// clang-format off
// readme:begin async
brigade::Task<int> handler() {
  co_await brigade::sleep(10);
  auto [a, b] = co_await brigade::when_all(work(1), work(2));
  co_return a + b;
}
// readme:end
// clang-format on

TEST(Readme, EventLoopOrder) {
  ::testing::internal::CaptureStdout();
  // clang-format off
// readme:begin event-loop
brigade::Loop loop;
loop.set_timeout(0, [] { std::puts("timeout"); });
loop.set_immediate([] { std::puts("immediate"); });
loop.next_tick([] { std::puts("nextTick"); });
loop.queue_microtask([] { std::puts("microtask"); });
loop.run();  // returns when nothing keeps the loop alive, as a Node process exits
// readme:end
  // clang-format on
  std::fflush(stdout);
  // Node's order; from the main program a 0 ms timeout and an immediate may come either way
  // (the timer is due only once 1 ms has passed), as in Node.
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(out == "nextTick\nmicrotask\ntimeout\nimmediate\n" ||
              out == "nextTick\nmicrotask\nimmediate\ntimeout\n")
      << out;
}

TEST(Readme, AsyncAwait) {
  brigade::Loop loop;
  // clang-format off
// readme:begin async
int total = brigade::run(loop, handler());   // drive the loop until the task completes
brigade::spawn(handler_void(), "name");      // fire and forget; an escaping exception is an
                                             // unhandled rejection: reported, exit code 1
// readme:end
  // clang-format on
  loop.run();
  EXPECT_EQ(total, 30);
  EXPECT_EQ(g_void_runs, 1);
}

TEST(Readme, ThreadPool) {
  std::string file = "big.json";  // the README reads it from the current directory
  { std::ofstream(file) << "{\"big\": true}"; }
  brigade::Loop loop;
  std::size_t got = 0;
  auto body = [&]() -> brigade::Task<void> {
    // clang-format off
// readme:begin thread-pool
auto data = co_await brigade::fs::read_file("big.json");  // the pool (small files: the ring)
auto digest = co_await brigade::ThreadPool::shared().run([&] { return sha256(data); });
// readme:end
    // clang-format on
    got = digest;
  };
  brigade::run(loop, body());
  ::unlink(file.c_str());
  EXPECT_EQ(got, sha256("{\"big\": true}"));
}

TEST(Readme, UncaughtException) {
  brigade::Loop loop;
  ::testing::internal::CaptureStdout();
  // clang-format off
// readme:begin uncaught
loop.on_uncaught_exception([](std::exception_ptr e, const char* origin) {
  std::printf("caught in %s: %s\n", origin, brigade::describe_exception(e).c_str());
});
loop.set_timeout(10, [] { throw std::runtime_error("boom"); });
loop.set_timeout(20, [] { std::puts("the loop went on"); });
// readme:end
  // clang-format on
  loop.run();
  std::fflush(stdout);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "caught in timer: boom\nthe loop went on\n");
}

TEST(Readme, LoopMetrics) {
  brigade::Loop loop;
  // clang-format off
// readme:begin metrics
auto& m = loop.metrics();
m.delay.percentile(99);        // ns the loop was busy between two polls (the wait any event saw)
m.elu.utilization();           // active / (active + idle)
loop.set_blocked_threshold_ms(100);  // default: a callback that holds the loop longer is reported
m.on_blocked = [](const brigade::BlockedReport& r) { log(r.activity, r.duration_ns); };
// readme:end
  // clang-format on
  loop.set_timeout(1, [] {});
  loop.run();
  EXPECT_GE(m.elu.utilization(), 0.0);
}

}  // namespace
