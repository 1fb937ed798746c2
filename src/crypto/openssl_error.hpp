#pragma once
// OpenSSL's error queue as brigade's CryptoError. The queue is per thread: every failure path
// empties it, so a later call never reports an earlier call's reason.
#include <string_view>

namespace brigade::crypto::detail {

[[noreturn]] void throw_openssl(std::string_view op);
// Drops whatever OpenSSL queued (a failed verification leaves reasons that are not errors).
void clear_openssl_errors() noexcept;

}  // namespace brigade::crypto::detail
