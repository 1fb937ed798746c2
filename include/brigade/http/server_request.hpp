#pragma once
// ServerRequest: what a handler gets to read (Express's req, Node's IncomingMessage).
//
// The method, target and headers are views into the connection's read buffer, valid until the
// response has ended; copy what must live longer. The body is buffered whole, up to the
// server's max_body_size (beyond it the client gets 413 and the handler never runs).
// (Named ServerRequest because http::Request is the parser's request head.)
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/http/parser.hpp"
#include "brigade/http/query.hpp"

namespace brigade::http {

namespace detail {
struct Connection;
}

class ServerRequest {
 public:
  Method method() const noexcept { return head_->method; }
  std::string_view method_name() const noexcept { return head_->method_name; }
  std::string_view target() const noexcept { return head_->target; }  // "/a/b?x=1"
  std::string_view path() const noexcept { return head_->path; }      // "/a/b" (not decoded)
  std::string_view query_string() const noexcept { return head_->query; }
  bool http11() const noexcept { return head_->http11(); }
  bool keep_alive() const noexcept { return head_->keep_alive; }

  // The first header named `name` (ASCII case-insensitive); empty if there is none.
  std::string_view header(std::string_view name) const { return head_->header(name); }
  bool has_header(std::string_view name) const { return head_->has_header(name); }
  std::span<const Header> headers() const noexcept { return head_->headers; }

  const std::string& body() const noexcept { return body_; }

  // A route parameter (":id" in the route is param("id"), "*" for a wildcard's match),
  // percent-decoded; empty if the route has no such parameter.
  std::string_view param(std::string_view name) const noexcept;
  bool has_param(std::string_view name) const noexcept;
  // A query-string value, percent-decoded ('+' is a space); the first of repeated keys.
  // The query string is parsed on the first call.
  std::string_view query(std::string_view name) const;
  bool has_query(std::string_view name) const;
  const QueryPairs& query_pairs() const;

  // The route pattern that matched ("/users/:id"), empty before routing or when none did.
  std::string_view route() const noexcept { return route_; }

  // ---- The server's and the router's side ------------------------------------------------
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
  void clear_params() noexcept { params_.clear(); }
  void release_memory();  // after a big request: give back what an idle connection should not keep

 private:
  const Request* head_ = nullptr;
  std::string body_;
  std::vector<Param> params_;
  std::string_view route_;
  mutable QueryPairs query_;
  mutable bool query_parsed_ = false;
};

}  // namespace brigade::http
