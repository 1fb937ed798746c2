#pragma once
// OpenSSL's per-thread error queue as a TlsError message (emptied on every failure).
#include <string>
#include <string_view>

namespace brigade::tls::detail {

// "op: reason" with the first queued reason, or `fallback` if the queue is empty.
std::string ssl_reason(std::string_view op, std::string_view fallback = "unknown error");

}  // namespace brigade::tls::detail
