#pragma once
// ServerRequest: what a handler gets to read (Express's req, Node's IncomingMessage).
//
// The method, target and headers are views into the connection's read buffer, valid until the
// response has ended; copy what must live longer.
// (Named ServerRequest because http::Request is the parser's request head.)
//
// The body, two ways:
// - Buffered (the default): read whole before the handler runs, up to the server's
//   max_body_size (beyond it the client gets 413 and the handler never runs); see body().
// - Streamed (a route registered with RouteOptions::stream(), see app.hpp): the handler runs
//   as soon as the head is parsed and pulls the decoded body (no chunk framing) as it arrives,
//   like Node's `for await (const chunk of req)`:
//
//     for (;;) {
//       auto next = req.read_chunk();      // a view into the connection's buffer (no copy),
//       std::string_view piece = co_await next;  // valid until the next read; empty: the end
//       if (piece.empty()) break;
//       hash.update(piece);
//     }
//
//   or `co_await req.read(std::span<char>(buf))` (copies; 0 at the end), or
//   `co_await req.read_all(limit)`. Backpressure: the server reads the socket only while the
//   handler waits in a read, so a handler that does not read stops the client (TCP window),
//   with at most one connection buffer (~32 KiB) held. Expect: 100-continue is answered at the
//   first read that needs the socket, never if the handler answers without reading. A failed
//   read throws brigade::Error: ECONNRESET (the client closed or reset before the body's end, or
//   the connection was closed), ETIMEDOUT (the server's request_timeout), EFBIG (the route's
//   max_body_size), EBADMSG (bad chunked framing; the client got 400), ECANCELED (the response
//   already ended). When a read fails before the handler sent anything, the server itself
//   answers (408/413/400) and closes; the handler's own answer is then dropped.
//   After the response: an unread rest of up to 1 MiB is read and dropped and the connection
//   stays alive (the next pipelined request starts right after the body); a larger rest, a
//   handler that threw, or an unanswered "Expect: 100-continue" closes the connection.
//   read()/read_chunk() also work on buffered requests (they hand out body()).
#include <coroutine>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/http/body.hpp"
#include "brigade/http/parser.hpp"
#include "brigade/http/query.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

class ServerRequest;
class TrustProxy;

namespace detail {
struct Connection;
struct RequestAccess;  // the server's and the router's side (src/http/access.hpp)

// One pending body read (lives in its awaiter).
struct BodyReadOp {
  std::span<char> buf;     // read(): where the bytes go
  std::string_view piece;  // read_chunk(): the bytes handed over
  std::coroutine_handle<> waiter;
  long result = 0;  // bytes, 0 at the end of the body, or -errno
  bool view = false;
  bool linked = false;
};
}  // namespace detail

// co_await req.read(buf): the bytes copied (0 at the end of the body).
class BodyRead {
 public:
  BodyRead(ServerRequest* req, std::span<char> buf, bool view) noexcept : req_(req) {
    op_.buf = buf;
    op_.view = view;
  }
  // Movable until await_suspend (co_await moves it into the awaiting frame).
  BodyRead(BodyRead&& o) noexcept : req_(o.req_), op_(o.op_) {}
  ~BodyRead();
  bool await_ready() noexcept;
  void await_suspend(std::coroutine_handle<> h) noexcept;
  std::size_t await_resume();

 protected:
  ServerRequest* req_;
  detail::BodyReadOp op_;
};

// co_await req.read_chunk(): the next decoded bytes, a view valid until the next read (or the
// response's end); empty at the end of the body.
class BodyChunk : public BodyRead {
 public:
  using BodyRead::BodyRead;
  std::string_view await_resume() {
    BodyRead::await_resume();
    return op_.piece;
  }
};

