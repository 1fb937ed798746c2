// README: crypto, fetch and TLS (compiled; the suites in tests/crypto, tests/http_client and
// tests/tls run the same calls against real peers).
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>

#include "brigade/crypto.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/client.hpp"
#include "brigade/http/fetch.hpp"
#include "brigade/loop.hpp"
#include "brigade/loop/signal.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/task.hpp"
#include "brigade/tls.hpp"

namespace {

using brigade::Task;
using brigade::http::Req;
namespace http = brigade::http;
namespace net = brigade::net;
namespace tls = brigade::tls;

[[maybe_unused]] Task<void> crypto_block(Req& req, std::string secret, std::string body,
                                         std::string password, std::string salt, std::string data,
                                         brigade::crypto::PrivateKey private_key) {
  // clang-format off
// readme:begin crypto
namespace crypto = brigade::crypto;
std::string sig = crypto::to_hex(crypto::hmac("sha256", secret, body));
bool ok = crypto::timing_safe_equal(sig, req.header("x-signature"));  // sizes must match
crypto::Bytes key = co_await crypto::pbkdf2(password, salt, 600000, 32, "sha256");  // on the pool
crypto::SignOptions jose;
jose.dsa_encoding = crypto::DsaEncoding::kIeeeP1363;
crypto::Bytes jws = crypto::sign("sha256", data, private_key, jose);
std::string id = crypto::random_uuid();
// readme:end
  // clang-format on
  (void)ok;
  (void)key;
  (void)jws;
  (void)id;
}

void consume(const std::string&) {}

[[maybe_unused]] Task<void> fetch_block(brigade::Loop& loop) {
  // clang-format off
// readme:begin fetch
http::FetchOptions o;   // method, headers, body, redirect, max_redirects, timeout_ms, signal
o.timeout_ms = 2000;    // a std::stop_token in o.signal is the AbortSignal
http::Response res = co_await http::fetch("http://127.0.0.1:8080/users/1", o);
if (!res.ok()) throw std::runtime_error("HTTP " + std::to_string(res.status()));
nlohmann::json user = co_await res.json();
for (;;) {                                   // streamed: the transfer pauses while we lag
  std::string chunk = co_await res.read_chunk();
  if (chunk.empty()) break;
  consume(chunk);
}
http::ClientOptions co;                      // undici's Agent
co.max_connections_per_origin = 8;
co.keep_alive_timeout_ms = 4000;
http::Client api(loop, co);                  // api.fetch(url, o); http::fetch uses one per loop
// readme:end
  // clang-format on
}

[[maybe_unused]] Task<void> tls_block(net::Listener& listener, net::Stream tcp2) {
  char buf[4096];
  // clang-format off
// readme:begin tls
tls::ServerOptions so;  // cert_file, key_file, alpn (default {"http/1.1"})
so.cert_file = "cert.pem";
so.key_file = "key.pem";
tls::Context server_ctx = tls::Context::server(so);
net::Stream tcp = co_await listener.accept();
tls::Stream s = co_await tls::Stream::accept(std::move(tcp), server_ctx);  // 10 s handshake limit
std::size_t n = co_await s.read(buf);                                      // then as a net::Stream

tls::ClientOptions co;  // verifies against /etc/ssl/certs unless ca_file is set
co.ca_file = "ca.pem";
tls::Context client_ctx = tls::Context::client(co);
tls::Stream c = co_await tls::Stream::connect(std::move(tcp2), client_ctx, "localhost");
// readme:end
  // clang-format on
  (void)n;
}

[[maybe_unused]] void https_block(brigade::Loop& loop, http::App& app) {
  using brigade::SignalWatcher;
  // clang-format off
// readme:begin https
http::ServerOptions so;            // an App served over TLS (Server and the cluster's serve too)
so.tls.emplace();                  // tls::ServerOptions: cert_file, key_file, sni, alpn
so.tls->cert_file = "cert.pem";
so.tls->key_file = "key.pem";
http::Server server = app.listen(loop, "0.0.0.0", 8443, so);
SignalWatcher reload(loop, SIGHUP, [&server](int) { server.reload_tls(); });  // new connections
// readme:end
  // clang-format on
}

}  // namespace
