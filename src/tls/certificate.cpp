#include "brigade/tls/certificate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "brigade/tls/context.hpp"
#include "ssl_error.hpp"

namespace brigade::tls {

namespace {
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

bool is_ip(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext || X509_add_ext(cert, ext, -1) != 1) {
    X509_EXTENSION_free(ext);
    throw TlsError(detail::ssl_reason("self-signed certificate: extension " + value));
  }
  X509_EXTENSION_free(ext);
}

void write_pem(const std::string& path, mode_t mode, bool (*write)(FILE*, void*), void* what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw TlsError("self-signed certificate: cannot write '" + path + "'");
  FILE* f = fdopen(fd, "w");
  bool ok = f && write(f, what);
  if (f ? fclose(f) != 0 : ::close(fd) != 0) ok = false;
  if (!ok) throw TlsError(detail::ssl_reason("self-signed certificate: writing '" + path + "'"));
}
}  // namespace

void write_self_signed(const std::string& cert_file, const std::string& key_file,
                       const std::vector<std::string>& names, int days) {
  if (names.empty()) throw TlsError("self-signed certificate: no name");
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!key || !cert) throw TlsError(detail::ssl_reason("self-signed certificate"));
  X509* x = cert.get();
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  bool ok = bn && X509_set_version(x, 2) == 1 && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
            X509_gmtime_adj(X509_getm_notBefore(x), -60) &&  // a minute of clock skew
            X509_gmtime_adj(X509_getm_notAfter(x), long(days) * 86400) &&
            X509_set_pubkey(x, key.get()) == 1;
  BN_free(bn);
  X509_NAME* subject = X509_get_subject_name(x);
  ok = ok &&
       X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1,
                                  0) == 1 &&
       X509_set_issuer_name(x, subject) == 1;
  if (!ok) throw TlsError(detail::ssl_reason("self-signed certificate"));
  std::string san;
  for (const auto& n : names)
    san += (san.empty() ? "" : ",") + std::string(is_ip(n) ? "IP:" : "DNS:") + n;
  add_extension(x, NID_subject_alt_name, san);
  // Its own CA as well, as `openssl req -x509` makes it: clients take it as a trust anchor.
  add_extension(x, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(x, NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(x, NID_subject_key_identifier, "hash");
  if (X509_sign(x, key.get(), EVP_sha256()) <= 0)
    throw TlsError(detail::ssl_reason("self-signed certificate: signing"));

  write_pem(
      key_file, 0600,
      [](FILE* f, void* k) {
        return PEM_write_PrivateKey(f, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr,
                                    nullptr) == 1;
      },
      key.get());
  write_pem(
      cert_file, 0644,
      [](FILE* f, void* c) { return PEM_write_X509(f, static_cast<X509*>(c)) == 1; }, x);
}

}  // namespace brigade::tls
