#include "brigade/crypto/sign.hpp"

#include <gtest/gtest.h>

#include <string>

#include "brigade/crypto/error.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"
#include "crypto_support.hpp"

using namespace brigade;
using namespace brigade::crypto;

namespace {
std::string pem(const char* label, const std::string& der_hex) {
  std::string b64 = to_base64(from_hex(der_hex));
  return std::string("-----BEGIN ") + label + "-----\n" + b64 + "\n-----END " + label + "-----\n";
}
// Raw Ed25519 keys wrapped as PKCS#8 and SubjectPublicKeyInfo (RFC 8410).
PrivateKey ed25519_private(const std::string& seed_hex) {
  return PrivateKey::from_pem(pem("PRIVATE KEY", "302e020100300506032b657004220420" + seed_hex));
}
PublicKey ed25519_public(const std::string& hex) {
  return PublicKey::from_pem(pem("PUBLIC KEY", "302a300506032b6570032100" + hex));
}
}  // namespace

// RFC 8032 section 7.1, tests 1 and 2.
TEST(CryptoSign, Ed25519KnownAnswers) {
  PrivateKey k1 =
      ed25519_private("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  PublicKey p1 = ed25519_public("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(k1.type(), KeyType::kEd25519);
  EXPECT_EQ(k1.public_key().to_pem(), p1.to_pem());
  Bytes s1 = sign("", "", k1);
  EXPECT_EQ(to_hex(s1),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(verify("", "", p1, s1));

  PrivateKey k2 =
      ed25519_private("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  PublicKey p2 = ed25519_public("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  Bytes s2 = sign("", from_hex("72"), k2);
  EXPECT_EQ(to_hex(s2),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
            "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_TRUE(verify("", from_hex("72"), p2, s2));
  EXPECT_FALSE(verify("", from_hex("73"), p2, s2));
  EXPECT_FALSE(verify("", from_hex("72"), p1, s2));
  EXPECT_THROW(sign("sha256", "x", k1), CryptoError);  // Ed25519 hashes internally
}

TEST(CryptoSign, EcdsaP256DerAndP1363) {
  KeyPair kp = generate_key_pair(KeyType::kEc);
  EXPECT_EQ(kp.private_key.type(), KeyType::kEc);
  EXPECT_EQ(kp.private_key.bits(), 256);
  Bytes der = sign("sha256", "payload", kp.private_key);
  EXPECT_EQ(der[0], std::byte{0x30});  // a DER SEQUENCE
  EXPECT_TRUE(verify("sha256", "payload", kp.public_key, der));
  EXPECT_FALSE(verify("sha256", "payloaD", kp.public_key, der));

  SignOptions jose;
  jose.dsa_encoding = DsaEncoding::kIeeeP1363;
  Bytes raw = sign("sha256", "payload", kp.private_key, jose);
  EXPECT_EQ(raw.size(), 64u);  // r || s, 32 bytes each
  EXPECT_TRUE(verify("sha256", "payload", kp.public_key, raw, jose));
  EXPECT_FALSE(verify("sha256", "payload", kp.public_key, raw));  // not DER
  raw[10] ^= std::byte{1};
  EXPECT_FALSE(verify("sha256", "payload", kp.public_key, raw, jose));
  raw.pop_back();
  EXPECT_FALSE(verify("sha256", "payload", kp.public_key, raw, jose));  // wrong size: false
  EXPECT_FALSE(verify("sha256", "payload", kp.public_key, Bytes{}));    // garbage: false
}

TEST(CryptoSign, RsaPssAndPkcs1) {
  Loop loop;
  KeyPair kp = run(loop, generate_key_pair_async(KeyType::kRsa));
  EXPECT_EQ(kp.private_key.bits(), 2048);
  SignOptions pss;
  pss.padding = RsaPadding::kPss;
  pss.salt_length = 32;  // JWT's PS256
  Bytes s = sign("sha256", "body", kp.private_key, pss);
  EXPECT_EQ(s.size(), 256u);
  EXPECT_TRUE(verify("sha256", "body", kp.public_key, s, pss));
  SignOptions pss_auto;
  pss_auto.padding = RsaPadding::kPss;
  pss_auto.salt_length = kSaltLengthAuto;
  EXPECT_TRUE(verify("sha256", "body", kp.public_key, s, pss_auto));
  EXPECT_FALSE(verify("sha256", "body", kp.public_key, s));  // PKCS#1 v1.5 expected: no
  EXPECT_FALSE(verify("sha256", "bodY", kp.public_key, s, pss));

  // PKCS#1 v1.5 is deterministic.
  EXPECT_EQ(sign("sha256", "body", kp.private_key), sign("sha256", "body", kp.private_key));
  EXPECT_NE(sign("sha256", "body", kp.private_key, pss), s);  // PSS is salted
  EXPECT_TRUE(verify("sha256", "body", kp.public_key, sign("sha256", "body", kp.private_key)));
  EXPECT_THROW(sign("sha-nope", "body", kp.private_key), CryptoError);
}

TEST(CryptoKeys, PemRoundTripAndErrors) {
  KeyPair kp = generate_key_pair(KeyType::kEd25519);
  std::string priv = kp.private_key.to_pem();
  EXPECT_NE(priv.find("BEGIN PRIVATE KEY"), std::string::npos);
  PrivateKey again = PrivateKey::from_pem(priv);
  EXPECT_EQ(again.to_pem(), priv);
  PublicKey pub = PublicKey::from_pem(kp.public_key.to_pem());
  EXPECT_TRUE(verify("", "m", pub, sign("", "m", again)));
  PrivateKey copy = again;  // shared, reference-counted
  EXPECT_EQ(copy.native(), again.native());

  EXPECT_THROW(PrivateKey::from_pem("not a key"), CryptoError);
  EXPECT_THROW(PublicKey::from_pem(""), CryptoError);
  EXPECT_THROW(PublicKey::from_pem(priv.substr(0, priv.size() / 2)), CryptoError);
  PrivateKey none;
  EXPECT_FALSE(none);
  EXPECT_THROW(sign("", "m", none), CryptoError);
}

// Keys made by the openssl command: an encrypted PKCS#8 key and a PKCS#1 RSA public key.
TEST(CryptoKeys, OpensslMadeKeys) {
  if (!crypto_test::have("openssl")) GTEST_SKIP() << "openssl not installed";
  int status = 0;
  std::string enc = crypto_test::capture(
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc "
      "-pass pass:s3cret 2>/dev/null",
      &status);
  ASSERT_EQ(status, 0);
  ASSERT_NE(enc.find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  EXPECT_THROW(PrivateKey::from_pem(enc), CryptoError);  // no passphrase: an error, no prompt
  EXPECT_THROW(PrivateKey::from_pem(enc, "wrong"), CryptoError);
  PrivateKey k = PrivateKey::from_pem(enc, "s3cret");
  EXPECT_EQ(k.type(), KeyType::kEc);

  KeyPair rsa = generate_key_pair(KeyType::kRsa);
  std::string pkcs1 = crypto_test::capture("echo '" + rsa.private_key.to_pem() +
                                           "' | openssl rsa -RSAPublicKey_out 2>/dev/null");
  ASSERT_NE(pkcs1.find("BEGIN RSA PUBLIC KEY"), std::string::npos);
  PublicKey pub = PublicKey::from_pem(pkcs1);
  EXPECT_TRUE(verify("sha256", "x", pub, sign("sha256", "x", rsa.private_key)));
}
