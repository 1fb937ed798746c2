#include <gtest/gtest.h>

#include "brigade/loop/histogram.hpp"

using brigade::LatencyHistogram;

TEST(LatencyHistogram, PercentilesWithinBucketPrecision) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100'000; ++v) h.record(v * 1000);
  EXPECT_EQ(h.count(), 100'000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100'000'000u);
  auto near = [](uint64_t got, double want) { return std::abs(double(got) - want) / want < 0.07; };
  EXPECT_TRUE(near(h.percentile(50), 50e6)) << h.percentile(50);
  EXPECT_TRUE(near(h.percentile(99), 99e6)) << h.percentile(99);
  EXPECT_EQ(h.percentile(100), 100'000'000u);
  EXPECT_NEAR(h.mean(), 50'000'500.0, 1.0);
}

TEST(LatencyHistogram, EmptyAndMerge) {
  LatencyHistogram a, b;
  EXPECT_EQ(a.percentile(99), 0u);
  a.record(5);
  b.record(500);
  a.merge(b);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_EQ(a.max(), 500u);
  EXPECT_EQ(a.min(), 5u);
}
