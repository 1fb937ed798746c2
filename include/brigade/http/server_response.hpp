#pragma once
// ServerResponse: what a handler writes (Express's res, Node's ServerResponse).
//
//   res.status(201).set("X-Id", "7").send("made");     // buffered, Content-Length
//   res.json({{"ok", true}});                          // application/json
//   co_await res.write(chunk);  ...  res.end();        // streamed: chunked, with backpressure
//   co_await res.send_file("/path/index.html");        // read on the thread pool
//
// A buffered response is serialized when it ends (inside an App: when the middleware chain
// has ended, so after-middleware may still set headers). The first write() sends the head at
// once (Transfer-Encoding: chunked unless Content-Length was set; HTTP/1.0 peers get the body
// close-delimited). HEAD requests get the head only, with the Content-Length the body would have.
// Headers are kept serialized, so setting one allocates nothing once the buffer has grown.
// If the connection is gone, buffered calls do nothing and write() throws Error(EPIPE).
#include <cstdint>
#include <nlohmann/json.hpp>  // whole: res.json({{"k", v}}) needs json's constructors
#include <string>
#include <string_view>

#include "brigade/http/cookie.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/task.hpp"
#include "brigade/tls/stream.hpp"

namespace brigade::http {

namespace detail {
struct Connection;
struct ResponseAccess;  // the server's side (src/http/access.hpp)
}  // namespace detail

class EventStream;
struct EventStreamOptions;

// What a protocol switch hands over: the socket, the bytes that came after the request's head
// and, on an HTTPS connection, the TLS session (tls::Stream::join(socket, tls) reads and writes
// on through it; the bytes in `buffered` are already plaintext).
struct Upgraded {
  net::Stream socket;
  std::string buffered;
  tls::Session tls;  // empty on a plaintext connection
};

// How send_file, download and serve_static answer (Express's res.sendFile / `send` options).
struct SendFileOptions {
  // Set: `path` is relative to this folder and may not leave it, through "..", an absolute
  // symlink or a symlink pointing out (403), unless symlinks_leave_root allows the last.
  std::string root;
  bool symlinks_leave_root = false;
  bool cache_control = true;  // Cache-Control: public, max-age=<max_age_s>[, immutable]
  uint32_t max_age_s = 0;
  bool immutable = false;
  bool etag = true;           // a strong ETag from the file's size and modification time
  bool last_modified = true;  // Last-Modified, and If-Modified-Since / If-Unmodified-Since
  bool ranges = true;         // Accept-Ranges: bytes; Range -> 206 (multipart for several), 416
};

class ServerResponse {
 public:
  ServerResponse& status(int code) noexcept {
    status_ = code;
    return *this;
  }
  int status() const noexcept { return status_; }

  // Adds a header line (no check for duplicates: set it once). Content-Length set here is
  // trusted for streamed bodies; CR/LF in names or values are dropped (no response splitting).
  ServerResponse& set(std::string_view name, std::string_view value);
  ServerResponse& type(std::string_view content_type) { return set("Content-Type", content_type); }
  // The value of a header set so far (case-insensitive), empty if none.
  std::string_view get(std::string_view name) const noexcept;

  // Appends to the buffered body without ending.
  ServerResponse& append(std::string_view bytes);
  // Appends `body` and ends the response. Adds "Content-Type: text/plain" if none was set.
  void send(std::string_view body);
  // Serializes `value`, sets "Content-Type: application/json" (if none was set) and ends.
  void json(const nlohmann::json& value);
  void send_json_text(std::string_view text);  // already serialized JSON
  // Ends the response (what was appended is the body).
  void end();

  // Express's res.redirect: Location (bytes a URL may not hold %-encoded, existing escapes
  // kept), a short text body, and ends. `status` defaults to 302.
  void redirect(std::string_view url) { redirect(302, url); }
  void redirect(int status, std::string_view url);
  // Adds a Set-Cookie line (see cookie.hpp for the options and what throws).
  ServerResponse& cookie(std::string_view name, std::string_view value,
                         const CookieOptions& options = {});
  // Expires cookie `name` (its Path and Domain must be the ones it was set with).
  ServerResponse& clear_cookie(std::string_view name, CookieOptions options = {});

