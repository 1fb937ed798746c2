#include "brigade/tls/context.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <string_view>

#include "ssl_error.hpp"

namespace brigade::tls {

namespace {
// ALPN's wire form: each protocol prefixed by its length.
std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) throw TlsError("tls: bad ALPN protocol name '" + p + "'");
    wire += char(p.size());
    wire += p;
  }
  return wire;
}

// The server picks the first of its protocols the client offers (its preference order).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  auto* ours = static_cast<std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(ours->data()),
                            unsigned(ours->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

SSL_CTX* new_ctx(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) throw TlsError(detail::ssl_reason("tls context"));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Write buffers may move between SSL_write calls (the data lives in memory BIOs).
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
  return ctx;
}

void load_pair(SSL_CTX* ctx, const std::string& cert, const std::string& key, const char* who) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    throw TlsError(detail::ssl_reason(std::string(who) + ": certificate '" + cert + "'"));
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw TlsError(detail::ssl_reason(std::string(who) + ": key '" + key + "'"));
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw TlsError(detail::ssl_reason(std::string(who) + ": key does not match the certificate"));
}
}  // namespace

namespace {
// What a server context owns besides OpenSSL's own: the ALPN list and the SNI contexts.
struct ServerState {
  std::string alpn;
  std::vector<std::pair<std::string, SSL_CTX*>> sni;
  ~ServerState() {
    for (auto& [name, ctx] : sni) SSL_CTX_free(ctx);
  }
};

bool name_matches(const std::string& pattern, std::string_view name) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; };
  auto equal = [&](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
  };
  if (pattern.starts_with("*.")) {
    std::size_t dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 &&
           equal(std::string_view(pattern).substr(1), name.substr(dot));
  }
  return equal(pattern, name);
}

// The client named a host: switch to its certificate if we have one (else the default).
int select_certificate(SSL* ssl, int*, void* arg) {
  auto* state = static_cast<ServerState*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;
  for (auto& [pattern, ctx] : state->sni)
    if (name_matches(pattern, name)) {
      SSL_set_SSL_CTX(ssl, ctx);
      break;
    }
  return SSL_TLSEXT_ERR_OK;
}
}  // namespace

void Context::Free::operator()(ssl_ctx_st* c) const {
  delete static_cast<ServerState*>(SSL_CTX_get_app_data(c));
  SSL_CTX_free(c);
}

Context Context::server(const ServerOptions& o) {
  SSL_CTX* ctx = new_ctx(TLS_server_method());
  Context c(ctx, true);  // owns ctx from here: a throw below frees it
  auto* state = new ServerState();
  SSL_CTX_set_app_data(ctx, state);  // freed with the context
  load_pair(ctx, o.cert_file, o.key_file, "tls server");
  state->alpn = alpn_wire(o.alpn);
  for (const auto& s : o.sni) {
    SSL_CTX* child = new_ctx(TLS_server_method());
    state->sni.emplace_back(s.server_name, child);
    load_pair(child, s.cert_file, s.key_file, "tls server (SNI)");
  }
  // ALPN is negotiated on the context the connection ends up with: every one answers it.
  if (!o.alpn.empty()) {
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &state->alpn);
    for (auto& [name, child] : state->sni)
      SSL_CTX_set_alpn_select_cb(child, select_alpn, &state->alpn);
  }
  if (!state->sni.empty()) {
    SSL_CTX_set_tlsext_servername_callback(ctx, select_certificate);
    SSL_CTX_set_tlsext_servername_arg(ctx, state);
  }
  return c;
}

Context Context::client(const ClientOptions& o) {
  SSL_CTX* ctx = new_ctx(TLS_client_method());
  Context c(ctx, false);
  if (o.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int ok = o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                               : SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr);
    if (ok != 1)
      throw TlsError(detail::ssl_reason("tls client: CA '" +
                                        (o.ca_file.empty() ? "system store" : o.ca_file) + "'"));
  }
  if (!o.cert_file.empty()) load_pair(ctx, o.cert_file, o.key_file, "tls client");
  if (!o.alpn.empty()) {
    std::string wire = alpn_wire(o.alpn);
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                unsigned(wire.size())) != 0)
      throw TlsError(detail::ssl_reason("tls client: ALPN"));
  }
  return c;
}

}  // namespace brigade::tls
