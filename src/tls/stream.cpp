#include "brigade/tls/stream.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>

#include "brigade/error.hpp"
#include "brigade/task/combinators.hpp"
#include "session_cache.hpp"
#include "ssl_error.hpp"

namespace brigade::tls {

namespace {
constexpr std::size_t kReadSize = 16 * 1024;    // one TLS record
constexpr std::size_t kWriteSlice = 16 * 1024;  // plaintext per SSL_write
constexpr std::size_t kFlushAbove = 64 * 1024;  // ciphertext held before it goes to the socket

// Socket reads land here and go into the connection's input BIO before anything else runs (a
// read resumes its reader inline): one buffer per thread serves every connection, so an idle
// one holds none.
std::span<char> read_scratch() {
  static thread_local std::unique_ptr<char[]> buf;
  if (!buf) buf.reset(new char[kReadSize]);
  return {buf.get(), kReadSize};
}
}  // namespace

// The SSL object with its two memory BIOs: `in` holds ciphertext read from the socket, `out`
// ciphertext OpenSSL produced for it.
struct Stream::Core {
  net::Stream tcp;
  SSL* ssl = nullptr;
  BIO* in = nullptr;        // owned by ssl
  BIO* out = nullptr;       // owned by ssl
  std::string session_key;  // client: the host and address its sessions are kept under
  bool shut = false;
  bool failed = false;  // a TLS error after the handshake

  explicit Core(net::Stream s) : tcp(std::move(s)) {}
  ~Core() {
    // OpenSSL voids the session of a connection freed without close_notify; one that ended
    // well but abruptly (the peer just closed, we were dropped) keeps its tickets resumable.
    if (ssl && !failed && SSL_is_init_finished(ssl))
      SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
  }
};

namespace {

// Sends everything OpenSSL has produced. Each chunk is taken out of the BIO before the write
// suspends, so a read and a write may both flush (the stream keeps writes in order).
Task<void> flush(Stream::Core& c, net::Stream& socket) {
  while (std::size_t pending = BIO_ctrl_pending(c.out)) {
    std::string chunk(pending, '\0');
    int n = BIO_read(c.out, chunk.data(), int(std::min<std::size_t>(pending, INT_MAX)));
    if (n <= 0) break;
    chunk.resize(std::size_t(n));
    co_await socket.write(chunk);
  }
}

// One socket read into OpenSSL's input; false at end of stream.
Task<bool> fill(Stream::Core& c, std::stop_token token) {
  std::span<char> buf = read_scratch();
  std::size_t n = co_await c.tcp.read(buf, std::move(token));
  if (n == 0) co_return false;
  BIO_write(c.in, buf.data(), int(n));
  co_return true;
}

// Why a handshake failed: the certificate check's reason when that was it ("certificate has
// expired", "hostname mismatch"), else OpenSSL's ("wrong version number", "http request").
std::string handshake_reason(Stream::Core& c) {
  long verify = SSL_get_verify_result(c.ssl);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    return std::string("tls handshake: ") + X509_verify_cert_error_string(verify);
  }
  return detail::ssl_reason("tls handshake");
}

Task<void> handshake(Stream::Core& c, std::stop_token token) {
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(c.ssl);
    int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c.ssl, r);
    std::string failure;
    if (err != SSL_ERROR_NONE && err != SSL_ERROR_WANT_READ) failure = handshake_reason(c);
    co_await flush(c, c.tcp);  // our next flight, or the alert that tells the peer why we stop
    if (r == 1) co_return;
    if (!failure.empty()) throw TlsError(failure);
    if (!co_await fill(c, token)) throw TlsError("tls handshake: the peer closed the connection");
  }
}

std::unique_ptr<Stream::Core> make_core(net::Stream tcp, const Context& ctx) {
  auto c = std::make_unique<Stream::Core>(std::move(tcp));
  c->ssl = SSL_new(ctx.native());
  c->in = BIO_new(BIO_s_mem());
  c->out = BIO_new(BIO_s_mem());
  if (!c->ssl || !c->in || !c->out) {
    BIO_free(c->in);
    BIO_free(c->out);
    throw TlsError(detail::ssl_reason("tls: out of memory"));
  }
  SSL_set_bio(c->ssl, c->in, c->out);
  return c;
}

Task<void> handshake_within(Stream::Core& c, uint64_t timeout_ms) {
  try {
    auto run = with_timeout(timeout_ms, [&c](std::stop_token t) { return handshake(c, t); });
    co_await run;
  } catch (const TimeoutError&) {
    throw TimeoutError("tls handshake");
  }
}

}  // namespace

Stream::Stream() noexcept = default;
Stream::Stream(std::unique_ptr<Core> core) noexcept : core_(std::move(core)) {}
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;
Stream::~Stream() = default;

Task<Stream> Stream::accept(net::Stream tcp, Context ctx, uint64_t handshake_timeout_ms) {
  if (!ctx.is_server()) throw TlsError("tls accept: a client context");
  std::unique_ptr<Core> c = make_core(std::move(tcp), ctx);
  SSL_set_accept_state(c->ssl);
  co_await handshake_within(*c, handshake_timeout_ms);  // a failure frees c: the socket closes
  co_return Stream(std::move(c));
}

