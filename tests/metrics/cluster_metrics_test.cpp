// The demo as a cluster of two workers: the primary's /metrics asks both for their registries
// and serves the sum, read by Python's prometheus_client parser.
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

TEST(ClusterMetrics, PrimaryServesTheSumOfItsWorkers) {
  DemoProcess demo({"--workers", "2", "--https-port", "-1"});
  ASSERT_TRUE(demo.built());
  ASSERT_NE(demo.port(), 0);
  std::string line = demo.wait_for("metrics of all workers on", 30000);
  std::size_t at = line.find("metrics of all workers on http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << line;
  std::string metrics_url = line.substr(at + 26, line.find('\n', at) - at - 26);
  std::string base = "http://127.0.0.1:" + std::to_string(demo.port());
  // 12 requests of "/" on new connections: the primary spreads them over both workers.
  std::string cmd = metrics::testing::python_script("check_exposition.py") + " " + metrics_url;
  for (int i = 0; i < 12; ++i) cmd += " --hit " + base + "/";
  int status = -1;
  std::string out = run_command(cmd, &status, 60);
  ASSERT_EQ(status, 0) << out;
  json families = json::parse(out);
  double served = 0;
  for (const json& s : families["brigade_http_request_duration_seconds"]["samples"])
    if (s[0] == "brigade_http_request_duration_seconds_count" && s[1]["route"] == "/")
      served += s[2].get<double>();
  EXPECT_EQ(served, 12);
  // One sample per series: the workers' series were merged, not listed twice.
  int loop_counts = 0;
  for (const json& s : families["brigade_eventloop_delay_seconds"]["samples"])
    loop_counts += s[0] == "brigade_eventloop_delay_seconds_count";
  EXPECT_EQ(loop_counts, 1);
  EXPECT_TRUE(families.contains("process_resident_memory_bytes"));
  EXPECT_TRUE(families.contains("brigade_workerpool_threads"));
}

}  // namespace
}  // namespace brigade::http
