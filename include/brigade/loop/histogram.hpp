#pragma once
// LatencyHistogram: log-linear buckets (16 per power of two) over nanoseconds, like HdrHistogram
// at 6% precision; record() is a few instructions and never allocates.
#include <array>
#include <cstdint>

namespace brigade {

class LatencyHistogram {
 public:
  void record(uint64_t ns) noexcept;
  void reset() noexcept { *this = LatencyHistogram{}; }
  void merge(const LatencyHistogram& other) noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? double(sum_) / double(count_) : 0.0; }
  // The value at percentile p (0..100): the upper bound of the bucket holding it, capped at max.
  uint64_t percentile(double p) const noexcept;

 private:
  static constexpr int kSubBits = 4;
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;
  static int bucket_of(uint64_t v) noexcept;
  static uint64_t bucket_upper(int b) noexcept;

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace brigade