Task<Stream> Stream::connect(net::Stream tcp, Context ctx, std::string host,
                             uint64_t handshake_timeout_ms) {
  if (ctx.is_server()) throw TlsError("tls connect: a server context");
  std::unique_ptr<Core> c = make_core(std::move(tcp), ctx);
  SSL_set_connect_state(c->ssl);
  unsigned char addr[16];
  bool is_ip =
      inet_pton(AF_INET, host.c_str(), addr) == 1 || inet_pton(AF_INET6, host.c_str(), addr) == 1;
  if (!host.empty()) {
    // SNI carries names only; the certificate check takes the name or the address.
    if (!is_ip && SSL_set_tlsext_host_name(c->ssl, host.c_str()) != 1)
      throw TlsError(detail::ssl_reason("tls connect: server name '" + host + "'"));
    X509_VERIFY_PARAM* param = SSL_get0_param(c->ssl);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                   : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (ok != 1) throw TlsError(detail::ssl_reason("tls connect: host '" + host + "'"));
  }
  c->session_key = host + " " + c->tcp.remote_endpoint().to_string();
  SSL_set_app_data(c->ssl, &c->session_key);  // where tickets for this connection are kept
  detail::resume_session(c->ssl, c->session_key);
  co_await handshake_within(*c, handshake_timeout_ms);
  co_return Stream(std::move(c));
}

Task<std::size_t> Stream::read(std::span<char> buf) {
  if (!core_) throw Error(EBADF, "tls read");
  Core& c = *core_;
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(c.ssl, buf.data(), int(std::min<std::size_t>(buf.size(), INT_MAX)));
    if (n > 0) {
      if (BIO_ctrl_pending(c.out)) co_await flush(c, c.tcp);  // e.g. a TLS 1.3 key update answer
      co_return std::size_t(n);
    }
    int err = SSL_get_error(c.ssl, n);
    if (err == SSL_ERROR_ZERO_RETURN) co_return 0;  // close_notify
    if (err != SSL_ERROR_WANT_READ) {
      c.failed = true;
      throw TlsError(detail::ssl_reason("tls read"));
    }
    if (BIO_ctrl_pending(c.out)) co_await flush(c, c.tcp);
    if (!co_await fill(c, {})) co_return 0;  // EOF without close_notify: the end, as Node sees it
  }
}

namespace {
Task<void> write_plain(Stream::Core& c, net::Stream& socket, std::string_view bytes) {
  while (!bytes.empty()) {
    std::size_t slice = std::min(bytes.size(), kWriteSlice);
    ERR_clear_error();
    int n = SSL_write(c.ssl, bytes.data(), int(slice));
    if (n <= 0) {
      // With memory BIOs a write never waits for the network; anything else is an error
      // (renegotiation, which would need a read here, is refused by the context).
      c.failed = true;
      throw TlsError(detail::ssl_reason("tls write"));
    }
    bytes.remove_prefix(std::size_t(n));
    if (BIO_ctrl_pending(c.out) >= kFlushAbove) co_await flush(c, socket);
  }
  co_await flush(c, socket);
}
}  // namespace

Task<void> Stream::write(std::string_view bytes) {
  if (!core_) throw Error(EBADF, "tls write");
  co_await write_plain(*core_, core_->tcp, bytes);
}

Task<void> Stream::shutdown() {
  if (!core_ || core_->shut) co_return;
  Core& c = *core_;
  c.shut = true;
  ERR_clear_error();
  SSL_shutdown(c.ssl);  // queues close_notify; we do not wait for the peer's
  ERR_clear_error();
  co_await flush(c, c.tcp);
  co_await c.tcp.shutdown();
}

