#pragma once
// Digest lookup by Node's names ("sha256", "SHA512", "sha512-256"), fetched from OpenSSL's
// default provider once per name and kept for the process (fetching costs a locked lookup).
#include <openssl/evp.h>

#include <string_view>

namespace brigade::crypto::detail {

// Throws CryptoError("Invalid digest: NAME") for a name OpenSSL does not know.
const EVP_MD* find_digest(std::string_view name);

}  // namespace brigade::crypto::detail
