#pragma once
// HTTP status codes: reason phrases and which answers carry no body.
#include <string_view>

namespace brigade::http {

// The reason phrase of `status` ("OK", "Not Found"); "Unknown" for codes without one.
std::string_view reason_phrase(int status) noexcept;

// 1xx, 204 and 304 responses never have a body nor a Content-Length of their own (RFC 9110 6.4.1).
constexpr bool status_has_body(int status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

}  // namespace brigade::http
