// SHA-1 and the SHA-2 family use OpenSSL's low-level contexts (deprecated in 3.0 but kept): a
// context is a plain struct, so restoring a precomputed pad state is a copy, not an allocation.
// Other digests (SHA-3, SHA-512/256) go through EVP contexts with the same precomputation.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "pbkdf2_hmac.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <memory>

#include "openssl_error.hpp"

namespace brigade::crypto::detail {

namespace {

constexpr std::size_t kMaxBlock = 200;  // SHA3-224's rate is the largest block OpenSSL has
constexpr std::size_t kMaxDigest = EVP_MAX_MD_SIZE;

// A digest with plain-struct contexts.
template <typename Ctx, int (*Init)(Ctx*), int (*Update)(Ctx*, const void*, size_t),
          int (*Final)(unsigned char*, Ctx*)>
struct PlainDigest {
  Ctx inner, outer, work;
  void init_inner() { Init(&inner); }
  void init_outer() { Init(&outer); }
  void inner_update(const void* p, std::size_t n) { Update(&inner, p, n); }
  void outer_update(const void* p, std::size_t n) { Update(&outer, p, n); }
  void start() { work = inner; }
  void update(const void* p, std::size_t n) { Update(&work, p, n); }
  // Finishes the inner hash and runs the outer one over it: one HMAC value into `out`.
  void finish(unsigned char* out, std::size_t size) {
    unsigned char tmp[kMaxDigest];
    Final(tmp, &work);
    work = outer;
    Update(&work, tmp, size);
    Final(out, &work);
  }
};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

struct EvpDigest {
  const EVP_MD* md;
  MdCtxPtr inner{EVP_MD_CTX_new()}, outer{EVP_MD_CTX_new()}, work{EVP_MD_CTX_new()};
  explicit EvpDigest(const EVP_MD* m) : md(m) {
    if (!inner || !outer || !work) throw_openssl("pbkdf2");
  }
  void check(int ok) {
    if (ok != 1) throw_openssl("pbkdf2");
  }
  void init_inner() { check(EVP_DigestInit_ex(inner.get(), md, nullptr)); }
  void init_outer() { check(EVP_DigestInit_ex(outer.get(), md, nullptr)); }
  void inner_update(const void* p, std::size_t n) { check(EVP_DigestUpdate(inner.get(), p, n)); }
  void outer_update(const void* p, std::size_t n) { check(EVP_DigestUpdate(outer.get(), p, n)); }
  void start() { check(EVP_MD_CTX_copy_ex(work.get(), inner.get())); }
  void update(const void* p, std::size_t n) { check(EVP_DigestUpdate(work.get(), p, n)); }
  void finish(unsigned char* out, std::size_t /*size*/) {
    unsigned char tmp[kMaxDigest];
    unsigned int n = 0;
    check(EVP_DigestFinal_ex(work.get(), tmp, &n));
    check(EVP_MD_CTX_copy_ex(work.get(), outer.get()));
    check(EVP_DigestUpdate(work.get(), tmp, n));
    check(EVP_DigestFinal_ex(work.get(), out, &n));
  }
};

template <typename D>
void derive(D& d, const EVP_MD* md, BytesView password, BytesView salt, uint32_t iterations,
            unsigned char* out, std::size_t keylen) {
  const std::size_t block = std::size_t(EVP_MD_get_block_size(md));
  const std::size_t size = std::size_t(EVP_MD_get_size(md));
  assert(block <= kMaxBlock && size <= kMaxDigest && size > 0);
  // HMAC's key: hashed first when longer than a block, then zero-padded to the block.
  unsigned char key[kMaxBlock] = {};
  if (password.size() > block) {
    if (EVP_Digest(password.data(), password.size(), key, nullptr, md, nullptr) != 1)
      throw_openssl("pbkdf2");
  } else if (!password.empty()) {
    std::memcpy(key, password.data(), password.size());
  }
  unsigned char ipad[kMaxBlock], opad[kMaxBlock];
  for (std::size_t i = 0; i < block; ++i) {
    ipad[i] = key[i] ^ 0x36;
    opad[i] = key[i] ^ 0x5c;
  }
  d.init_inner();
  d.inner_update(ipad, block);
  d.init_outer();
  d.outer_update(opad, block);

  // T_i = U_1 ^ ... ^ U_c, U_1 = HMAC(P, S || INT(i)), U_j = HMAC(P, U_{j-1}).
  unsigned char u[kMaxDigest], t[kMaxDigest];
  for (uint32_t index = 1; keylen > 0; ++index) {
    const unsigned char be[4] = {uint8_t(index >> 24), uint8_t(index >> 16), uint8_t(index >> 8),
                                 uint8_t(index)};
    d.start();
    if (!salt.empty()) d.update(salt.data(), salt.size());
    d.update(be, 4);
    d.finish(u, size);
    std::memcpy(t, u, size);
    for (uint32_t r = 1; r < iterations; ++r) {
      d.start();
      d.update(u, size);
      d.finish(u, size);
      for (std::size_t j = 0; j < size; ++j) t[j] ^= u[j];
    }
    std::size_t n = std::min(keylen, size);
    std::memcpy(out, t, n);
    out += n;
    keylen -= n;
  }
}

using Sha1 = PlainDigest<SHA_CTX, SHA1_Init, SHA1_Update, SHA1_Final>;
using Sha224 = PlainDigest<SHA256_CTX, SHA224_Init, SHA224_Update, SHA224_Final>;
using Sha256 = PlainDigest<SHA256_CTX, SHA256_Init, SHA256_Update, SHA256_Final>;
using Sha384 = PlainDigest<SHA512_CTX, SHA384_Init, SHA384_Update, SHA384_Final>;
using Sha512 = PlainDigest<SHA512_CTX, SHA512_Init, SHA512_Update, SHA512_Final>;

template <typename D>
void derive_plain(const EVP_MD* md, BytesView password, BytesView salt, uint32_t iterations,
                  unsigned char* out, std::size_t keylen) {
  D d;
  derive(d, md, password, salt, iterations, out, keylen);
  OPENSSL_cleanse(&d, sizeof d);  // the pad states are as good as the password
}

}  // namespace

void pbkdf2_hmac(const EVP_MD* md, BytesView password, BytesView salt, uint32_t iterations,
                 unsigned char* out, std::size_t keylen) {
  switch (EVP_MD_get_type(md)) {
    case NID_sha1:
      return derive_plain<Sha1>(md, password, salt, iterations, out, keylen);
    case NID_sha224:
      return derive_plain<Sha224>(md, password, salt, iterations, out, keylen);
    case NID_sha256:
      return derive_plain<Sha256>(md, password, salt, iterations, out, keylen);
    case NID_sha384:
      return derive_plain<Sha384>(md, password, salt, iterations, out, keylen);
    case NID_sha512:
      return derive_plain<Sha512>(md, password, salt, iterations, out, keylen);
    default: {
      EvpDigest d(md);
      derive(d, md, password, salt, iterations, out, keylen);
    }
  }
}

}  // namespace brigade::crypto::detail