class ServerRequest {
 public:
  Method method() const noexcept { return head_->method; }
  std::string_view method_name() const noexcept { return head_->method_name; }
  std::string_view target() const noexcept { return head_->target; }  // "/a/b?x=1"
  std::string_view path() const noexcept { return head_->path; }      // "/a/b" (not decoded)
  std::string_view query_string() const noexcept { return head_->query; }
  bool http11() const noexcept { return head_->http11(); }
  // Whether the answer may keep the connection open (a streamed body that cannot be finished
  // cleanly says no).
  bool keep_alive() const noexcept {
    return head_->keep_alive && (!streamed_ || stream_keeps_alive());
  }

  // The first header named `name` (ASCII case-insensitive); empty if there is none.
  std::string_view header(std::string_view name) const { return head_->header(name); }
  bool has_header(std::string_view name) const { return head_->has_header(name); }
  std::span<const Header> headers() const noexcept { return head_->headers; }

  // The buffered body (empty for a streamed one: read it with read/read_chunk/read_all).
  const std::string& body() const noexcept { return body_; }

  // ---- Reading the body as it arrives (see the header comment) -----------------------------
  bool streamed() const noexcept { return streamed_; }
  BodyRead read(std::span<char> buf) noexcept { return BodyRead(this, buf, false); }
  BodyChunk read_chunk() noexcept { return BodyChunk(this, {}, true); }
  // The rest of the body as one string; Error(EFBIG) past `limit` bytes (0: no limit).
  Task<std::string> read_all(uint64_t limit = 0);
  // Body bytes the server holds for this request but has not handed over yet (at most one
  // connection buffer for a streamed body): the backpressure gauge.
  std::size_t body_buffered() const noexcept;

  // ---- Parsing the body (body.hpp; bad input throws HttpError: 415, 413, 400) ---------------
  //   nlohmann::json user = co_await req.json();     // express.json()
  //   http::FormFields f = co_await req.form();       // express.urlencoded()
  //   http::MultipartForm up = co_await req.multipart();  // multer: fields, files on disk
  // (Build MultipartOptions before the co_await: g++ 12 destroys braced temporaries twice there.)
  Task<nlohmann::json> json(BodyLimits limits = {});
  Task<FormFields> form(BodyLimits limits = {});
  Task<MultipartForm> multipart(MultipartOptions options = {}, FilePartHandler on_file = nullptr);

  // A route parameter (":id" in the route is param("id"), "*" for a wildcard's match),
  // percent-decoded; empty if the route has no such parameter.
  std::string_view param(std::string_view name) const noexcept;
  bool has_param(std::string_view name) const noexcept;
  // A query-string value, percent-decoded ('+' is a space); the first of repeated keys.
  // The query string is parsed on the first call.
  std::string_view query(std::string_view name) const;
  bool has_query(std::string_view name) const;
  const QueryPairs& query_pairs() const;

  // In a middleware mounted under a prefix (`app.use("/static", mw)`): the part of the path the
  // prefix matched ("/static", Express's req.baseUrl) and the rest ("/css/a.css", what
  // Express's req.path is there). Elsewhere: "" and path().
  std::string_view base_url() const noexcept { return path().substr(0, base_length_); }
  std::string_view relative_path() const noexcept {
    std::string_view rest = path().substr(base_length_);
    return rest.empty() ? std::string_view("/") : rest;
  }

  // The route pattern that matched ("/users/:id"), empty before routing or when none did.
  std::string_view route() const noexcept { return route_; }
  // The loop time (Loop::now_ns) of the iteration that began reading this request: the start
  // of its duration (http::track_requests), waiting behind other work included.
  uint64_t received_ns() const noexcept { return received_ns_; }

  // ---- The client (Express's req.cookies, req.ip, req.ips, req.hostname, req.protocol) -------
  // A cookie from the Cookie header, %XX-decoded; empty / nullopt when absent.
  std::string cookie(std::string_view name) const;
  std::optional<std::string> find_cookie(std::string_view name) const;
  // The client's address: the socket's peer, or, for hops the App's TrustProxy trusts, the
  // address they forwarded in X-Forwarded-For (see trust_proxy.hpp). Empty outside an App.
  std::string ip() const;
  // The trusted X-Forwarded-For chain, client first (empty when no hop is trusted).
  std::vector<std::string> ips() const;
  // The Host header without its port (X-Forwarded-Host when the peer is trusted).
  std::string_view hostname() const;
  // "http", or X-Forwarded-Proto's first value when the peer is trusted ("https").
  std::string_view protocol() const;
  bool secure() const { return protocol() == "https"; }

