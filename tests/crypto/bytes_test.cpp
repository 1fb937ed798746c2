#include "brigade/crypto/bytes.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "brigade/crypto/hash.hpp"

using namespace brigade::crypto;

TEST(CryptoBytes, HexRoundTrip) {
  std::string raw("\x00\x01\xab\xff", 4);
  EXPECT_EQ(to_hex(raw), "0001abff");
  EXPECT_EQ(to_string(from_hex("0001ABff")), raw);
  EXPECT_THROW(from_hex("abc"), std::invalid_argument);
  EXPECT_THROW(from_hex("zz"), std::invalid_argument);
}

TEST(CryptoBytes, Base64MatchesRfc4648) {
  // RFC 4648 section 10.
  const char* in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(to_base64(in[i]), out[i]);
    EXPECT_EQ(to_string(from_base64(out[i])), in[i]);
  }
  EXPECT_EQ(to_base64url("\xfb\xff"), "-_8");
  EXPECT_EQ(to_string(from_base64("-_8")), "\xfb\xff");
  EXPECT_EQ(to_string(from_base64("+/8=")), "\xfb\xff");
  EXPECT_THROW(from_base64("Zm9v!"), std::invalid_argument);
  EXPECT_THROW(from_base64("Z"), std::invalid_argument);
  EXPECT_THROW(from_base64("Zg="), std::invalid_argument);  // padded but not a multiple of 4
}

TEST(CryptoBytes, TimingSafeEqual) {
  EXPECT_TRUE(timing_safe_equal("abc", "abc"));
  EXPECT_FALSE(timing_safe_equal("abc", "abd"));
  EXPECT_TRUE(timing_safe_equal("", ""));
  EXPECT_THROW(timing_safe_equal("abc", "abcd"), std::invalid_argument);
}
