#pragma once
// Session ticket keys of server contexts. A new Context (a certificate reload) makes its own
// keys, so the tickets clients hold from before would fall back to full handshakes; copying the
// keys over keeps them resumable (http::Server::reload_tls does).
#include "brigade/tls/context.hpp"

namespace brigade::tls {

// Makes `to` encrypt and accept tickets with `from`'s keys. Both must be server contexts, else
// TlsError.
void copy_ticket_keys(const Context& from, const Context& to);

}  // namespace brigade::tls
