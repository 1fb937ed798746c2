#pragma once
// A self-signed certificate for development and demos: an EC P-256 key and a certificate for
// `names` (host names and IP addresses, the first one also the subject's CN), valid `days`.
// Writes both as PEM; the key file is created with mode 0600. Clients trust it with
// `curl --cacert CERT` or tls::ClientOptions::ca_file. Throws TlsError on failure.
#include <string>
#include <vector>

namespace brigade::tls {

void write_self_signed(const std::string& cert_file, const std::string& key_file,
                       const std::vector<std::string>& names, int days = 365);

}  // namespace brigade::tls
