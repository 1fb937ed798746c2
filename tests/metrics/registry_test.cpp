// The registry and the text exposition format, checked line by line.
#include "brigade/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brigade/loop/histogram.hpp"
#include "brigade/metrics/aggregate.hpp"
#include "brigade/metrics/exposition.hpp"
#include "brigade/metrics/runtime.hpp"

using namespace brigade;
using namespace brigade::metrics;

TEST(Exposition, CounterGaugeWithHelpTypeAndEscapedLabels) {
  Registry r;
  r.counter("app_jobs_total", "Jobs done\nby kind, C:\\ path", {"kind"})
      .labels({"a \"quoted\"\nline\\"})
      .inc(3);
  r.gauge("app_temperature_celsius", "Now").labels().set(-1.5);
  EXPECT_EQ(r.expose(),
            "# HELP app_jobs_total Jobs done\\nby kind, C:\\\\ path\n"
            "# TYPE app_jobs_total counter\n"
            "app_jobs_total{kind=\"a \\\"quoted\\\"\\nline\\\\\"} 3\n"
            "# HELP app_temperature_celsius Now\n"
            "# TYPE app_temperature_celsius gauge\n"
            "app_temperature_celsius -1.5\n");
}

TEST(Exposition, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("app_job_seconds", "Job time", {"kind"}, {0.25, 0.5, 1});
  for (double v : {0.125, 0.25, 0.375, 0.75, 3.0}) h.labels({"x"}).observe(v);
  EXPECT_EQ(r.expose(),
            "# HELP app_job_seconds Job time\n"
            "# TYPE app_job_seconds histogram\n"
            "app_job_seconds_bucket{kind=\"x\",le=\"0.25\"} 2\n"
            "app_job_seconds_bucket{kind=\"x\",le=\"0.5\"} 3\n"
            "app_job_seconds_bucket{kind=\"x\",le=\"1\"} 4\n"
            "app_job_seconds_bucket{kind=\"x\",le=\"+Inf\"} 5\n"
            "app_job_seconds_sum{kind=\"x\"} 4.5\n"
            "app_job_seconds_count{kind=\"x\"} 5\n");
}

TEST(Exposition, ValuesIntegersShortestDoublesAndSpecials) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(1e15), "1000000000000000");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(2.5e-7), "2.5e-07");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(format_value(1.0 / 3)), 1.0 / 3);  // round-trips
}

