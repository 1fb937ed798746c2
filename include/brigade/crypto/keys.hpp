#pragma once
// Asymmetric keys: Node's KeyObject for private and public keys (createPrivateKey,
// createPublicKey, generateKeyPair). Both share OpenSSL's reference-counted key: copies are cheap
// and immutable, usable from any thread.
#include <string>
#include <string_view>

#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/task.hpp"

struct evp_pkey_st;

namespace brigade::crypto {

enum class KeyType { kRsa, kRsaPss, kEc, kEd25519, kOther };

class PublicKey;

class Key {
 public:
  Key() noexcept = default;
  Key(const Key& o) noexcept;
  Key(Key&& o) noexcept;
  Key& operator=(Key o) noexcept;
  ~Key();

  explicit operator bool() const noexcept { return pkey_ != nullptr; }
  KeyType type() const noexcept;
  int bits() const noexcept;  // modulus or curve size
  evp_pkey_st* native() const noexcept { return pkey_; }

 protected:
  explicit Key(evp_pkey_st* owned) noexcept : pkey_(owned) {}
  evp_pkey_st* pkey_ = nullptr;
};

class PrivateKey : public Key {
 public:
  PrivateKey() noexcept = default;
  // PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY") or traditional ("RSA PRIVATE KEY",
  // "EC PRIVATE KEY") PEM. An encrypted key without the right passphrase throws CryptoError.
  static PrivateKey from_pem(std::string_view pem, std::string_view passphrase = {});
  std::string to_pem() const;  // unencrypted PKCS#8
  PublicKey public_key() const;
  static PrivateKey adopt(evp_pkey_st* owned) noexcept { return PrivateKey(owned); }

 private:
  explicit PrivateKey(evp_pkey_st* owned) noexcept : Key(owned) {}
};

class PublicKey : public Key {
 public:
  PublicKey() noexcept = default;
  // SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY") PEM.
  static PublicKey from_pem(std::string_view pem);
  std::string to_pem() const;  // SubjectPublicKeyInfo
  static PublicKey adopt(evp_pkey_st* owned) noexcept { return PublicKey(owned); }

 private:
  explicit PublicKey(evp_pkey_st* owned) noexcept : Key(owned) {}
};

struct KeyPair {
  PrivateKey private_key;
  PublicKey public_key;
};

// generateKeyPairSync('rsa' | 'rsa-pss' | 'ec' | 'ed25519', ...): `bits` for RSA (default 2048),
// `curve` for EC ("P-256", "P-384", "P-521", "secp256k1").
struct KeyOptions {
  int bits = 2048;
  std::string_view curve = "P-256";
};
KeyPair generate_key_pair(KeyType type, KeyOptions options = KeyOptions());
// The same on a pool thread (RSA generation takes tens of milliseconds or more).
Task<KeyPair> generate_key_pair_async(KeyType type, KeyOptions options = KeyOptions(),
                                      ThreadPool& pool = ThreadPool::shared());

}  // namespace brigade::crypto
