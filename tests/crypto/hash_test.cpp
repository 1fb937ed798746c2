#include "brigade/crypto/hash.hpp"

#include <gtest/gtest.h>

#include <string>

#include "brigade/crypto/error.hpp"

using namespace brigade::crypto;

namespace {
std::string hex_hash(std::string_view algo, std::string_view data) {
  return to_hex(hash(algo, data));
}
}  // namespace

// FIPS 180-4 examples.
TEST(CryptoHash, Sha2KnownAnswers) {
  EXPECT_EQ(hex_hash("sha256", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_hash("sha256", ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_hash("sha224", "abc"), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  EXPECT_EQ(hex_hash("sha384", "abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358b"
            "aeca134c825a7");
  EXPECT_EQ(hex_hash("SHA512", "abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836b"
            "a3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(hex_hash("sha512-256", "abc"),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
}

TEST(CryptoHash, StreamingUpdatesEqualOneShot) {
  // A million 'a' (FIPS 180-2's long message), fed in uneven pieces.
  std::string chunk(997, 'a');
  Hash h("sha256");
  std::size_t fed = 0;
  while (fed + chunk.size() <= 1000000) {
    h.update(chunk);
    fed += chunk.size();
  }
  h.update(std::string(1000000 - fed, 'a'));
  EXPECT_EQ(to_hex(h.digest()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(h.size(), 32u);
}

TEST(CryptoHash, CopyForksTheState) {
  Hash h("sha256");
  h.update("ab");
  Hash fork = h.copy();
  h.update("c");
  fork.update("x");
  EXPECT_EQ(to_hex(h.digest()), hex_hash("sha256", "abc"));
  EXPECT_EQ(to_hex(fork.digest()), hex_hash("sha256", "abx"));
}

TEST(CryptoHash, DigestOnceAndUnknownAlgorithms) {
  Hash h("sha256");
  h.digest();
  EXPECT_THROW(h.digest(), CryptoError);
  EXPECT_THROW(h.update("x"), CryptoError);
  try {
    Hash bad("sha257");
    FAIL() << "no error";
  } catch (const CryptoError& e) {
    EXPECT_NE(std::string(e.what()).find("sha257"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Hmac("nope", "key"), CryptoError);
  Hash moved = std::move(h);
  EXPECT_THROW(h.update("x"), CryptoError);  // a moved-from Hash refuses instead of crashing
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
TEST(CryptoHmac, Rfc4231KnownAnswers) {
  std::string key1(20, '\x0b');
  EXPECT_EQ(to_hex(hmac("sha256", key1, "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(to_hex(hmac("sha512", key1, "Hi There")),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038"
            "b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
  EXPECT_EQ(to_hex(hmac("sha256", "Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string key6(131, '\xaa');
  EXPECT_EQ(to_hex(hmac("sha256", key6, "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(CryptoHmac, StreamingCopyAndEmptyKey) {
  Hmac m("sha256", "Jefe");
  m.update("what do ya ");
  Hmac fork = m.copy();
  m.update("want for nothing?");
  EXPECT_EQ(to_hex(m.digest()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_THROW(m.digest(), CryptoError);
  fork.update("want for nothing?");
  EXPECT_EQ(to_hex(fork.digest()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // HMAC with an empty key is defined (the key is zero-padded): Node accepts it too.
  EXPECT_EQ(to_hex(hmac("sha256", "", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}
