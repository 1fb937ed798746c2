// Liveness and readiness probes, and the drain on SIGTERM for a server behind a balancer.
#include "brigade/http/health.hpp"

#include <csignal>
#include <cstdio>

#include "brigade/pool/thread_pool.hpp"

namespace brigade::http {

namespace {

constexpr uint64_t kSampleMs = 20;

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", ms);
  return buf;
}

void no_store(Res& res) { res.set("Cache-Control", "no-store"); }

}  // namespace

Health::Health(Loop& loop, ReadinessOptions options)
    : loop_(loop), options_(options), sampler_(loop) {
  if (options_.max_loop_delay_ms == 0) return;
  expected_ns_ = Loop::hrtime() + kSampleMs * 1'000'000;
  window_start_ns_ = Loop::hrtime();
  sampler_.start(
      kSampleMs, [this] { sample(); }, /*repeat=*/true);
  sampler_.unref();  // probes never keep a process alive
}

void Health::sample() {
  uint64_t now = Loop::hrtime();
  current_.record(now > expected_ns_ ? now - expected_ns_ : 0);
  expected_ns_ = now + kSampleMs * 1'000'000;
  if (now - window_start_ns_ >= options_.delay_window_ms * 1'000'000) {
    previous_ = current_;
    current_.reset();
    window_start_ns_ = now;
  }
}

double Health::loop_delay_p99_ms() const {
  LatencyHistogram both = previous_;
  both.merge(current_);
  // The sample running late right now counts too: a loop blocked for a second is late already.
  uint64_t late = Loop::hrtime();
  if (options_.max_loop_delay_ms && late > expected_ns_) both.record(late - expected_ns_);
  return double(both.percentile(99)) / 1e6;
}

std::string Health::not_ready_reason() const {
  if (draining_) return "draining";
  if (!started_) return "starting";
  if (options_.max_loop_delay_ms) {
    double p99 = loop_delay_p99_ms();
    if (p99 > double(options_.max_loop_delay_ms))
      return "loop delay p99 " + format_ms(p99) + " ms > " +
             std::to_string(options_.max_loop_delay_ms) + " ms";
  }
  if (options_.max_pool_queue) {
    std::size_t queued = ThreadPool::shared().stats().queued;
    if (queued > options_.max_pool_queue)
      return "thread pool queue " + std::to_string(queued) + " > " +
             std::to_string(options_.max_pool_queue);
  }
  for (const auto& check : checks_) {
    std::string reason = check();
    if (!reason.empty()) return reason;
  }
  return "";
}

void mount_health(App& app, Health& health, std::string live_path, std::string ready_path) {
  app.get(std::move(live_path), [](Req&, Res& res) {
    no_store(res);
    res.json({{"live", true}});
  });
  app.get(std::move(ready_path), [&health](Req&, Res& res) {
    no_store(res);
    std::string reason = health.not_ready_reason();
    if (reason.empty())
      res.json({{"ready", true}});
    else
      res.status(503).json({{"ready", false}, {"reason", reason}});
  });
}

DrainOnSignal::DrainOnSignal(Loop& loop, Server& server, Health& health, DrainOptions options,
                             std::function<void()> on_closed)
    : loop_(loop),
      server_(server),
      health_(health),
      options_(options),
      on_closed_(std::move(on_closed)),
      delay_(loop),
      term_(loop, SIGTERM, [this](int) { on_signal(); }),
      interrupt_(loop, SIGINT, [this](int) { on_signal(); }) {}

void DrainOnSignal::on_signal() {
  if (++signals_ > 1) return close_now();  // a second signal: no more waiting
  drain();
}

void DrainOnSignal::drain() {
  if (draining_ || closing_) return;
  draining_ = true;
  health_.begin_drain();
  if (options_.delay_ms == 0) return close_now();
  delay_.start(options_.delay_ms, [this] { close_now(); });  // ref'd: the process waits for it
}

void DrainOnSignal::close_now() {
  if (closing_) return;
  closing_ = true;
  health_.begin_drain();
  delay_.clear();
  server_.close([this] {
    if (on_closed_) on_closed_();
  });
}

}  // namespace brigade::http
