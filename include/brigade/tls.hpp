#pragma once
// brigade::tls: TLS on the loop over net::Stream (OpenSSL 3's libssl).
#include "brigade/tls/certificate.hpp"
#include "brigade/tls/context.hpp"
#include "brigade/tls/stream.hpp"
#include "brigade/tls/ticket_keys.hpp"