TEST(Registry, RejectsBadNamesLabelCountsTypesAndNegativeCounts) {
  Registry r;
  EXPECT_THROW(r.counter("9lives", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.gauge("ok_name", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("ok_name", "x", {"bad label"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "x", {"le"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "x", {}, {1, 0.5}), std::invalid_argument);
  auto& c = r.counter("app_total", "x", {"a", "b"});
  try {
    c.labels({"only one"});
    FAIL() << "a missing label value was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("a, b"), std::string::npos) << e.what();
  }
  EXPECT_THROW(r.gauge("app_total", "x", {"a", "b"}), std::invalid_argument);  // another type
  EXPECT_EQ(&r.counter("app_total", "x", {"a", "b"}), &c);  // the same definition: the same
  EXPECT_THROW(c.labels({"1", "2"}).inc(-1), std::invalid_argument);
  EXPECT_EQ(c.labels({"1", "2"}).value(), 0);
  // A failed registration left nothing behind.
  EXPECT_EQ(r.gather().size(), 1u);
}

TEST(Registry, ConcurrentIncrementsAndObservationsAreAllCounted) {
  Registry r;
  Counter& c = r.counter("app_hits_total", "x").labels();
  Histogram& h = r.histogram("app_seconds", "x", {}, {0.5}).labels();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        c.inc();
        h.observe(i % 2 ? 0.25 : 1.0);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000);
  std::vector<uint64_t> cum = h.cumulative();
  ASSERT_EQ(cum.size(), 2u);
  EXPECT_EQ(cum[0], 200000u);
  EXPECT_EQ(cum[1], 400000u);
  EXPECT_DOUBLE_EQ(h.sum(), 200000 * 0.25 + 200000 * 1.0);
}

TEST(Registry, CollectorsReportUntilTheirHandleGoesAndMergeByName) {
  Registry r;
  auto piece = [](const char* pool) {
    return [pool](std::vector<MetricFamily>& out) {
      add_family(out, "app_pool_threads", "Threads", MetricType::kGauge)
          .samples.push_back({"app_pool_threads", {{"pool", pool}}, 2});
    };
  };
  Collector a = r.add_collector(piece("a"));
  {
    Collector b = r.add_collector(piece("b"));
    std::vector<MetricFamily> families = r.gather();
    ASSERT_EQ(families.size(), 1u);  // one HELP/TYPE for both pools
    EXPECT_EQ(families[0].samples.size(), 2u);
  }
  std::vector<MetricFamily> families = r.gather();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].samples.size(), 1u);
  a.reset();
  EXPECT_TRUE(r.gather().empty());
}

TEST(LatencyBuckets, CountAtMostFollowsTheRecordedValues) {
  LatencyHistogram h;
  for (int i = 0; i < 1000; ++i) h.record(1'000'000);  // 1 ms
  for (int i = 0; i < 10; ++i) h.record(200'000'000);  // 200 ms
  EXPECT_EQ(count_at_most(h, 500'000), 0u);
  EXPECT_EQ(count_at_most(h, 2'000'000), 1000u);
  EXPECT_EQ(count_at_most(h, 100'000'000), 1000u);
  EXPECT_EQ(count_at_most(h, 1'000'000'000), 1010u);
  MetricFamily f{"d_seconds", "x", MetricType::kHistogram, Aggregation::kSum, {}};
  add_latency_samples(f, h, {0.0005, 0.005, 0.5});
  ASSERT_EQ(f.samples.size(), 6u);  // 3 bounds, +Inf, sum, count
  EXPECT_EQ(f.samples[0].value, 0);
  EXPECT_EQ(f.samples[1].value, 1000);
  EXPECT_EQ(f.samples[2].value, 1010);
  EXPECT_EQ(f.samples[3].value, 1010);
  EXPECT_NEAR(f.samples[4].value, 1000 * 0.001 + 10 * 0.2, 0.01);
}

TEST(LatencyBuckets, WindowHoldsOnlyTheValuesSinceTheLastTake) {
  LatencyHistogram h;
  LatencyWindow window;
  for (int i = 0; i < 500; ++i) h.record(50'000);  // 50 us
  h.record(300'000'000);                           // one 300 ms stall
  LatencyHistogram first = window.take(h);
  EXPECT_EQ(first.count(), 501u);
  EXPECT_GT(first.max(), 250'000'000u);
  for (int i = 0; i < 200; ++i) h.record(40'000);
  LatencyHistogram second = window.take(h);
  EXPECT_EQ(second.count(), 200u);
  EXPECT_LT(second.max(), 100'000u);  // the stall is out of this window
  EXPECT_EQ(window.take(h).count(), 0u);
}

TEST(Aggregate, SumsCountersAndHistogramsMaxesPercentilesAveragesRatios) {
  auto process = [](double requests, double p99, double ratio, double observed) {
    Registry r;
    r.counter("app_requests_total", "x", {"route"}).labels({"/a"}).inc(requests);
    r.histogram("app_seconds", "x", {}, {1}).labels().observe(observed);
    std::vector<MetricFamily> families = r.gather();
    add_family(families, "app_p99_seconds", "x", MetricType::kGauge, Aggregation::kMax)
        .samples.push_back({"app_p99_seconds", {}, p99});
    add_family(families, "app_busy_ratio", "x", MetricType::kGauge, Aggregation::kAverage)
        .samples.push_back({"app_busy_ratio", {}, ratio});
    return from_json(to_json(families));  // as a worker's answer travels
  };
  std::vector<MetricFamily> merged =
      aggregate({process(3, 0.002, 0.5, 0.5), process(4, 0.009, 0.25, 2)});
  std::string text = format_text(merged);
  EXPECT_NE(text.find("app_requests_total{route=\"/a\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("app_seconds_bucket{le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("app_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("app_seconds_sum 2.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("app_p99_seconds 0.009\n"), std::string::npos) << text;
  EXPECT_NE(text.find("app_busy_ratio 0.375\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '#'), 2 * 4);  // one HELP and TYPE per family
}

TEST(Aggregate, JsonKeepsSpecialValuesAndRejectsWhatItDidNotWrite) {
  std::vector<MetricFamily> f;
  add_family(f, "g", "x", MetricType::kGauge)
      .samples.push_back({"g", {{"k", "v \"q\""}}, std::numeric_limits<double>::infinity()});
  std::vector<MetricFamily> back = from_json(to_json(f));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(std::isinf(back[0].samples[0].value));
  EXPECT_EQ(back[0].samples[0].labels[0].second, "v \"q\"");
  EXPECT_THROW(from_json("not json"), std::invalid_argument);
  EXPECT_THROW(from_json("{}"), std::invalid_argument);
  EXPECT_THROW(from_json(R"([{"name":"g","help":"","type":9,"aggregation":0,"samples":[]}])"),
               std::invalid_argument);
  EXPECT_THROW(from_json(R"([{"name":"g"}])"), std::invalid_argument);
}