  // Streams `bytes` as the next piece of the body; resumes once the bytes are in the kernel or
  // under the socket's high-water mark. Throws Error(EPIPE) if the connection is gone.
  Task<void> write(std::string_view bytes);
  // Sends a file as the body (Express's res.sendFile) and ends the response: opened and
  // stat'ed on ThreadPool::shared(), then streamed from the page cache with sendfile(2) (a TLS
  // connection gets pieces read on the pool), never whole in memory. Content-Type from the
  // extension (/etc/mime.types) unless one was set; Last-Modified, ETag, Cache-Control and
  // Accept-Ranges per `options`; the request's If-None-Match / If-Modified-Since answer 304,
  // If-Match / If-Unmodified-Since 412, Range 206 (multipart/byteranges for several ranges,
  // If-Range honoured) or 416. 404 when the file is missing or not a regular file, 403 outside
  // options.root. Anything appended before is dropped.
  // Overloads, not default arguments: g++ 12 destroys a default argument's temporary twice
  // when the call sits inside co_await.
  Task<void> send_file(std::string path) { return send_file(std::move(path), SendFileOptions()); }
  Task<void> send_file(std::string path, SendFileOptions options);
  // send_file as an attachment (Express's res.download): Content-Disposition names
  // `filename` (default: the file's own name), UTF-8 names included (RFC 6266 filename*).
  Task<void> download(std::string path) { return download(std::move(path), std::string()); }
  Task<void> download(std::string path, std::string filename) {
    return download(std::move(path), std::move(filename), SendFileOptions());
  }
  Task<void> download(std::string path, std::string filename, SendFileOptions options);

  // Answers with a Server-Sent Events stream (include brigade/http/event_stream.hpp).
  EventStream event_stream();
  EventStream event_stream(const EventStreamOptions& options);

  // Body bytes produced so far: streamed by write() plus the buffered body (access logs).
  uint64_t body_bytes() const noexcept { return streamed_bytes_ + body_.size(); }
  bool ended() const noexcept { return ended_; }
  bool headers_sent() const noexcept { return headers_sent_; }
  bool connection_closed() const noexcept;  // the peer or the server closed the socket
  // Drops status, headers and body (before anything was sent): for error handlers.
  void reset() noexcept;
  // Closes the connection without a (further) answer: the last resort once headers are sent.
  void abort() noexcept;
  // Switches protocols (Upgrade, e.g. WebSocket): writes `head` (a whole "HTTP/1.1 101 ..."
  // head) after any earlier pipelined answers, ends this response and hands the socket and the
  // bytes read after the request's head to the caller; the server forgets the connection.
  // Throws Error(EPIPE) if the connection is gone or the response was already sent.
  Upgraded upgrade(std::string_view head);

 private:
  // ---- The server's side (detail::ResponseAccess) --------------------------------------------
  friend struct detail::ResponseAccess;
  void bind(detail::Connection* conn, bool head_only) noexcept {
    conn_ = conn;
    head_only_ = head_only;
  }
  void clear() noexcept;
  void set_hold(bool hold) noexcept { hold_ = hold; }  // App: end() waits for commit()
  void commit();                                       // serialize an ended, held response
  const std::string& header_lines() const noexcept { return headers_; }
  const std::string& body() const noexcept { return body_; }
  bool head_only() const noexcept { return head_only_; }
  bool has_content_length() const noexcept { return has_content_length_; }
  uint64_t content_length() const noexcept { return content_length_; }
  bool has_content_type() const noexcept { return has_content_type_; }
  bool close_requested() const noexcept { return close_requested_; }
  void release_memory();
  void drop_answer() noexcept;
  // send_file's body: the open file, or what stopped it (an errno) left unanswered.
  Task<int> send_file_at(int root_fd, std::string path, const SendFileOptions& options,
                         std::string disposition = {});
  Task<void> send_file_as(std::string path, SendFileOptions options, std::string disposition);
  detail::Connection* conn_ = nullptr;
  std::string headers_;  // "Name: value\r\n" lines
  std::string body_;
  uint64_t content_length_ = 0;
  uint64_t streamed_bytes_ = 0;
  int status_ = 200;
  bool ended_ = false;
  bool committed_ = false;
  bool headers_sent_ = false;
  bool head_only_ = false;
  bool hold_ = false;
  bool has_content_length_ = false;
  bool has_content_type_ = false;
  bool close_requested_ = false;  // the handler set "Connection: close"
  bool streaming_raw_ = false;    // HTTP/1.0 streaming: close-delimited body
};

}  // namespace brigade::http
