#pragma once
// tls::Context: the certificates, keys and policy of one side of TLS (OpenSSL 3's SSL_CTX),
// shared by every connection made with it. Node's tls.createSecureContext.
//
//   Server: certificate chain + key from PEM files, more certificates chosen by SNI, ALPN
//           ("http/1.1" by default), TLS 1.2+, session resumption with tickets.
//           Reloading certificates is making a new Context for the connections accepted from
//           then on: a connection keeps the context it was accepted with (reference-counted).
//   Client: verifies the peer against the system store (/etc/ssl/certs) or `ca_file`, and the
//           host name given to tls::Stream::connect; an optional client certificate; resumes
//           sessions per host and address (the context holds the tickets it was given).
// Renegotiation is refused on both sides. Errors throw TlsError with OpenSSL's reason.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct ssl_ctx_st;

namespace brigade::tls {

class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Another certificate on the same listener, chosen by the name the client asks for (SNI):
// an exact name, or "*.example.com" for one label under it.
struct SniCertificate {
  std::string server_name;
  std::string cert_file;
  std::string key_file;
};

struct ServerOptions {
  std::string cert_file;  // PEM: the certificate, then its chain (the default certificate)
  std::string key_file;   // PEM private key
  std::vector<std::string> alpn = {"http/1.1"};  // offered in preference order
  std::vector<SniCertificate> sni;
};

struct ClientOptions {
  bool verify = true;     // reject a peer whose certificate or name does not check
  std::string ca_file;    // PEM bundle to trust instead of the system store
  std::string cert_file;  // a client certificate (mutual TLS), with key_file
  std::string key_file;
  std::vector<std::string> alpn;  // e.g. {"http/1.1"}
  // Keep the sessions servers hand out (tickets) and resume them on the next connection to the
  // same host and address: an abbreviated handshake (tls::Stream::session_reused()).
  bool resume_sessions = true;
};

class Context {
 public:
  static Context server(const ServerOptions& options);
  static Context client(const ClientOptions& options = ClientOptions());

  bool is_server() const noexcept { return server_; }
  ssl_ctx_st* native() const noexcept { return ctx_.get(); }

 private:
  struct Free {
    void operator()(ssl_ctx_st* c) const;
  };
  Context(ssl_ctx_st* ctx, bool server) : ctx_(ctx, Free{}), server_(server) {}
  std::shared_ptr<ssl_ctx_st> ctx_;
  bool server_ = false;
};

}  // namespace brigade::tls
