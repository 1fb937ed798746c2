// /metrics over HTTP read by Python's prometheus_client parser: per-route durations by pattern,
// method and status class, runtime collectors, escaped label values.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "../http/test_server.hpp"
#include "brigade/http/metrics.hpp"
#include "brigade/metrics/runtime.hpp"
#include "brigade/task/sleep.hpp"
#include "metrics_support.hpp"

namespace brigade::http {
namespace {

using nlohmann::json;
using testing::run_command;
using testing::TestServer;

// The families Python's parser read, as check_exposition.py prints them; null on failure.
json scrape(const std::string& url, const std::vector<std::string>& hits = {}) {
  std::string cmd = metrics::testing::python_script("check_exposition.py") + " " + url;
  for (const std::string& h : hits) cmd += " --hit '" + h + "'";
  int status = -1;
  std::string out = run_command(cmd, &status, 60);
  EXPECT_EQ(status, 0) << out;
  if (status != 0) return json();
  return json::parse(out);
}

// The value of the sample `name` whose labels include `labels`; nullopt if none.
std::optional<double> sample(const json& families, const std::string& family,
                             const std::string& name, const json& labels) {
  if (!families.contains(family)) return std::nullopt;
  for (const json& s : families[family]["samples"]) {
    if (s[0] != name) continue;
    bool match = true;
    for (auto& [k, v] : labels.items()) match = match && s[1].value(k, "") == v;
    if (match) return s[2].is_number() ? s[2].get<double>() : -1.0;
  }
  return std::nullopt;
}

TEST(HttpMetrics, PythonParserReadsRouteDurationsRuntimeAndEscapedLabels) {
  metrics::Registry registry;
  metrics::Counter& odd =
      registry.counter("test_odd_labels_total", "Label values that need escaping", {"value"})
          .labels({"quote \" backslash \\ newline \n end é"});
  odd.inc(2);
  std::optional<metrics::RuntimeCollectors> runtime;
  TestServer server([&](App& app) {
    runtime = metrics::collect_runtime(registry, *Loop::current());
    app.after(track_requests(registry));
    app.get("/users/:id", [](Req& req, Res& res) { res.send(std::string(req.param("id"))); });
    app.get("/slow", [](Req&, Res& res) -> Task<void> {
      co_await sleep(30);
      res.send("late");
    });
    app.get("/boom", [](Req&, Res&) { throw std::runtime_error("boom"); });
    app.get("/metrics", metrics_handler(registry));
  });
  json families = scrape(server.url("/metrics"),
                         {server.url("/users/1"), server.url("/users/2"), server.url("/users/3"),
                          server.url("/nothing/here"), server.url("/slow"), server.url("/boom")});
  runtime.reset();
  ASSERT_FALSE(families.is_null());
  const std::string d = "brigade_http_request_duration_seconds";
  ASSERT_TRUE(families.contains(d));
  EXPECT_EQ(families[d]["type"], "histogram");
  EXPECT_EQ(sample(families, d, d + "_count",
                   {{"method", "GET"}, {"route", "/users/:id"}, {"status_class", "2xx"}}),
            3.0);
  EXPECT_EQ(sample(families, d, d + "_count",
                   {{"method", "GET"}, {"route", "unmatched"}, {"status_class", "4xx"}}),
            1.0);
  EXPECT_EQ(sample(families, d, d + "_count",
                   {{"method", "GET"}, {"route", "/boom"}, {"status_class", "5xx"}}),
            1.0);
  std::optional<double> slow_sum = sample(families, d, d + "_sum", {{"route", "/slow"}});
  ASSERT_TRUE(slow_sum);
  EXPECT_GE(*slow_sum, 0.025);
  EXPECT_LT(*slow_sum, 5.0);
  // The slow request is in no bucket below 25 ms.
  EXPECT_EQ(sample(families, d, d + "_bucket", {{"route", "/slow"}, {"le", "0.01"}}), 0.0);
  // No raw path became a label.
  EXPECT_EQ(families.dump().find("/users/1"), std::string::npos);
  EXPECT_EQ(families.dump().find("/nothing/here"), std::string::npos);
  // The label value came back as it went in.
  EXPECT_EQ(sample(families, "test_odd_labels_total", "test_odd_labels_total",
                   {{"value", "quote \" backslash \\ newline \n end é"}}),
            2.0);
  // Runtime collectors.
  EXPECT_EQ(families["brigade_eventloop_delay_seconds"]["type"], "histogram");
  std::optional<double> loops = sample(families, "brigade_eventloop_delay_seconds",
                                       "brigade_eventloop_delay_seconds_count", json::object());
  ASSERT_TRUE(loops);
  EXPECT_GT(*loops, 0);
  EXPECT_EQ(families["brigade_eventloop_blocked_total"]["type"], "counter");
  EXPECT_EQ(families["brigade_threadpool_threads"]["type"], "gauge");
  std::optional<double> rss = sample(families, "process_resident_memory_bytes",
                                     "process_resident_memory_bytes", json::object());
  ASSERT_TRUE(rss);
  EXPECT_GT(*rss, 1e6);
  std::optional<double> fds =
      sample(families, "process_open_fds", "process_open_fds", json::object());
  ASSERT_TRUE(fds);
  EXPECT_GE(*fds, 3);
}

}  // namespace
}  // namespace brigade::http
