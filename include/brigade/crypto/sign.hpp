#pragma once
// crypto.sign / crypto.verify: one-shot signatures for webhooks and JWTs.
//   Ed25519: algorithm "" (Node's null); the message is signed as is (PureEdDSA).
//   ECDSA:   algorithm "sha256" etc.; DER signatures by default, or r||s with
//            DsaEncoding::kIeeeP1363 (JWT's ES256).
//   RSA:     PKCS#1 v1.5 by default (RS256), or RsaPadding::kPss (PS256: salt_length = 32).
// verify() returns false for a signature that does not match or cannot be parsed; a key or digest
// that cannot be used throws CryptoError.
#include <string_view>

#include "brigade/crypto/bytes.hpp"
#include "brigade/crypto/keys.hpp"

namespace brigade::crypto {

enum class RsaPadding { kPkcs1, kPss };
enum class DsaEncoding { kDer, kIeeeP1363 };

// Node's RSA_PSS_SALTLEN_* (what OpenSSL's constants mean).
inline constexpr int kSaltLengthDigest = -1;   // the digest's length
inline constexpr int kSaltLengthMaxSign = -2;  // as large as fits (sign); auto-detect (verify)
inline constexpr int kSaltLengthAuto = -2;

struct SignOptions {
  RsaPadding padding = RsaPadding::kPkcs1;
  int salt_length = kSaltLengthMaxSign;  // PSS only; Node's default
  DsaEncoding dsa_encoding = DsaEncoding::kDer;
};

Bytes sign(std::string_view algorithm, BytesView data, const PrivateKey& key,
           const SignOptions& options = SignOptions());
bool verify(std::string_view algorithm, BytesView data, const PublicKey& key, BytesView signature,
            const SignOptions& options = SignOptions());

}  // namespace brigade::crypto
