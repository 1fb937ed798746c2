#include "brigade/crypto/random.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <stdexcept>

using namespace brigade::crypto;

TEST(CryptoRandom, BytesDifferAndFillWhole) {
  Bytes a = random_bytes(32), b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(random_bytes(0).empty());
  Bytes big = random_bytes(1 << 20);
  std::size_t zeros = 0;
  for (std::byte x : big) zeros += x == std::byte{0};
  EXPECT_LT(zeros, 8192u);  // ~4096 expected: all of it was written
}

TEST(CryptoRandom, UuidIsVersion4) {
  std::regex form("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = random_uuid();
    ASSERT_TRUE(std::regex_match(u, form)) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(CryptoRandom, IntStaysInRangeAndCoversIt) {
  int counts[6] = {};
  for (int i = 0; i < 6000; ++i) {
    int64_t v = random_int(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LT(v, 3);
    ++counts[v + 3];
  }
  for (int c : counts) EXPECT_GT(c, 700);  // 1000 expected each
  EXPECT_EQ(random_int(7, 8), 7);
  EXPECT_THROW(random_int(5, 5), std::invalid_argument);
  int64_t wide = random_int(INT64_MIN, INT64_MAX);
  EXPECT_LT(wide, INT64_MAX);
}
