#pragma once
// Hash and Hmac: Node's createHash / createHmac (streaming update, then digest once), and
// one-shot hash() / hmac(). Algorithms are OpenSSL's names, case-insensitive: "sha256", "sha384",
// "sha512", "sha224", "sha512-256", "sha3-256", "sha1", "md5". An unknown one throws CryptoError.
// A Hash or Hmac belongs to one thread at a time; copy() forks a running state (hash.copy()).
#include <string_view>

#include "brigade/crypto/bytes.hpp"

struct evp_md_ctx_st;
struct evp_mac_ctx_st;

namespace brigade::crypto {

class Hash {
 public:
  explicit Hash(std::string_view algorithm);
  Hash(Hash&& o) noexcept;
  Hash& operator=(Hash&& o) noexcept;
  Hash(const Hash&) = delete;
  Hash& operator=(const Hash&) = delete;
  ~Hash();

  Hash& update(BytesView data);
  // Finishes the hash; update() and digest() afterwards throw CryptoError ("Digest already
  // called").
  Bytes digest();
  Hash copy() const;
  std::size_t size() const noexcept { return size_; }  // digest length in bytes

 private:
  Hash() = default;
  evp_md_ctx_st* ctx_ = nullptr;
  std::size_t size_ = 0;
  bool done_ = false;
};

class Hmac {
 public:
  Hmac(std::string_view algorithm, BytesView key);
  Hmac(Hmac&& o) noexcept;
  Hmac& operator=(Hmac&& o) noexcept;
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;
  ~Hmac();

  Hmac& update(BytesView data);
  Bytes digest();  // once, as Hash::digest
  Hmac copy() const;
  std::size_t size() const noexcept { return size_; }

 private:
  Hmac() = default;
  evp_mac_ctx_st* ctx_ = nullptr;
  std::size_t size_ = 0;
  bool done_ = false;
};

Bytes hash(std::string_view algorithm, BytesView data);
Bytes hmac(std::string_view algorithm, BytesView key, BytesView data);

// crypto.timingSafeEqual: compares in time independent of the contents. Inputs of different
// sizes throw std::invalid_argument, as Node throws a RangeError.
bool timing_safe_equal(BytesView a, BytesView b);

}  // namespace brigade::crypto
