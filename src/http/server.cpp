// Server and ServerCore: the listener, the connection list, the exchange free list.
#include "brigade/http/server.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/tls/stream.hpp"
#include "brigade/tls/ticket_keys.hpp"
#include "connection.hpp"
#include "tls_filter.hpp"

namespace brigade::http {

namespace detail {

namespace {
constexpr std::size_t kMaxFreeExchanges = 64;  // beyond, finished exchanges are freed
constexpr std::size_t kFirstBuffer = 1024;     // an exchange's first read buffer (it grows)
constexpr std::size_t kTrimAfter = 256;        // connections gone since the peak before a trim

// The heap keeps what many closed connections freed (their pieces lie between live blocks, so
// free() alone returns nothing to the kernel): give the free pages back, once per fall.
void trim_heap(Loop& loop) {
#ifdef __GLIBC__
  loop.set_immediate([] { ::malloc_trim(0); });  // after the burst of closes, not inside it
#else
  (void)loop;
#endif
}
}  // namespace

ServerCore::ServerCore(Loop& l, Server::Handler h, ServerOptions o)
    : loop(&l), handler(std::move(h)), options(o) {
  limits.max_head_bytes = options.max_header_size;
  limits.max_headers = options.max_headers;
  limits.max_body_bytes = options.max_body_size;
  limits.max_request_line = options.max_request_line;  // the parser keeps it below the head's
  buffer_size = options.max_header_size + 16 * 1024;   // a whole head plus room for the body
  if (options.tls) tls = tls::Context::server(*options.tls);
}

ServerCore::~ServerCore() {
  *self = nullptr;  // handshakes in flight drop their sockets
  listener.close();
  // Every connection forgets the server first (its close reports nothing back); one a handler
  // still holds outlives the server and goes to the close queue when the handler ends.
  for (Connection* c = connections; c;) {
    Connection* next = c->next;
    c->detach_core();
    c->close_now();
    c = next;
  }
  while (Exchange* e = free_exchanges) {
    free_exchanges = e->next_free;
    delete e;
  }
}

Exchange* ServerCore::take_exchange() {
  if (Exchange* e = free_exchanges) {
    free_exchanges = e->next_free;
    --free_count;
    return e;
  }
  return new Exchange(limits, kFirstBuffer);
}

void ServerCore::give_exchange(Exchange* e) noexcept {
  if (free_count >= kMaxFreeExchanges) {
    delete e;
    return;
  }
  RequestAccess::release_memory(e->req);
  ResponseAccess::release_memory(e->res);
  if (e->out.capacity() > 64 * 1024) std::string().swap(e->out);
  e->next_free = free_exchanges;
  free_exchanges = e;
  ++free_count;
}

void ServerCore::add(Connection* c) noexcept {
  c->next = connections;
  if (connections) connections->prev = c;
  connections = c;
  ++stats.connections;
  ++stats.accepted;
  if (stats.connections > peak_connections) peak_connections = stats.connections;
}

void ServerCore::unlink(Connection* c) noexcept {
  if (c->prev)
    c->prev->next = c->next;
  else
    connections = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
}

void ServerCore::closed(Connection*) noexcept {
  --stats.connections;
  // Fallen to a quarter of the peak, and by enough to matter: the memory goes back.
  if (peak_connections - stats.connections >= kTrimAfter &&
      stats.connections * 4 <= peak_connections) {
    peak_connections = stats.connections;
    trim_heap(*loop);
  }
}

namespace {
// The handshake runs on its own; the connection is made only once it succeeded, and only if
// the server is still there and open. A failure (plain HTTP, garbage, a stall) closes the socket.
Task<void> handshake(std::shared_ptr<ServerCore*> self, net::Stream socket, tls::Context ctx,
                     uint64_t timeout_ms) {
  tls::Stream stream;
  try {
    stream = co_await tls::Stream::accept(std::move(socket), std::move(ctx), timeout_ms);
  } catch (const std::exception&) {
    if (ServerCore* core = *self) ++core->stats.tls_failures;
    co_return;
  }
  ServerCore* core = *self;
  if (!core || core->closing) co_return;
  tls::Stream::Parts parts = std::move(stream).split();
  auto* c = new Connection(core, Transport{std::move(parts.socket),
                                           std::make_unique<TlsFilter>(std::move(parts.session))});
  c->process();  // the request often comes right after the handshake
}
}  // namespace

void accept_connection(ServerCore* core, net::Stream socket) {
  if (core->closing) return;  // dropped: closing the stream refuses it
  if (core->tls) {
    spawn(handshake(core->self, std::move(socket), *core->tls,
                    core->options.tls_handshake_timeout_ms),
          "tls handshake");
    return;
  }
  auto* c = new Connection(core, Transport{std::move(socket), nullptr});
  c->process();  // bytes may already be waiting (the request often comes with the accept)
}

void ServerCore::check_closed() {
  if (!closing || listener.is_open() || stats.connections || !on_closed) return;
  Callback done = std::move(on_closed);
  on_closed = nullptr;
  done();
}

}  // namespace detail

Server::Server(Loop& loop, Handler handler, ServerOptions options)
    : core_(std::make_unique<detail::ServerCore>(loop, std::move(handler), options)) {}

Server::~Server() = default;
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;

void Server::listen(std::string_view ip, uint16_t port) {
  net::ListenOptions lo;
  lo.backlog = core_->options.backlog;
  lo.reuse_port = core_->options.reuse_port;
  listen(net::listen_tcp(*core_->loop, ip, port, lo));
}

void Server::listen(net::Listener listener) {
  core_->listener = std::move(listener);
  detail::ServerCore* core = core_.get();
  core_->listener.serve_callback(
      [core](net::Stream s) { detail::accept_connection(core, std::move(s)); });
}

void Server::on_head(HeadHook hook) {
  detail::ServerCore& c = *core_;
  c.head_hook = std::move(hook);
  c.limits.max_body_bytes = 0;  // the connection limits buffered bodies (streamed have their own)
  while (detail::Exchange* e = c.free_exchanges) {  // their parsers have the old limit
    c.free_exchanges = e->next_free;
    delete e;
  }
  c.free_count = 0;
}

uint16_t Server::port() const { return core_->listener.is_open() ? core_->listener.port() : 0; }

void Server::adopt(net::Stream stream) {
  detail::accept_connection(core_.get(), std::move(stream));
}

void Server::set_tls_context(tls::Context context) {
  if (!context.is_server()) throw tls::TlsError("http server: a client TLS context");
  core_->tls = std::move(context);
}

void Server::reload_tls() {
  if (!core_->options.tls) throw tls::TlsError("http server: not serving HTTPS");
  tls::Context next = tls::Context::server(*core_->options.tls);  // a throw keeps the current one
  // The same ticket keys: clients resume across the reload (SIGHUP) instead of full handshakes.
  if (core_->tls) tls::copy_ticket_keys(*core_->tls, next);
  core_->tls = std::move(next);
}

bool Server::secure() const noexcept { return core_->tls.has_value(); }

void Server::close(Callback on_closed) {
  detail::ServerCore& c = *core_;
  c.closing = true;
  c.listener.close();
  for (detail::Connection* conn = c.connections; conn;) {
    detail::Connection* next = conn->next;
    conn->shutdown_idle();  // may unlink conn (it is freed in the close phase)
    conn = next;
  }
  if (on_closed) c.on_closed = std::move(on_closed);  // installed last: it may destroy the server
  c.check_closed();
}

void Server::close_all_connections() {
  detail::ServerCore& c = *core_;
  c.closing_all = true;  // on_closed may destroy the server: not in the middle of this walk
  for (detail::Connection* conn = c.connections; conn;) {
    detail::Connection* next = conn->next;
    conn->close_now();  // unlinked unless a handler holds it (then it stays, closed)
    conn = next;
  }
  c.closing_all = false;
  c.check_closed();
}

bool Server::closing() const noexcept { return core_->closing; }
ServerStats Server::stats() const noexcept { return core_->stats; }
const ServerOptions& Server::options() const noexcept { return core_->options; }
Loop& Server::loop() const noexcept { return *core_->loop; }

}  // namespace brigade::http
