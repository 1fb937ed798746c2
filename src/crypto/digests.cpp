#include "digests.hpp"

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "brigade/crypto/error.hpp"
#include "openssl_error.hpp"

namespace brigade::crypto::detail {

namespace {
struct DigestCache {
  std::mutex mu;
  std::vector<std::pair<std::string, EVP_MD*>> entries;  // never freed: process lifetime
};
DigestCache& cache() {
  static DigestCache* c = new DigestCache();  // outlives static destructors that may still hash
  return *c;
}
}  // namespace

const EVP_MD* find_digest(std::string_view name) {
  DigestCache& c = cache();
  std::lock_guard lock(c.mu);
  for (auto& [n, md] : c.entries)
    if (n == name) return md;
  std::string key(name);
  EVP_MD* md = EVP_MD_fetch(nullptr, key.c_str(), nullptr);
  if (!md) {
    clear_openssl_errors();
    throw CryptoError("Invalid digest: " + key);
  }
  c.entries.emplace_back(std::move(key), md);
  return md;
}

}  // namespace brigade::crypto::detail
