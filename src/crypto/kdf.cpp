#include "brigade/crypto/kdf.hpp"

#include <openssl/evp.h>

#include <climits>
#include <stdexcept>
#include <string>

#include "digests.hpp"
#include "openssl_error.hpp"
#include "pbkdf2_hmac.hpp"

namespace brigade::crypto {

namespace {
// Empty inputs still point somewhere: OpenSSL's KDFs treat a null salt as a missing parameter.
const unsigned char kEmpty = 0;
const unsigned char* nonnull(BytesView b) { return b.empty() ? &kEmpty : b.udata(); }

void check_int(std::size_t n, const char* what) {
  if (n > std::size_t(INT_MAX)) throw std::invalid_argument(std::string(what) + " is too large");
}

Task<Bytes> pbkdf2_owned(std::string password, std::string salt, uint32_t iterations,
                         std::size_t keylen, std::string digest, ThreadPool& pool) {
  auto job = pool.run([&] { return pbkdf2_sync(password, salt, iterations, keylen, digest); });
  co_return co_await job;
}

Task<Bytes> scrypt_owned(std::string password, std::string salt, std::size_t keylen,
                         ScryptOptions options, ThreadPool& pool) {
  auto job = pool.run([&] { return scrypt_sync(password, salt, keylen, options); });
  co_return co_await job;
}
}  // namespace

Bytes pbkdf2_sync(BytesView password, BytesView salt, uint32_t iterations, std::size_t keylen,
                  std::string_view digest) {
  const EVP_MD* md = detail::find_digest(digest);
  if (iterations == 0 || iterations > uint32_t(INT_MAX))
    throw std::invalid_argument("pbkdf2: iterations must be in 1..2147483647");
  check_int(keylen, "pbkdf2: keylen");
  Bytes out(keylen);
  if (keylen == 0) return out;
  detail::pbkdf2_hmac(md, password, salt, iterations, reinterpret_cast<unsigned char*>(out.data()),
                      keylen);
  return out;
}

Task<Bytes> pbkdf2(BytesView password, BytesView salt, uint32_t iterations, std::size_t keylen,
                   std::string_view digest, ThreadPool& pool) {
  // Copies now: the views may not outlive the caller's full expression, the task does.
  return pbkdf2_owned(to_string(password), to_string(salt), iterations, keylen, std::string(digest),
                      pool);
}

Bytes scrypt_sync(BytesView password, BytesView salt, std::size_t keylen, ScryptOptions options) {
  uint64_t n = options.cost;
  if (n < 2 || (n & (n - 1)) != 0)
    throw std::invalid_argument("scrypt: cost (N) must be a power of two above 1");
  if (options.block_size == 0 || options.parallelization == 0)
    throw std::invalid_argument("scrypt: block_size and parallelization must be positive");
  Bytes out(keylen);
  if (keylen == 0) return out;
  if (EVP_PBE_scrypt(reinterpret_cast<const char*>(nonnull(password)), password.size(),
                     nonnull(salt), salt.size(), n, options.block_size, options.parallelization,
                     options.maxmem, reinterpret_cast<unsigned char*>(out.data()), keylen) != 1)
    detail::throw_openssl("scrypt: invalid parameters (memory above maxmem?)");
  return out;
}

Task<Bytes> scrypt(BytesView password, BytesView salt, std::size_t keylen, ScryptOptions options,
                   ThreadPool& pool) {
  return scrypt_owned(to_string(password), to_string(salt), keylen, options, pool);
}

}  // namespace brigade::crypto
