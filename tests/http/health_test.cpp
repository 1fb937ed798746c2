// Health probes and the drain on SIGTERM: /healthz and /readyz through a real server and client,
// readiness while starting, draining, above the loop-delay and pool-queue thresholds, and
// DrainOnSignal's order (readiness off, serving on for the delay, then a graceful close).
#include "brigade/http/health.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "brigade/net/connect.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"

namespace brigade::http {
namespace health_test {

// One GET over a new connection; "refused" when nothing listens.
Task<std::string> get(Loop& loop, uint16_t port, std::string path) {
  std::string answer;
  try {
    net::Stream s = co_await net::connect(loop, "127.0.0.1", port);
    co_await s.write("GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    char buf[4096];
    for (;;) {
      std::size_t n = co_await s.read(buf);
      if (n == 0) break;
      answer.append(buf, n);
    }
  } catch (const Error& e) {
    answer = e.code() == std::errc::connection_refused ? "refused" : e.what();
  }
  co_return answer;
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

void block_loop_for(std::chrono::milliseconds ms) { std::this_thread::sleep_for(ms); }

TEST(Health, ReadinessFollowsStartingAndDraining) {
  Loop loop;
  App app;
  Health health(loop);
  mount_health(app, health);
  app.get("/", [](Req&, Res& res) { res.send("hello"); });
  Server server = app.listen(loop, "127.0.0.1", 0);
  uint16_t port = server.port();
  run(loop, [](Loop& l, Health& h, uint16_t p) -> Task<void> {
    std::string a = co_await get(l, p, "/readyz");
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 503")) << a;
    EXPECT_NE(a.find("\"reason\":\"starting\""), std::string::npos) << a;
    EXPECT_NE(a.find("Cache-Control: no-store"), std::string::npos) << a;
    a = co_await get(l, p, "/healthz");  // live while starting
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 200")) << a;

    h.started();
    a = co_await get(l, p, "/readyz");
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 200")) << a;
    EXPECT_NE(a.find("{\"ready\":true}"), std::string::npos) << a;

    h.begin_drain();
    a = co_await get(l, p, "/readyz");
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 503")) << a;
    EXPECT_NE(a.find("\"reason\":\"draining\""), std::string::npos) << a;
    a = co_await get(l, p, "/healthz");  // still live: it serves on while draining
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 200")) << a;
    a = co_await get(l, p, "/");
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 200")) << a;
  }(loop, health, port));
  server.close();
}

TEST(Health, LoopDelayAboveTheThresholdIsNotReadyUntilItPasses) {
  Loop loop;
  ReadinessOptions o;
  o.max_loop_delay_ms = 100;
  o.delay_window_ms = 200;
  Health health(loop, o);
  health.started();
  run(loop, [](Health& h) -> Task<void> {
    co_await sleep(100);  // samples of an idle loop
    EXPECT_EQ(h.not_ready_reason(), "");
    block_loop_for(std::chrono::milliseconds(400));
    std::string reason = h.not_ready_reason();  // late right now counts
    EXPECT_NE(reason.find("loop delay p99"), std::string::npos) << reason;
    co_await sleep(50);
    reason = h.not_ready_reason();  // and the late sample is in the window
    EXPECT_NE(reason.find("loop delay p99"), std::string::npos) << reason;
    EXPECT_GE(h.loop_delay_p99_ms(), 100.0);
    // Two windows of an idle loop later, the late sample has left both.
    for (int i = 0; i < 60 && !h.ready(); ++i) co_await sleep(50);
    EXPECT_EQ(h.not_ready_reason(), "");
  }(health));
}

TEST(Health, PoolQueueAndOwnChecks) {
  Loop loop;
  ReadinessOptions o;
  o.max_pool_queue = 2;
  Health health(loop, o);
  health.started();
  std::string own;
  health.add_check([&own] { return own; });
  run(loop, [](Loop& l, Health& h, std::string& own) -> Task<void> {
    EXPECT_TRUE(h.ready()) << h.not_ready_reason();
    own = "database unreachable";
    EXPECT_EQ(h.not_ready_reason(), "database unreachable");
    own = "";
    // Every pool thread busy and more waiting than the threshold.
    std::atomic<bool> go{false};
    std::size_t threads = ThreadPool::shared().stats().threads;
    std::size_t total = threads + 5;
    std::size_t done = 0;
    for (std::size_t i = 0; i < total; ++i) {
      spawn([](std::atomic<bool>& g, std::size_t& d) -> Task<void> {
        auto job = ThreadPool::shared().run([&g] {
          while (!g.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        });
        co_await job;
        ++d;
      }(go, done));
    }
    for (int i = 0; i < 200 && ThreadPool::shared().stats().queued < 5; ++i) co_await sleep(5);
    std::string reason = h.not_ready_reason();
    EXPECT_NE(reason.find("thread pool queue"), std::string::npos) << reason;
    go = true;
    for (int i = 0; i < 400 && done < total; ++i) co_await sleep(5);
    EXPECT_EQ(done, total);
    EXPECT_TRUE(h.ready()) << h.not_ready_reason();
    (void)l;
  }(loop, health, own));
}

TEST(DrainOnSignal, SigtermTurnsReadinessOffServesOnThenClosesGracefully) {
  Loop loop;
  App app;
  Health health(loop);
  mount_health(app, health);
  app.get("/slow", [](Req&, Res& res) -> Task<void> {
    co_await sleep(600);
    res.send("slow done");
  });
  app.get("/", [](Req&, Res& res) { res.send("hello"); });
  Server server = app.listen(loop, "127.0.0.1", 0);
  uint16_t port = server.port();
  health.started();
  bool closed = false;
  DrainOptions o;
  o.delay_ms = 400;
  DrainOnSignal drain(loop, server, health, o, [&closed] { closed = true; });
  run(loop, [](Loop& l, uint16_t p, bool& closed) -> Task<void> {
    uint64_t t0 = l.now();
    std::string slow;
    bool slow_done = false;
    spawn([](Loop& l2, uint16_t p2, std::string& out, bool& d) -> Task<void> {
      out = co_await get(l2, p2, "/slow");  // in flight across the close
      d = true;
    }(l, p, slow, slow_done));
    co_await sleep(50);
    ::raise(SIGTERM);
    co_await sleep(50);
    std::string a = co_await get(l, p, "/readyz");
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 503")) << a;
    EXPECT_NE(a.find("draining"), std::string::npos) << a;
    a = co_await get(l, p, "/");  // the balancer may still send some: served
    EXPECT_TRUE(starts_with(a, "HTTP/1.1 200")) << a;
    EXPECT_FALSE(closed);
    for (int i = 0; i < 400 && !closed; ++i) co_await sleep(5);
    EXPECT_TRUE(closed);
    EXPECT_GE(l.now() - t0, 400u);  // not before the delay (and after the slow request)
    EXPECT_TRUE(slow_done);
    EXPECT_TRUE(starts_with(slow, "HTTP/1.1 200")) << slow;
    EXPECT_NE(slow.find("slow done"), std::string::npos) << slow;
    a = co_await get(l, p, "/");
    EXPECT_EQ(a, "refused");
  }(loop, port, closed));
}

TEST(DrainOnSignal, ASecondSignalClosesAtOnce) {
  Loop loop;
  App app;
  Health health(loop);
  mount_health(app, health);
  Server server = app.listen(loop, "127.0.0.1", 0);
  health.started();
  bool closed = false;
  DrainOptions o;
  o.delay_ms = 60'000;
  DrainOnSignal drain(loop, server, health, o, [&closed] { closed = true; });
  run(loop, [](Loop& l, Health& h, bool& closed) -> Task<void> {
    uint64_t t0 = l.now();
    ::raise(SIGINT);
    co_await sleep(50);
    EXPECT_TRUE(h.draining());
    EXPECT_FALSE(closed);
    ::raise(SIGTERM);
    for (int i = 0; i < 400 && !closed; ++i) co_await sleep(5);
    EXPECT_TRUE(closed);
    EXPECT_LT(l.now() - t0, 10'000u);
  }(loop, health, closed));
}

}  // namespace health_test
}  // namespace brigade::http
