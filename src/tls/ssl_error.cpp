#include "ssl_error.hpp"

#include <openssl/err.h>

namespace brigade::tls::detail {

std::string ssl_reason(std::string_view op, std::string_view fallback) {
  unsigned long code = ERR_get_error();  // the first: the cause; later ones wrap it
  std::string message(op);
  message += ": ";
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  message += reason ? std::string_view(reason) : fallback;
  ERR_clear_error();
  return message;
}

}  // namespace brigade::tls::detail
