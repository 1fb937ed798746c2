// README: structured logs, Prometheus metrics.
#include <gtest/gtest.h>

#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/event_stream.hpp"
#include "brigade/http/metrics.hpp"
#include "brigade/log/log.hpp"
#include "brigade/loop.hpp"
#include "brigade/metrics/exposition.hpp"
#include "brigade/metrics/runtime.hpp"
#include "brigade/task.hpp"

namespace observability_snippets_test {

namespace log = brigade::log;
using brigade::Task;

struct Req {
  std::string header(const char*) const { return "f3a9"; }
};
Task<void> handle(Req&) { co_return; }

Task<void> serve(Req& req) {
  // clang-format off
// readme:begin logs
log::info("user signed in", {{"user", 42}, {"ms", 12.5}});
// {"time":"2026-01-31T12:00:00.123Z","level":"info","msg":"user signed in","ms":12.5,"user":42}
co_await log::request_id.run(req.header("x-request-id"), handle(req));  // lines inside carry it
log::set_level(log::Level::kWarn);  // or BRIGADE_LOG_LEVEL=warn
// readme:end
  // clang-format on
}

TEST(Readme, StructuredLogs) {
  brigade::Loop loop;
  Req req;
  brigade::run(loop, serve(req));
  EXPECT_EQ(log::level(), log::Level::kWarn);
  log::set_level(log::Level::kInfo);
}

// The README's metrics block, then a scrape of what it set up.
std::string figures() { return R"({"delay_ms":0.1})"; }

TEST(Readme, PrometheusMetricsAndEventStream) {
  brigade::Loop loop;
  brigade::http::App app;
  {
    namespace metrics = brigade::metrics;
    namespace http = brigade::http;
    using http::Req;
    using http::Res;
    // clang-format off
// readme:begin prometheus
metrics::Registry& registry = metrics::Registry::global();
auto runtime = metrics::collect_runtime(registry, loop);  // loop delay, ELU, thread pool, process
app.after(http::track_requests());  // durations by method, route pattern and status class
app.get("/metrics", http::metrics_handler());
metrics::Counter& signups = registry.counter("app_signups_total", "Accounts made").labels();
signups.inc();  // lock-free: keep the child labels() returned
// readme:end
// readme:begin event-stream
app.get("/events", [](Req&, Res& res) -> Task<void> {
  http::EventStream events = res.event_stream({.heartbeat_ms = 15000});
  while (co_await events.wait(1000))  // false once the client left or the server closes
    co_await events.send(figures(), "figures");
});
// readme:end
    // clang-format on
    std::string text = registry.expose();
    EXPECT_NE(text.find("app_signups_total 1\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE brigade_eventloop_delay_seconds histogram\n"), std::string::npos);
  }
}

}  // namespace observability_snippets_test
