#pragma once
// The client context's session cache, used by tls::Stream::connect (context.cpp keeps it).
#include <string>

struct ssl_st;

namespace brigade::tls::detail {

// Sets the session kept for `key` (host and address) on `ssl`; false if there is none. The
// SSL's app data must point to `key` while it handshakes: new tickets are stored under it.
bool resume_session(ssl_st* ssl, const std::string& key);

}  // namespace brigade::tls::detail
