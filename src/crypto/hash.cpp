#include "brigade/crypto/hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <utility>

#include "brigade/crypto/error.hpp"
#include "digests.hpp"
#include "openssl_error.hpp"

namespace brigade::crypto {

Hash::Hash(std::string_view algorithm) {
  const EVP_MD* md = detail::find_digest(algorithm);
  ctx_ = EVP_MD_CTX_new();
  if (!ctx_ || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = nullptr;
    detail::throw_openssl("createHash");
  }
  size_ = std::size_t(EVP_MD_get_size(md));
}

Hash::Hash(Hash&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), size_(o.size_), done_(o.done_) {}

Hash& Hash::operator=(Hash&& o) noexcept {
  if (this != &o) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    size_ = o.size_;
    done_ = o.done_;
  }
  return *this;
}

Hash::~Hash() { EVP_MD_CTX_free(ctx_); }

Hash& Hash::update(BytesView data) {
  if (!ctx_ || done_) throw CryptoError("Hash::update: Digest already called");
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) detail::throw_openssl("Hash::update");
  return *this;
}

Bytes Hash::digest() {
  if (!ctx_ || done_) throw CryptoError("Hash::digest: Digest already called");
  done_ = true;
  Bytes out(size_);
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_, reinterpret_cast<unsigned char*>(out.data()), &n) != 1)
    detail::throw_openssl("Hash::digest");
  out.resize(n);
  return out;
}

Hash Hash::copy() const {
  if (!ctx_ || done_) throw CryptoError("Hash::copy: Digest already called");
  Hash h;
  h.ctx_ = EVP_MD_CTX_new();
  if (!h.ctx_ || EVP_MD_CTX_copy_ex(h.ctx_, ctx_) != 1) detail::throw_openssl("Hash::copy");
  h.size_ = size_;
  return h;
}

namespace {
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // process lifetime
  if (!mac) detail::throw_openssl("createHmac");
  return mac;
}
}  // namespace

Hmac::Hmac(std::string_view algorithm, BytesView key) {
  const EVP_MD* md = detail::find_digest(algorithm);
  ctx_ = EVP_MAC_CTX_new(hmac_algorithm());
  if (!ctx_) detail::throw_openssl("createHmac");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(EVP_MD_get0_name(md)), 0),
      OSSL_PARAM_construct_end()};
  // A null key means "keep the previous key" to OpenSSL: an empty key must still point somewhere.
  static const unsigned char kEmpty = 0;
  if (EVP_MAC_init(ctx_, key.empty() ? &kEmpty : key.udata(), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = nullptr;
    detail::throw_openssl("createHmac");
  }
  size_ = EVP_MAC_CTX_get_mac_size(ctx_);
}

Hmac::Hmac(Hmac&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), size_(o.size_), done_(o.done_) {}

Hmac& Hmac::operator=(Hmac&& o) noexcept {
  if (this != &o) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    size_ = o.size_;
    done_ = o.done_;
  }
  return *this;
}

Hmac::~Hmac() { EVP_MAC_CTX_free(ctx_); }

Hmac& Hmac::update(BytesView data) {
  if (!ctx_ || done_) throw CryptoError("Hmac::update: Digest already called");
  if (EVP_MAC_update(ctx_, data.udata(), data.size()) != 1) detail::throw_openssl("Hmac::update");
  return *this;
}

Bytes Hmac::digest() {
  if (!ctx_ || done_) throw CryptoError("Hmac::digest: Digest already called");
  done_ = true;
  Bytes out(size_);
  std::size_t n = 0;
  if (EVP_MAC_final(ctx_, reinterpret_cast<unsigned char*>(out.data()), &n, out.size()) != 1)
    detail::throw_openssl("Hmac::digest");
  out.resize(n);
  return out;
}

Hmac Hmac::copy() const {
  if (!ctx_ || done_) throw CryptoError("Hmac::copy: Digest already called");
  Hmac h;
  h.ctx_ = EVP_MAC_CTX_dup(ctx_);
  if (!h.ctx_) detail::throw_openssl("Hmac::copy");
  h.size_ = size_;
  return h;
}

Bytes hash(std::string_view algorithm, BytesView data) {
  return Hash(algorithm).update(data).digest();
}

Bytes hmac(std::string_view algorithm, BytesView key, BytesView data) {
  return Hmac(algorithm, key).update(data).digest();
}

bool timing_safe_equal(BytesView a, BytesView b) {
  if (a.size() != b.size())
    throw std::invalid_argument("timing_safe_equal: Input buffers must have the same byte length");
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace brigade::crypto
