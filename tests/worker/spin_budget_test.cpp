// The adaptive spin budget's policy (spin.hpp): grow on a catch, fade on misses, and probe back
// with the whole budget, so a pair of threads that both stopped spinning can find each other again.
#include <gtest/gtest.h>

#include "brigade/worker/spin.hpp"

using brigade::detail::SpinBudget;

namespace {

constexpr uint64_t kMax = 50'000;

// From kMax, three misses in a row (50 us, 12.5 us, 3.1 us) leave no budget.
void miss_three_times(SpinBudget& b) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_NE(b.next(kMax), 0u);
    b.missed();
  }
}

}  // namespace

TEST(SpinBudget, StartsAtItsBudgetAndIsCappedByTheCaller) {
  SpinBudget b(kMax);
  EXPECT_EQ(b.next(kMax), kMax);
  EXPECT_EQ(b.next(10'000), 10'000u);
  EXPECT_EQ(b.next(0), 0u);  // spinning off
}

TEST(SpinBudget, MissesQuarterItDownToNone) {
  SpinBudget b(kMax);
  b.missed();
  EXPECT_EQ(b.next(kMax), kMax / 4);
  b.missed();
  EXPECT_EQ(b.next(kMax), kMax / 16);
  b.missed();  // 3125 / 4 is under the 2 us floor
  EXPECT_EQ(b.next(kMax), 0u);
}

TEST(SpinBudget, CatchesDoubleItUpToTheCap) {
  SpinBudget b(kMax);
  b.missed();
  b.missed();  // 3125 ns
  b.caught(kMax);
  EXPECT_EQ(b.next(kMax), 6250u);
  for (int i = 0; i < 10; ++i) b.caught(kMax);
  EXPECT_EQ(b.next(kMax), kMax);
}

TEST(SpinBudget, FromNoneOneTurnInSixtyFourProbesWithTheWholeBudget) {
  SpinBudget b(kMax);
  miss_three_times(b);
  for (int round = 0; round < 3; ++round) {
    for (uint32_t i = 1; i < SpinBudget::kProbeEvery; ++i) ASSERT_EQ(b.next(kMax), 0u) << i;
    ASSERT_EQ(b.next(kMax), kMax);  // the probe: long enough to outlast a sleeping peer's wake-up
    b.missed();                     // a missed probe is none again at once, not a quarter of it
  }
  EXPECT_EQ(b.next(kMax), 0u);
}

TEST(SpinBudget, ACaughtProbeSpinsTheWholeBudgetAgain) {
  SpinBudget b(kMax);
  miss_three_times(b);
  for (uint32_t i = 1; i < SpinBudget::kProbeEvery; ++i) b.next(kMax);
  ASSERT_EQ(b.next(20'000), 20'000u);  // probes with the cap the caller gives
  b.caught(kMax);
  EXPECT_EQ(b.next(kMax), kMax);
  EXPECT_EQ(b.next(kMax), kMax);
}
