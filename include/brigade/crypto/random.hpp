#pragma once
// CSPRNG (OpenSSL's RAND_bytes, seeded from the kernel): Node's randomBytes, randomFillSync,
// randomUUID and randomInt. Thread-safe; cheap enough to call on the loop.
#include <cstdint>
#include <span>
#include <string>

#include "brigade/crypto/bytes.hpp"

namespace brigade::crypto {

Bytes random_bytes(std::size_t size);
void random_fill(std::span<std::byte> out);
// An RFC 4122 version 4 UUID, lowercase: "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx".
std::string random_uuid();
// Uniform in [min, max), without modulo bias; throws std::invalid_argument unless min < max.
int64_t random_int(int64_t min, int64_t max);

}  // namespace brigade::crypto
