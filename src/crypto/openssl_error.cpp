#include "openssl_error.hpp"

#include <openssl/err.h>

#include <string>

#include "brigade/crypto/error.hpp"

namespace brigade::crypto::detail {

void throw_openssl(std::string_view op) {
  // The earliest error is the cause; the later ones are the layers that passed it up.
  unsigned long code = ERR_get_error();
  std::string message(op);
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    message += ": ";
    message += reason ? reason : "unknown OpenSSL error";
  }
  ERR_clear_error();
  throw CryptoError(message);
}

void clear_openssl_errors() noexcept { ERR_clear_error(); }

}  // namespace brigade::crypto::detail
