#pragma once
// The server's and the router's side of ServerRequest and ServerResponse, kept out of their
// public interface (as net's StreamAccess is): binding to a parsed head and a connection,
// route captures, the App's hold on a response until its middleware chain has run.
#include "brigade/http/server_request.hpp"
#include "brigade/http/server_response.hpp"

namespace brigade::http::detail {

struct RequestAccess {
  static void bind(ServerRequest& r, const Request* head) noexcept { r.bind(head); }
  static void clear(ServerRequest& r) noexcept { r.clear(); }
  static std::string& body_buffer(ServerRequest& r) noexcept { return r.body_buffer(); }
  static void add_param(ServerRequest& r, std::string_view name, std::string_view raw) {
    r.add_param(name, raw);
  }
  static void set_route(ServerRequest& r, std::string_view pattern) noexcept {
    r.set_route(pattern);
  }
  static void set_received(ServerRequest& r, uint64_t ns) noexcept { r.set_received(ns); }
  static void clear_params(ServerRequest& r) noexcept { r.clear_params(); }
  static void set_base(ServerRequest& r, std::size_t length) noexcept { r.set_base(length); }
  static std::string_view malformed_param(const ServerRequest& r) noexcept {
    return r.malformed_param();
  }
  static void release_memory(ServerRequest& r) { r.release_memory(); }
  static bool stream_wanted(const ServerRequest& r) noexcept { return r.stream_wanted(); }
  static uint64_t stream_limit(const ServerRequest& r) noexcept { return r.stream_limit(); }
  static void begin_stream(ServerRequest& r, Connection* conn) noexcept { r.begin_stream(conn); }
  static void abandon_body(ServerRequest& r) noexcept { r.abandon_body(); }
  // A router's lookup made at head time, kept for dispatch (opaque to the server).
  static void set_match(ServerRequest& r, void* route, int status) noexcept {
    r.set_match(route, status);
  }
  static void set_client(ServerRequest& r, const Connection* socket,
                         const TrustProxy* trust) noexcept {
    r.set_client(socket, trust);
  }
  static bool matched(const ServerRequest& r) noexcept { return r.matched(); }
  static void* match(const ServerRequest& r) noexcept { return r.match(); }
  static int match_status(const ServerRequest& r) noexcept { return r.match_status(); }
};

struct ResponseAccess {
  static void bind(ServerResponse& r, Connection* conn, bool head_only) noexcept {
    r.bind(conn, head_only);
  }
  static void clear(ServerResponse& r) noexcept { r.clear(); }
  static Connection* connection(const ServerResponse& r) noexcept { return r.conn_; }
  static void set_hold(ServerResponse& r, bool hold) noexcept { r.set_hold(hold); }
  static void commit(ServerResponse& r) { r.commit(); }
  static const std::string& header_lines(const ServerResponse& r) noexcept {
    return r.header_lines();
  }
  static const std::string& body(const ServerResponse& r) noexcept { return r.body(); }
  // A body transformation's side (compression): the buffered body and the header lines to
  // rewrite, and the Content-Length a transformed body no longer has.
  static std::string& body_buffer(ServerResponse& r) noexcept { return r.body_; }
  static std::string& header_buffer(ServerResponse& r) noexcept { return r.headers_; }
  static void drop_content_length(ServerResponse& r) noexcept {
    r.has_content_length_ = false;
    r.content_length_ = 0;
  }
  static bool head_only(const ServerResponse& r) noexcept { return r.head_only(); }
  static bool has_content_length(const ServerResponse& r) noexcept {
    return r.has_content_length();
  }
  static uint64_t content_length(const ServerResponse& r) noexcept { return r.content_length(); }
  static bool close_requested(const ServerResponse& r) noexcept { return r.close_requested(); }
  static void release_memory(ServerResponse& r) { r.release_memory(); }
  // send_file without the error answer: 0 once sent, else the errno (ENOENT, EISDIR, EACCES...)
  // with nothing answered. `root_fd` (or AT_FDCWD) anchors a relative `path`.
  static Task<int> send_file_at(ServerResponse& r, int root_fd, std::string path,
                                const SendFileOptions& options) {
    return r.send_file_at(root_fd, std::move(path), options);
  }
};

}  // namespace brigade::http::detail
