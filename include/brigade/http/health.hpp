#pragma once
// Health probes for a load balancer or an orchestrator (Kubernetes' livenessProbe and
// readinessProbe, HAProxy's httpchk), and the drain a balancer needs on SIGTERM.
//
//   http::Health health(loop);                 // not ready until started()
//   http::mount_health(app, health);           // GET /healthz and GET /readyz
//   ...
//   health.started();                          // e.g. once the database answers
//   http::DrainOnSignal drain(loop, server, health, {.delay_ms = 5000});
//
// Liveness (/healthz): 200 whenever the loop answers; a stuck loop cannot answer, which is
// what the probe's timeout sees. Readiness (/readyz): 200 {"ready":true} when the process should
// get traffic, else 503 {"ready":false,"reason":...}: while starting (until started()), while
// draining (after SIGTERM, before the server closes), and, when thresholds are set, while the
// loop's delay p99 over the last window or the thread pool's queue is above them, or while a
// check added with add_check() names a reason. In a cluster each worker answers for itself
// (its Health follows Worker::draining() through worker.on_drain).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "brigade/http/app.hpp"
#include "brigade/http/server.hpp"
#include "brigade/loop/histogram.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/loop/signal.hpp"

namespace brigade::http {

struct ReadinessOptions {
  // The loop's delay p99 (how late a 20 ms sampling timer fires, as Node's
  // monitorEventLoopDelay measures), over the last 1 to 2 windows; 0: not checked.
  uint64_t max_loop_delay_ms = 0;
  uint64_t delay_window_ms = 5000;
  // Tasks waiting in ThreadPool::shared()'s queue; 0: not checked.
  std::size_t max_pool_queue = 0;
};

class Health {
 public:
  explicit Health(Loop& loop, ReadinessOptions options = {});
  Health(const Health&) = delete;
  Health& operator=(const Health&) = delete;

  // Starting is over: ready from now on (unless draining or above a threshold).
  void started() noexcept { started_ = true; }
  // The process is leaving the balancer: not ready from now on, for good.
  void begin_drain() noexcept { draining_ = true; }
  bool draining() const noexcept { return draining_; }
  // A check of the application's own (a queue, a dependency): a non-empty reason means not ready.
  void add_check(std::function<std::string()> check) { checks_.push_back(std::move(check)); }

  // "" when ready, else why not ("starting", "draining", "loop delay p99 612 ms > 500 ms"...).
  std::string not_ready_reason() const;
  bool ready() const { return not_ready_reason().empty(); }
  // The sampled loop delay p99 in ms over the current and the previous window.
  double loop_delay_p99_ms() const;

 private:
  void sample();

  Loop& loop_;
  ReadinessOptions options_;
  bool started_ = false;
  bool draining_ = false;
  std::vector<std::function<std::string()>> checks_;
  Timer sampler_;
  uint64_t expected_ns_ = 0;
  uint64_t window_start_ns_ = 0;
  LatencyHistogram current_;
  LatencyHistogram previous_;
};

// GET (and HEAD) `live_path` and `ready_path` on `app`, answered by `health`.
void mount_health(App& app, Health& health, std::string live_path = "/healthz",
                  std::string ready_path = "/readyz");

struct DrainOptions {
  uint64_t delay_ms = 0;  // readiness false this long before the server starts closing
};

// SIGTERM / SIGINT on a single-process server behind a balancer: health.begin_drain(), serve on
// for delay_ms so the balancer sees /readyz fail, then server.close() (graceful: requests in
// flight finish) and `on_closed`. A second signal closes at once. (A cluster does this itself:
// cluster::Options::drain_delay_ms.) It must outlive the server's close: keep it alive until
// loop.run() returns.
class DrainOnSignal {
 public:
  DrainOnSignal(Loop& loop, Server& server, Health& health, DrainOptions options,
                std::function<void()> on_closed = {});
  DrainOnSignal(const DrainOnSignal&) = delete;
  DrainOnSignal& operator=(const DrainOnSignal&) = delete;

  // What a signal does, callable directly (a preStop hook, a test).
  void drain();
  void close_now();

 private:
  Loop& loop_;
  Server& server_;
  Health& health_;
  DrainOptions options_;
  void on_signal();

  std::function<void()> on_closed_;
  Timer delay_;
  int signals_ = 0;
  bool draining_ = false;
  bool closing_ = false;
  SignalWatcher term_;
  SignalWatcher interrupt_;
};

}  // namespace brigade::http
