#include "brigade/tls/context.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string_view>

#include "brigade/tls/ticket_keys.hpp"
#include "session_cache.hpp"
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
  // RELEASE_BUFFERS: OpenSSL frees a connection's record buffers while it has nothing in them
  // (an idle connection would keep ~34 KiB otherwise; Node sets it too).
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_RELEASE_BUFFERS);
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
constexpr std::size_t kMaxCachedSessions = 1024;  // client side: one per host and address

// What a context owns besides OpenSSL's own: a server's ALPN list and SNI contexts, a client's
// sessions to resume (the context may be shared by loops on several threads: the lock).
struct ContextState {
  std::string alpn;
  std::vector<std::pair<std::string, SSL_CTX*>> sni;
  std::mutex lock;
  std::map<std::string, SSL_SESSION*> sessions;
  ~ContextState() {
    for (auto& [name, ctx] : sni) SSL_CTX_free(ctx);
    for (auto& [key, session] : sessions) SSL_SESSION_free(session);
  }
};

// The state lives as long as the SSL_CTX itself, not the Context handle: a connection may hold
// the SSL_CTX past its Context and still get a ticket. OpenSSL frees it through this ex_data slot.
void free_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ContextState*>(ptr);
}

int state_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_state);
  return index;
}

ContextState* state_of(const SSL_CTX* ctx) {
  return static_cast<ContextState*>(SSL_CTX_get_ex_data(ctx, state_index()));
}

void attach_state(SSL_CTX* ctx, ContextState* state) {
  if (SSL_CTX_set_ex_data(ctx, state_index(), state) != 1) {
    delete state;
    throw TlsError(detail::ssl_reason("tls: context state"));
  }
}

// The client got a session (a TLS 1.3 ticket comes after the handshake): keep the newest per
// key. Returning 1 keeps OpenSSL's reference.
int keep_session(SSL* ssl, SSL_SESSION* session) {
  auto* key = static_cast<const std::string*>(SSL_get_app_data(ssl));
  auto* state = state_of(SSL_get_SSL_CTX(ssl));
  if (!key || key->empty() || !state || !SSL_SESSION_is_resumable(session)) return 0;
  std::lock_guard guard(state->lock);
  auto [it, added] = state->sessions.try_emplace(*key, session);
  if (!added) {
    SSL_SESSION_free(it->second);
    it->second = session;
  } else if (state->sessions.size() > kMaxCachedSessions) {
    auto victim = state->sessions.begin() == it ? std::next(it) : state->sessions.begin();
    SSL_SESSION_free(victim->second);
    state->sessions.erase(victim);
  }
  return 1;
}

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
  auto* state = static_cast<ContextState*>(arg);
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

namespace detail {
bool resume_session(SSL* ssl, const std::string& key) {
  auto* state = state_of(SSL_get_SSL_CTX(ssl));
  if (!state) return false;
  std::lock_guard guard(state->lock);
  auto it = state->sessions.find(key);
  if (it == state->sessions.end()) return false;
  SSL_SESSION* session = it->second;
  bool ok = SSL_set_session(ssl, session) == 1;
  // A TLS 1.3 ticket is used once (RFC 8446 C.4): each connection brings fresh ones.
  if (SSL_SESSION_get_protocol_version(session) >= TLS1_3_VERSION || !ok) {
    SSL_SESSION_free(session);
    state->sessions.erase(it);
  }
  return ok;
}
}  // namespace detail

void Context::Free::operator()(ssl_ctx_st* c) const {
  SSL_CTX_free(c);  // the state goes with the last reference (free_state)
}

Context Context::server(const ServerOptions& o) {
  SSL_CTX* ctx = new_ctx(TLS_server_method());
  Context c(ctx, true);  // owns ctx from here: a throw below frees it
  auto* state = new ContextState();
  attach_state(ctx, state);  // freed with the SSL_CTX
  // Resumption: stateless tickets (OpenSSL's default, two per TLS 1.3 handshake) encrypted with
  // this context's keys (a new Context has new ones: copy_ticket_keys carries them over). The
  // id context lets TLS 1.2 session ids resume as well.
  static const unsigned char kSessionContext[] = "brigade";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
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
  attach_state(ctx, new ContextState());  // freed with the SSL_CTX
  if (o.resume_sessions) {
    // OpenSSL's client cache is not looked up by itself: tls::Stream::connect asks ours.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_session);
  }
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

void copy_ticket_keys(const Context& from, const Context& to) {
  if (!from.is_server() || !to.is_server()) throw TlsError("tls: ticket keys of a client context");
  unsigned char keys[80];  // OpenSSL's name, HMAC and AES keys, as one block
  bool ok = SSL_CTX_get_tlsext_ticket_keys(from.native(), keys, sizeof keys) == 1 &&
            SSL_CTX_set_tlsext_ticket_keys(to.native(), keys, sizeof keys) == 1;
  OPENSSL_cleanse(keys, sizeof keys);
  if (!ok) throw TlsError(detail::ssl_reason("tls: ticket keys"));
}

}  // namespace brigade::tls