namespace {
// Hands everything OpenSSL produced to the socket's write queue, without a copy of our own.
int flush_nowait(Stream::Core& c, net::Stream& socket) noexcept {
  char* data = nullptr;
  long pending = BIO_get_mem_data(c.out, &data);
  if (pending <= 0) return 0;
  int err = socket.write_nowait(std::span<const char>(data, std::size_t(pending)));
  (void)BIO_reset(c.out);
  return err;
}

// SSL_read or SSL_peek until plaintext, the end or -EAGAIN, feeding the socket's bytes in.
long try_plain(Stream::Core& c, net::Stream& socket, std::span<char> buf, bool peek) noexcept {
  for (;;) {
    ERR_clear_error();
    int cap = int(std::min<std::size_t>(buf.size(), INT_MAX));
    int n = peek ? SSL_peek(c.ssl, buf.data(), cap) : SSL_read(c.ssl, buf.data(), cap);
    if (BIO_ctrl_pending(c.out)) flush_nowait(c, socket);  // a key update answer, tickets
    if (n > 0) return n;
    int err = SSL_get_error(c.ssl, n);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    if (err != SSL_ERROR_WANT_READ) {
      c.failed = true;
      ERR_clear_error();
      return -EPROTO;
    }
    std::span<char> scratch = read_scratch();
    long got = socket.try_read(scratch);
    if (got <= 0) return got;  // -EAGAIN, EOF without close_notify (the end), -errno
    BIO_write(c.in, scratch.data(), int(got));
  }
}

bool has_plain(Stream::Core& c, net::Stream& socket) noexcept {
  if (SSL_pending(c.ssl) > 0) return true;
  char one;
  return try_plain(c, socket, std::span<char>(&one, 1), true) > 0;
}

int write_plain_nowait(Stream::Core& c, net::Stream& socket, std::span<const char> bytes) noexcept {
  while (!bytes.empty()) {
    ERR_clear_error();
    int n = SSL_write(c.ssl, bytes.data(), int(std::min(bytes.size(), kWriteSlice)));
    if (n <= 0) {
      c.failed = true;
      ERR_clear_error();
      return EPROTO;
    }
    bytes = bytes.subspan(std::size_t(n));
    if (BIO_ctrl_pending(c.out) >= kFlushAbove)
      if (int err = flush_nowait(c, socket)) return err;
  }
  return flush_nowait(c, socket);
}

void end_plain(Stream::Core& c, net::Stream& socket) noexcept {
  if (c.shut) return;
  c.shut = true;
  ERR_clear_error();
  SSL_shutdown(c.ssl);
  ERR_clear_error();
  flush_nowait(c, socket);
  socket.end();
}
}  // namespace

long Stream::try_read(std::span<char> buf) noexcept {
  return core_ ? try_plain(*core_, core_->tcp, buf, false) : -EBADF;
}

bool Stream::has_input() noexcept { return core_ && has_plain(*core_, core_->tcp); }

int Stream::write_nowait(std::span<const char> bytes) noexcept {
  return core_ ? write_plain_nowait(*core_, core_->tcp, bytes) : EBADF;
}

void Stream::end() noexcept {
  if (core_) end_plain(*core_, core_->tcp);
}

void Stream::set_read_hook(net::Stream::Hook hook, void* ctx) noexcept {
  if (core_) core_->tcp.set_read_hook(hook, ctx);
}
void Stream::set_drain_hook(net::Stream::Hook hook, void* ctx) noexcept {
  if (core_) core_->tcp.set_drain_hook(hook, ctx);
}
std::size_t Stream::write_queue_size() const noexcept {
  return core_ ? core_->tcp.write_queue_size() : 0;
}
std::size_t Stream::high_water_mark() const noexcept {
  return core_ ? core_->tcp.high_water_mark() : 0;
}

void Stream::close() noexcept {
  if (core_) core_->tcp.close();
}

namespace {
std::string_view alpn_of(SSL* ssl) noexcept {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl, &p, &n);
  return {reinterpret_cast<const char*>(p), n};
}
}  // namespace

std::string_view Stream::alpn() const noexcept { return core_ ? alpn_of(core_->ssl) : ""; }

std::string_view Stream::version() const noexcept {
  return core_ ? SSL_get_version(core_->ssl) : std::string_view();
}

bool Stream::session_reused() const noexcept { return core_ && SSL_session_reused(core_->ssl); }

net::Stream& Stream::socket() noexcept { return core_->tcp; }

Stream::Parts Stream::split() && {
  if (!core_) throw Error(EBADF, "tls split");
  net::Stream socket = std::move(core_->tcp);
  return Parts{std::move(socket), Session(std::move(core_))};
}

Stream Stream::join(net::Stream socket, Session session) {
  if (!session.core_) throw Error(EBADF, "tls join");
  std::unique_ptr<Core> core = std::move(session.core_);
  core->tcp = std::move(socket);
  return Stream(std::move(core));
}

Session::Session() noexcept = default;
Session::Session(std::unique_ptr<Stream::Core> core) noexcept : core_(std::move(core)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

long Session::try_read(net::Stream& socket, std::span<char> buf) noexcept {
  return core_ ? try_plain(*core_, socket, buf, false) : -EBADF;
}
long Session::try_peek(net::Stream& socket, std::span<char> buf) noexcept {
  return core_ ? try_plain(*core_, socket, buf, true) : -EBADF;
}
int Session::write_nowait(net::Stream& socket, std::span<const char> bytes) noexcept {
  return core_ ? write_plain_nowait(*core_, socket, bytes) : EBADF;
}
Task<void> Session::write(net::Stream& socket, std::span<const char> bytes) {
  if (!core_) throw Error(EBADF, "tls write");
  co_await write_plain(*core_, socket, std::string_view(bytes.data(), bytes.size()));
}
void Session::end(net::Stream& socket) noexcept {
  if (core_) end_plain(*core_, socket);
}
std::string_view Session::alpn() const noexcept { return core_ ? alpn_of(core_->ssl) : ""; }
std::string_view Session::version() const noexcept {
  return core_ ? SSL_get_version(core_->ssl) : std::string_view();
}

}  // namespace brigade::tls