  // Head time (Server::on_head): ask for the body to be streamed, limited to `max_bytes`
  // (0: unlimited). The server honours it for requests that have a body.
  void stream_body(uint64_t max_bytes) noexcept {
    stream_wanted_ = true;
    stream_limit_ = max_bytes;
  }

 private:
  // ---- The server's and the router's side (detail::RequestAccess) -------------------------
  friend struct detail::RequestAccess;
  struct Param {
    std::string_view name;
    std::string_view raw;  // a view into the path
    std::string decoded;   // used when raw had escapes
    bool escaped = false;
  };
  void bind(const Request* head) noexcept { head_ = head; }
  void clear() noexcept;
  std::string& body_buffer() noexcept { return body_; }
  void add_param(std::string_view name, std::string_view raw);
  void set_route(std::string_view pattern) noexcept { route_ = pattern; }
  void set_received(uint64_t ns) noexcept { received_ns_ = ns; }
  void set_base(std::size_t length) noexcept { base_length_ = static_cast<uint32_t>(length); }
  void clear_params() noexcept {
    params_.clear();
    malformed_param_ = 0;
  }
  // The first param whose raw text has a malformed %-escape ("%ZZ"), empty if none.
  std::string_view malformed_param() const noexcept;
  void set_client(const detail::Connection* socket, const TrustProxy* trust) noexcept {
    socket_ = socket;
    trust_ = trust;
  }
  std::vector<std::string> client_chain() const;  // hop 0 (the peer) to the first untrusted
  bool peer_trusted() const;
  void release_memory();  // after a big request: give back what an idle connection should not keep

  bool stream_wanted() const noexcept { return stream_wanted_; }
  uint64_t stream_limit() const noexcept { return stream_limit_; }
  void begin_stream(detail::Connection* conn) noexcept {
    conn_ = conn;
    streamed_ = true;
  }
  // The handler failed: the rest of a streamed body is not read; the connection closes.
  void abandon_body() noexcept;
  // A router's lookup made at head time, kept for dispatch (opaque to the server).
  void set_match(void* route, int status) noexcept {
    match_ = route;
    match_status_ = status;
    matched_ = true;
  }
  bool matched() const noexcept { return matched_; }
  void* match() const noexcept { return match_; }
  int match_status() const noexcept { return match_status_; }

  friend class BodyRead;
  bool stream_keeps_alive() const noexcept;
  bool start_read(detail::BodyReadOp& op) noexcept;  // true: op.result is final
  void suspend_read(detail::BodyReadOp& op, std::coroutine_handle<> h) noexcept;
  void abandon_read(detail::BodyReadOp& op) noexcept;

  const Request* head_ = nullptr;
  detail::Connection* conn_ = nullptr;          // a streamed body's source
  const detail::Connection* socket_ = nullptr;  // the client's connection (set by the App)
  const TrustProxy* trust_ = nullptr;
  std::string body_;
  std::size_t body_pos_ = 0;  // read()/read_chunk() on a buffered body
  std::vector<Param> params_;
  std::size_t malformed_param_ = 0;  // 1 + index in params_; 0: none
  std::string_view route_;
  uint32_t base_length_ = 0;  // the running middleware's mount prefix, in path()
  mutable QueryPairs query_;
  void* match_ = nullptr;
  uint64_t stream_limit_ = 0;
  uint64_t received_ns_ = 0;
  int match_status_ = 0;
  mutable bool query_parsed_ = false;
  bool streamed_ = false;
  bool stream_wanted_ = false;
  bool matched_ = false;
};

}  // namespace brigade::http
