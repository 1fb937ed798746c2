#pragma once
// Password hashing: pbkdf2 and scrypt. The awaitable forms run on a ThreadPool (the shared one
// by default) and resume on the awaiting loop, as Node's crypto.pbkdf2/scrypt run on libuv's
// pool; the *_sync forms block the calling thread. Inputs are copied before the call returns.
// Bad parameters throw CryptoError (or std::invalid_argument for sizes out of range).
#include <cstdint>
#include <string_view>

#include "brigade/crypto/bytes.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/task.hpp"

namespace brigade::crypto {

// Node's defaults (crypto.scrypt): N = 16384, r = 8, p = 1, maxmem = 32 MiB.
struct ScryptOptions {
  uint64_t cost = 16384;          // N, a power of two above 1
  uint64_t block_size = 8;        // r
  uint64_t parallelization = 1;   // p
  uint64_t maxmem = 32ull << 20;  // fails rather than use more (128 * N * r bytes and more)
};

Bytes pbkdf2_sync(BytesView password, BytesView salt, uint32_t iterations, std::size_t keylen,
                  std::string_view digest);
Task<Bytes> pbkdf2(BytesView password, BytesView salt, uint32_t iterations, std::size_t keylen,
                   std::string_view digest, ThreadPool& pool = ThreadPool::shared());

Bytes scrypt_sync(BytesView password, BytesView salt, std::size_t keylen,
                  ScryptOptions options = ScryptOptions());
Task<Bytes> scrypt(BytesView password, BytesView salt, std::size_t keylen,
                   ScryptOptions options = ScryptOptions(),
                   ThreadPool& pool = ThreadPool::shared());

}  // namespace brigade::crypto
