#include "brigade/http/server_request.hpp"

#include <algorithm>
#include <cstring>

#include "brigade/error.hpp"
#include "brigade/http/cookie.hpp"
#include "brigade/http/parser_syntax.hpp"
#include "brigade/http/trust_proxy.hpp"
#include "connection.hpp"

namespace brigade::http {

namespace {
const char* body_error_operation(int err) noexcept {
  switch (err) {
    case ECONNRESET:
      return "request body: the connection closed before the body's end";
    case ETIMEDOUT:
      return "request body: request timeout";
    case EFBIG:
      return "request body: larger than the route's limit";
    case EBADMSG:
      return "request body: bad chunked framing";
    case ECANCELED:
      return "request body: read after the response ended";
    default:
      return "request body";
  }
}

std::string_view first_of_list(std::string_view v) noexcept {
  return syntax::trim_ows(v.substr(0, v.find(',')));
}
}  // namespace

// ---- Body reads ------------------------------------------------------------------------------

BodyRead::~BodyRead() {
  if (op_.linked) req_->abandon_read(op_);  // the awaiting frame was destroyed
}

bool BodyRead::await_ready() noexcept { return req_->start_read(op_); }

void BodyRead::await_suspend(std::coroutine_handle<> h) noexcept { req_->suspend_read(op_, h); }

std::size_t BodyRead::await_resume() {
  if (op_.result < 0) {
    int err = static_cast<int>(-op_.result);
    throw Error(err, body_error_operation(err));
  }
  return static_cast<std::size_t>(op_.result);
}

bool ServerRequest::start_read(detail::BodyReadOp& op) noexcept {
  if (!op.view && op.buf.empty()) {
    op.result = -EINVAL;
    return true;
  }
  if (streamed_) {
    op.result = conn_->pull_body(op);
    return op.result != -EAGAIN;
  }
  std::size_t n = body_.size() - body_pos_;  // a buffered body is handed out as it is
  if (op.view) {
    op.piece = std::string_view(body_).substr(body_pos_);
  } else {
    n = std::min(n, op.buf.size());
    std::memcpy(op.buf.data(), body_.data() + body_pos_, n);
  }
  body_pos_ += n;
  op.result = static_cast<long>(n);
  return true;
}

void ServerRequest::suspend_read(detail::BodyReadOp& op, std::coroutine_handle<> h) noexcept {
  conn_->wait_body(op, h);
}

void ServerRequest::abandon_read(detail::BodyReadOp& op) noexcept {
  if (conn_) conn_->drop_reader(op);
}

Task<std::string> ServerRequest::read_all(uint64_t limit) {
  std::string all;
  for (;;) {
    BodyChunk next = read_chunk();
    std::string_view piece = co_await next;
    if (piece.empty()) break;
    if (limit && all.size() + piece.size() > limit) throw Error(EFBIG, body_error_operation(EFBIG));
    all += piece;
  }
  co_return all;
}

std::size_t ServerRequest::body_buffered() const noexcept {
  return streamed_ ? conn_->body_buffered() : body_.size() - body_pos_;
}

bool ServerRequest::stream_keeps_alive() const noexcept { return conn_->body_keeps_alive(); }

void ServerRequest::abandon_body() noexcept {
  if (streamed_) conn_->abandon_body();
}

std::string_view ServerRequest::param(std::string_view name) const noexcept {
  for (const Param& p : params_)
    if (p.name == name) return p.escaped ? std::string_view(p.decoded) : p.raw;
  return {};
}

bool ServerRequest::has_param(std::string_view name) const noexcept {
  for (const Param& p : params_)
    if (p.name == name) return true;
  return false;
}

const QueryPairs& ServerRequest::query_pairs() const {
  if (!query_parsed_) {
    query_parsed_ = true;
    if (head_) parse_query(head_->query, query_);
  }
  return query_;
}

std::string_view ServerRequest::query(std::string_view name) const {
  for (const auto& [k, v] : query_pairs())
    if (k == name) return v;
  return {};
}

bool ServerRequest::has_query(std::string_view name) const {
  for (const auto& kv : query_pairs())
    if (kv.first == name) return true;
  return false;
}

void ServerRequest::add_param(std::string_view name, std::string_view raw) {
  Param& p = params_.emplace_back();
  p.name = name;
  p.raw = raw;
  p.escaped = needs_decoding(raw, false);
  if (!p.escaped) return;
  percent_decode_append(p.decoded, raw, false);
  if (!malformed_param_ && !escapes_well_formed(raw)) malformed_param_ = &p - params_.data() + 1;
}

std::string_view ServerRequest::malformed_param() const noexcept {
  return malformed_param_ ? params_[malformed_param_ - 1].name : std::string_view{};
}

// ---- The client ----------------------------------------------------------------------------

std::optional<std::string> ServerRequest::find_cookie(std::string_view name) const {
  if (!head_) return std::nullopt;
  for (const Header& h : head_->headers)
    if (syntax::equals_ignore_case(h.name, "cookie"))
      if (auto v = http::find_cookie(h.value, name)) return v;
  return std::nullopt;
}

std::string ServerRequest::cookie(std::string_view name) const {
  return find_cookie(name).value_or(std::string());
}

bool ServerRequest::peer_trusted() const {
  if (!trust_ || trust_->trusts_nobody() || !socket_) return false;
  return trust_->trusts(socket_->io.socket.remote_endpoint().address, 0);
}

// [peer, last X-Forwarded-For entry, ..., first untrusted hop] (proxy-addr's order).
std::vector<std::string> ServerRequest::client_chain() const {
  std::vector<std::string> chain;
  if (!socket_) return chain;
  chain.push_back(socket_->io.socket.remote_endpoint().address);
  if (!trust_ || trust_->trusts_nobody() || !head_) return chain;
  std::vector<std::string_view> forwarded;  // left to right, over every X-Forwarded-For line
  for (const Header& h : head_->headers) {
    if (!syntax::equals_ignore_case(h.name, "x-forwarded-for")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view a = syntax::trim_ows(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (!a.empty()) forwarded.push_back(a);
    }
  }
  for (std::size_t hop = 0; hop < forwarded.size() && trust_->trusts(chain.back(), hop); ++hop)
    chain.emplace_back(forwarded[forwarded.size() - 1 - hop]);
  return chain;
}

std::string ServerRequest::ip() const {
  std::vector<std::string> chain = client_chain();
  return chain.empty() ? std::string() : std::move(chain.back());
}

std::vector<std::string> ServerRequest::ips() const {
  std::vector<std::string> chain = client_chain();
  if (chain.size() <= 1) return {};
  return std::vector<std::string>(chain.rbegin(), chain.rend() - 1);
}

std::string_view ServerRequest::hostname() const {
  if (!head_) return {};
  std::string_view host;
  if (peer_trusted()) host = first_of_list(header("X-Forwarded-Host"));
  if (host.empty()) host = syntax::trim_ows(header("Host"));
  if (host.empty()) return {};
  std::size_t from = host.front() == '[' ? host.find(']') : 0;  // an IPv6 literal
  if (from == std::string_view::npos) return host;
  std::size_t colon = host.find(':', from);
  return host.substr(0, colon);
}

std::string_view ServerRequest::protocol() const {
  if (peer_trusted()) {
    std::string_view proto = first_of_list(header("X-Forwarded-Proto"));
    if (syntax::equals_ignore_case(proto, "https")) return "https";
    if (syntax::equals_ignore_case(proto, "http")) return "http";
  }
  return socket_ && socket_->io.filter ? "https" : "http";  // the only filter is TLS
}

void ServerRequest::clear() noexcept {
  head_ = nullptr;
  conn_ = nullptr;
  socket_ = nullptr;
  trust_ = nullptr;
  body_.clear();
  body_pos_ = 0;
  match_ = nullptr;
  stream_limit_ = 0;
  match_status_ = 0;
  base_length_ = 0;
  streamed_ = stream_wanted_ = matched_ = false;
  params_.clear();
  malformed_param_ = 0;
  route_ = {};
  query_.clear();
  query_parsed_ = false;
}

void ServerRequest::release_memory() {
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);
  if (query_.capacity() > 64) QueryPairs().swap(query_);
}

}  // namespace brigade::http
