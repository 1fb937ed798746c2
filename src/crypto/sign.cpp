#include "brigade/crypto/sign.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "brigade/crypto/error.hpp"
#include "digests.hpp"
#include "openssl_error.hpp"

namespace brigade::crypto {

namespace {
// OpenSSL reads an empty message through its pointer as well: never hand it null.
const unsigned char kEmpty = 0;
const unsigned char* nonnull(BytesView b) { return b.empty() ? &kEmpty : b.udata(); }

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using SigPtr = std::unique_ptr<ECDSA_SIG, SigFree>;

bool is_rsa(const Key& key) {
  return key.type() == KeyType::kRsa || key.type() == KeyType::kRsaPss;
}

// Ed25519 signs the message itself (no digest); the others take Node's digest name, or none for
// the key type's default (SHA-256).
const EVP_MD* digest_for(std::string_view algorithm, const Key& key, const char* op) {
  if (!key) throw CryptoError(std::string(op) + ": no key");
  if (key.type() == KeyType::kEd25519) {
    if (!algorithm.empty())
      throw CryptoError(std::string(op) + ": Ed25519 takes no digest (pass \"\")");
    return nullptr;
  }
  return algorithm.empty() ? nullptr : detail::find_digest(algorithm);
}

void set_padding(EVP_PKEY_CTX* pctx, const Key& key, const SignOptions& options, const char* op) {
  if (!is_rsa(key)) return;
  if (options.padding == RsaPadding::kPss || key.type() == KeyType::kRsaPss) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, options.salt_length) != 1)
      detail::throw_openssl(op);
  } else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    detail::throw_openssl(op);
  }
}

std::size_t ec_field_bytes(const Key& key) { return std::size_t(key.bits() + 7) / 8; }

// DER ECDSA-Sig-Value -> r || s, each left-padded to the curve's size (JWS, WebCrypto).
Bytes der_to_p1363(const Bytes& der, const Key& key) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, long(der.size())));
  if (!sig) detail::throw_openssl("sign");
  std::size_t n = ec_field_bytes(key);
  Bytes out(2 * n);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, int(n)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + n, int(n)) < 0)
    detail::throw_openssl("sign");
  return out;
}

// r || s -> DER; an empty result when the size does not fit the curve (verification fails).
Bytes p1363_to_der(BytesView raw, const Key& key) {
  std::size_t n = ec_field_bytes(key);
  if (raw.size() != 2 * n) return {};
  SigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.udata(), int(n), nullptr);
  BIGNUM* s = BN_bin2bn(raw.udata() + n, int(n), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    detail::throw_openssl("verify");
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) detail::throw_openssl("verify");
  Bytes out(reinterpret_cast<std::byte*>(der), reinterpret_cast<std::byte*>(der) + len);
  OPENSSL_free(der);
  return out;
}
}  // namespace

Bytes sign(std::string_view algorithm, BytesView data, const PrivateKey& key,
           const SignOptions& options) {
  const EVP_MD* md = digest_for(algorithm, key, "sign");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key.native()) != 1)
    detail::throw_openssl("sign");
  set_padding(pctx, key, options, "sign");
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, nonnull(data), data.size()) != 1)
    detail::throw_openssl("sign");
  Bytes out(len);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, nonnull(data),
                     data.size()) != 1)
    detail::throw_openssl("sign");
  out.resize(len);
  if (key.type() == KeyType::kEc && options.dsa_encoding == DsaEncoding::kIeeeP1363)
    return der_to_p1363(out, key);
  return out;
}

bool verify(std::string_view algorithm, BytesView data, const PublicKey& key, BytesView signature,
            const SignOptions& options) {
  const EVP_MD* md = digest_for(algorithm, key, "verify");
  Bytes der;
  if (key.type() == KeyType::kEc && options.dsa_encoding == DsaEncoding::kIeeeP1363) {
    der = p1363_to_der(signature, key);
    if (der.empty()) return false;
    signature = BytesView(der);
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.native()) != 1)
    detail::throw_openssl("verify");
  set_padding(pctx, key, options, "verify");
  // 1: valid; 0: does not match; below 0: could not be parsed. Both failures are "false".
  int rc =
      EVP_DigestVerify(ctx.get(), nonnull(signature), signature.size(), nonnull(data), data.size());
  detail::clear_openssl_errors();
  return rc == 1;
}

}  // namespace brigade::crypto
