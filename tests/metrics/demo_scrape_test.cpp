// The demo's /metrics: parsed by Python's prometheus_client, and scraped by a real Prometheus
// server whose HTTP API then answers with the loop delay.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "../http/demo_process.hpp"
#include "../http/test_server.hpp"
#include "metrics_support.hpp"

namespace brigade::http {
namespace {

using nlohmann::json;
using testing::DemoProcess;
using testing::run_command;

TEST(DemoMetrics, ParsedByPrometheusClientWithEveryRuntimeFamily) {
  DemoProcess demo;
  ASSERT_TRUE(demo.built());
  ASSERT_NE(demo.port(), 0);
  std::string base = "http://127.0.0.1:" + std::to_string(demo.port());
  std::string cmd = metrics::testing::python_script("check_exposition.py") + " " + base +
                    "/metrics --hit " + base + "/users/1 --hit '" + base + "/heavy?n=20' --hit '" +
                    base + "/heavy-blocking?n=20'";
  int status = -1;
  std::string out = run_command(cmd, &status, 60);
  ASSERT_EQ(status, 0) << out;
  json families = json::parse(out);
  for (const char* name :
       {"brigade_eventloop_delay_seconds", "brigade_eventloop_delay_p99_seconds",
        "brigade_eventloop_utilization_ratio", "brigade_eventloop_blocked_total",
        "brigade_threadpool_threads", "brigade_threadpool_queued_tasks",
        "brigade_threadpool_wait_seconds", "brigade_workerpool_threads",
        "brigade_workerpool_queued_tasks", "brigade_workerpool_tasks_total",
        "brigade_http_open_connections", "brigade_http_requests_total",
        "brigade_http_request_duration_seconds", "process_cpu_seconds_total",
        "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"})
    EXPECT_TRUE(families.contains(name)) << name;
  // The pool ran /heavy: one completed task in the "heavy" pool.
  bool heavy_done = false;
  for (const json& s : families["brigade_workerpool_tasks_total"]["samples"])
    heavy_done = heavy_done || (s[1]["pool"] == "heavy" && s[1]["outcome"] == "completed" &&
                                s[2].get<double>() >= 1);
  EXPECT_TRUE(heavy_done) << families["brigade_workerpool_tasks_total"].dump();
  std::string routes = families["brigade_http_request_duration_seconds"].dump();
  EXPECT_NE(routes.find("\"/users/:id\""), std::string::npos);
  EXPECT_NE(routes.find("\"/heavy-blocking\""), std::string::npos);
}

TEST(DemoMetrics, PrometheusServerScrapesTheDemoAndAnswersWithTheLoopDelay) {
  if (run_command("sh -c 'command -v prometheus'").empty()) GTEST_SKIP() << "no prometheus installed";
  DemoProcess demo;
  ASSERT_TRUE(demo.built());
  ASSERT_NE(demo.port(), 0);
  int status = -1;
  std::string out = run_command(metrics::testing::python_script("prometheus_scrape.py") +
                                    " 127.0.0.1:" + std::to_string(demo.port()) + " --within 40",
                                &status, 60);
  ASSERT_EQ(status, 0) << out;
  json answer = json::parse(out);
  EXPECT_EQ(answer["up"], 1.0);
  EXPECT_GT(answer["delay_count"].get<double>(), 0);
  EXPECT_GE(answer["delay_p99"].get<double>(), 0);
  EXPECT_LT(answer["delay_p99"].get<double>(), 10);
}

}  // namespace
}  // namespace brigade::http
