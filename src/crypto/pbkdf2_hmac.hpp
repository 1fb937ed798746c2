#pragma once
// PBKDF2-HMAC (RFC 8018) with the HMAC pads hashed once per derivation instead of once per
// iteration (OpenSSL 3's PKCS5_PBKDF2_HMAC re-enters the provider machinery every round).
#include <openssl/evp.h>

#include <cstdint>

#include "brigade/crypto/bytes.hpp"

namespace brigade::crypto::detail {

void pbkdf2_hmac(const EVP_MD* md, BytesView password, BytesView salt, uint32_t iterations,
                 unsigned char* out, std::size_t keylen);

}  // namespace brigade::crypto::detail
