#include "brigade/crypto/keys.hpp"

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <memory>
#include <utility>

#include "brigade/crypto/error.hpp"
#include "openssl_error.hpp"

namespace brigade::crypto {

namespace {
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr read_bio(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) detail::throw_openssl("key: out of memory");
  return bio;
}

std::string drain_bio(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, std::size_t(n));
}

// Hands the passphrase to the PEM decoder; with none, fails instead of prompting on a terminal
// (OpenSSL's default callback reads stdin).
int passphrase_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* pass = static_cast<std::string_view*>(u);
  if (pass->empty() || pass->size() > std::size_t(size)) return -1;
  std::memcpy(buf, pass->data(), pass->size());
  return int(pass->size());
}
}  // namespace

Key::Key(const Key& o) noexcept : pkey_(o.pkey_) {
  if (pkey_) EVP_PKEY_up_ref(pkey_);
}
Key::Key(Key&& o) noexcept : pkey_(std::exchange(o.pkey_, nullptr)) {}
Key& Key::operator=(Key o) noexcept {
  std::swap(pkey_, o.pkey_);
  return *this;
}
Key::~Key() { EVP_PKEY_free(pkey_); }

KeyType Key::type() const noexcept {
  if (!pkey_) return KeyType::kOther;
  switch (EVP_PKEY_get_base_id(pkey_)) {
    case EVP_PKEY_RSA:
      return KeyType::kRsa;
    case EVP_PKEY_RSA_PSS:
      return KeyType::kRsaPss;
    case EVP_PKEY_EC:
      return KeyType::kEc;
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    default:
      return KeyType::kOther;
  }
}

int Key::bits() const noexcept { return pkey_ ? EVP_PKEY_get_bits(pkey_) : 0; }

PrivateKey PrivateKey::from_pem(std::string_view pem, std::string_view passphrase) {
  BioPtr bio = read_bio(pem);
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &passphrase);
  if (!pkey) detail::throw_openssl("createPrivateKey");
  return PrivateKey(pkey);
}

std::string PrivateKey::to_pem() const {
  if (!pkey_) throw CryptoError("PrivateKey::to_pem: no key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey_, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    detail::throw_openssl("PrivateKey::to_pem");
  return drain_bio(bio.get());
}

PublicKey PrivateKey::public_key() const {
  if (!pkey_) throw CryptoError("PrivateKey::public_key: no key");
  // Through SubjectPublicKeyInfo, so the public key holds no private part.
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(pkey_, &der);
  if (n <= 0) detail::throw_openssl("PrivateKey::public_key");
  const unsigned char* p = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, n);
  OPENSSL_free(der);
  if (!pub) detail::throw_openssl("PrivateKey::public_key");
  return PublicKey::adopt(pub);
}

PublicKey PublicKey::from_pem(std::string_view pem) {
  // The decoder reads SubjectPublicKeyInfo and the type-specific forms (PKCS#1's label) alike.
  EVP_PKEY* pkey = nullptr;
  OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", nullptr, nullptr,
                                                         EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
  const unsigned char* data = reinterpret_cast<const unsigned char*>(pem.data());
  std::size_t len = pem.size();
  bool ok = dctx && OSSL_DECODER_from_data(dctx, &data, &len) == 1;
  OSSL_DECODER_CTX_free(dctx);
  if (!ok || !pkey) {
    EVP_PKEY_free(pkey);
    detail::throw_openssl("createPublicKey");
  }
  return PublicKey(pkey);
}

std::string PublicKey::to_pem() const {
  if (!pkey_) throw CryptoError("PublicKey::to_pem: no key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_) != 1)
    detail::throw_openssl("PublicKey::to_pem");
  return drain_bio(bio.get());
}

KeyPair generate_key_pair(KeyType type, KeyOptions options) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kRsa:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t(options.bits));
      break;
    case KeyType::kRsaPss:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA-PSS", std::size_t(options.bits));
      break;
    case KeyType::kEc: {
      std::string curve(options.curve);
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str());
      break;
    }
    case KeyType::kEd25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kOther:
      throw CryptoError("generateKeyPair: unsupported key type");
  }
  if (!pkey) detail::throw_openssl("generateKeyPair");
  PrivateKey priv = PrivateKey::adopt(pkey);
  PublicKey pub = priv.public_key();
  return KeyPair{std::move(priv), std::move(pub)};
}

namespace {
Task<KeyPair> generate_owned(KeyType type, int bits, std::string curve, ThreadPool& pool) {
  auto job = pool.run([&] {
    KeyOptions options;
    options.bits = bits;
    options.curve = curve;
    return generate_key_pair(type, options);
  });
  co_return co_await job;
}
}  // namespace

Task<KeyPair> generate_key_pair_async(KeyType type, KeyOptions options, ThreadPool& pool) {
  // The curve is copied now: the caller's view may not live as long as the task.
  return generate_owned(type, options.bits, std::string(options.curve), pool);
}

}  // namespace brigade::crypto
