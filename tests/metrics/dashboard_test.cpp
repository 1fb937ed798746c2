// The demo's /dashboard in headless Chromium: the page's own figures show the loop delay spike
// while fib(n) runs on the loop (/heavy-blocking) and stay low while it runs on the worker pool
// (/heavy). A screenshot of the page after both runs goes to the build folder (dashboard.png).
#include <gtest/gtest.h>
#include <sys/stat.h>

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

TEST(Dashboard, ChromiumSeesTheBlockingRunSpikeTheDelayAndThePoolRunNot) {
  if (run_command("sh -c 'command -v chromium || command -v chromium-browser'").empty())
    GTEST_SKIP() << "chromium not installed";
  DemoProcess demo;
  ASSERT_TRUE(demo.built());
  ASSERT_NE(demo.port(), 0);
  std::string shot = std::string(BRIGADE_BINARY_DIR) + "/dashboard.png";
  std::remove(shot.c_str());
  int status = -1;
  // fib(42), the demo's largest: ~0.27 s on a quiet core (fib(40), ~0.1 s, sat right at the 100 ms
  // bound below), long enough to tell a blocked loop from a busy one.
  std::string out =
      run_command(metrics::testing::python_script("dashboard_chromium.py") +
                      " http://127.0.0.1:" + std::to_string(demo.port()) + " " + shot + " 42",
                  &status, 120);
  ASSERT_EQ(status, 0) << out;
  json page = json::parse(out);
  const json& heavy = page["runs"]["heavy"];
  const json& blocking = page["runs"]["blocking"];
  ASSERT_EQ(heavy["status"], 200) << out;
  ASSERT_EQ(blocking["status"], 200) << out;
  double heavy_ms = heavy["ms"], heavy_peak = heavy["peak"];
  double blocking_ms = blocking["ms"], blocking_peak = blocking["peak"];
  // On the loop: the loop was busy about as long as the request took.
  EXPECT_GE(blocking_peak, 100.0) << out;
  EXPECT_GE(blocking_peak, 0.5 * blocking_ms) << out;
  // On the pool: the loop went on turning meanwhile.
  EXPECT_LT(heavy_peak, 0.5 * heavy_ms) << out;
  EXPECT_LT(heavy_peak * 2, blocking_peak) << out;
  // The page drew it, and the small load showed up as requests per second.
  EXPECT_NE(page["shown"], "-") << out;
  double best_rps = 0;
  for (const json& r : page["rps"]) best_rps = std::max(best_rps, r.get<double>());
  EXPECT_GT(best_rps, 20) << out;
  struct stat st {};
  ASSERT_EQ(::stat(shot.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 10000);
}

}  // namespace
}  // namespace brigade::http
