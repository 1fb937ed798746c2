#pragma once
// RequestParser: an incremental, allocation-free HTTP/1.1 request parser (RFC 9112).
//
// The parser owns no bytes. The caller (the server's connection) keeps one read buffer and
// hands the parser the bytes it has not consumed yet; every result says how many bytes were
// consumed and what happened. Everything the parser reports (method, target, headers, body
// pieces) is a std::string_view into the caller's buffer.
//
// Driving it (one event per call; a call with len == 0 is fine):
//
//   for (;;) {
//     ParseResult r = parser.parse(buf.data() + off, buf.size() - off);
//     off += r.consumed;                 // always advance, whatever the status
//     switch (r.status) {
//       case ParseStatus::kNeedMore:        read more, append, call again;     break out
//       case ParseStatus::kHeadersComplete: parser.request() is ready (send 100 Continue if
//                                           request().expect_continue);        continue
//       case ParseStatus::kBodyChunk:       consume r.body;                    continue
//       case ParseStatus::kMessageComplete: run the handler; the parser is ready for the
//                                           next pipelined request;            continue
//       case ParseStatus::kUpgraded:        bytes from off on are the new protocol's
//       case ParseStatus::kError:           answer r.error_status, then close
//     }
//   }
//
// The buffer contract, which makes partial heads safe without copying:
// - The head (request line + header lines + the empty line) is consumed only as a whole:
//   while it is incomplete, kNeedMore comes back with consumed == 0 (or only the empty lines
//   that may precede a request line). The caller keeps those bytes and calls again with the
//   same bytes followed by new ones. The bytes may move between calls (the buffer may grow or
//   be compacted): the parser remembers offsets, never pointers, and resumes scanning where it
//   stopped, so a head arriving one byte per read costs O(n), not O(n^2).
// - The views in request() point into the buffer passed to the call that returned
//   kHeadersComplete. They stay valid while those head bytes stay where they are; the caller
//   must not move or overwrite them while it uses request() (body bytes after the head may be
//   discarded as they are consumed).
// - request() describes the current message until the next message starts: the first parse()
//   call after kMessageComplete clears it. Handle (or copy) a request before parsing the next.
// - r.body points into the bytes of that very call; use it before the buffer changes.
// - Trailer fields of chunked bodies are validated, counted against the limits and ignored.
//
// Decisions where RFC 9112 leaves room (the parser is strict where smuggling lives; after any
// kError it stops for good and every further call returns the same error):
// - Methods: any token is accepted (Method::kOther plus method_name); the router answers 501
//   or 405. Non-token bytes in the method are 400.
// - Versions: HTTP/1.0 and HTTP/1.1; HTTP/1.x with x > 1 is processed as 1.1 (RFC 9110 2.5).
//   A well-formed version with another major (HTTP/0.9, HTTP/2.0) is 505; anything else 400.
// - Request target: visible ASCII only (0x21-0x7E); origin-form, absolute-form, "*" (OPTIONS
//   only) and authority-form (CONNECT only). Anything else is 400. Longer than
//   max_request_line (when set): 414; otherwise only the head's limit applies (431, Node's).
// - Transfer-Encoding: only a lone, final "chunked" is accepted. Chunked not final, chunked
//   twice, chunked with parameters, or any Transfer-Encoding in HTTP/1.0: 400 (RFC 9112 6.1,
//   6.3). A known-shape list ending in chunked but carrying other codings ("gzip, chunked"):
//   501, we implement no other coding (RFC 9112 6.1).
// - Content-Length: 1*DIGIT, one field line only (a repeated line, even with the same value,
//   or a list "5, 5" is 400); with Transfer-Encoding also present: 400.
// - Host: HTTP/1.1 without Host, more than one Host, or a Host with bytes outside the URI
//   authority alphabet: 400 (RFC 9112 3.2).
// - Field lines: obs-fold, whitespace before the colon, an empty or non-token name, control
//   bytes (NUL, CR, ...) in a value: 400. Bare LF or bare CR where CRLF belongs: 400.
//   Empty lines before the request line are skipped (RFC 9112 2.2).
// - Chunk lines: 1*HEXDIG (overflow of 64 bits: 400), extensions per RFC 9112 7.1.1 (token
//   names, token or quoted-string values, BWS around ';' and '='); no trailing junk.
// - Limits: the head past max_head_bytes or more than max_headers field lines: 431; a body
//   (declared Content-Length or sum of chunks) past max_body_bytes: 413.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace brigade::http {

// The methods the router cares about; any other token is kOther (see Request::method_name).
enum class Method : uint8_t {
  kOther,
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kTrace,
  kPatch,
};

// One field line, OWS around the value trimmed. Views into the caller's buffer.
struct Header {
  std::string_view name;
  std::string_view value;
};

struct ParserLimits {
  size_t max_head_bytes = 16 * 1024;  // request line + field lines + CRLFs (Node's 16 KiB): 431
  size_t max_request_line = 0;   // request line without CRLF: 414 beyond (kept below the head's);
                                 // 0: no limit of its own, the head's applies (431), as in Node
  size_t max_headers = 100;      // field lines in the head (and in the trailers): 431
  uint64_t max_body_bytes = 0;   // 0: unlimited; declared or chunked total beyond: 413
  size_t max_chunk_line = 4096;  // chunk size + extensions, without CRLF: 400
};

// What the head said. Filled when parse() returns kHeadersComplete.
struct Request {
  Method method = Method::kOther;
  std::string_view method_name;  // as sent, case-sensitive ("GET")
  std::string_view target;       // request-target as sent ("/a/b?x=1")
  std::string_view path;         // target up to '?' (absolute-form: from the path on)
  std::string_view query;        // after '?', without it; empty when there is none
  uint8_t version_major = 1;
  uint8_t version_minor = 1;  // as sent; 1.x with x > 1 behaves as 1.1
  std::span<const Header> headers;

  bool has_content_length = false;
  uint64_t content_length = 0;   // the declared length, when has_content_length
  bool chunked = false;          // Transfer-Encoding: chunked
  bool keep_alive = false;       // 1.1: unless "Connection: close"; 1.0: "keep-alive" needed
  bool expect_continue = false;  // HTTP/1.1 "Expect: 100-continue": send 100 before the body
  bool upgrade = false;          // Upgrade field + "Connection: upgrade" (CONNECT: see method)

  // The first field named `name` (ASCII case-insensitive); empty view if there is none.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  bool http11() const { return version_minor >= 1; }
};

enum class ParseStatus : uint8_t {
  kNeedMore,         // everything given was consumed or must be kept; read more and call again
  kHeadersComplete,  // request() is ready; the body (if any) follows
  kBodyChunk,        // body holds the next piece of the (de-chunked) body
  kMessageComplete,  // the request is complete; the next bytes are the next request
  kUpgraded,         // the previous message switched protocols (Upgrade or CONNECT): the
                     // bytes from here on are not HTTP; reset() to keep parsing HTTP anyway
  kError,            // bad request: answer error_status and close the connection
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;            // bytes the caller may drop, for every status
  std::string_view body;          // kBodyChunk: view into the bytes of this call
  uint16_t error_status = 0;      // kError: 400, 413, 414, 431, 501, 505
  std::string_view error_reason;  // kError: what was wrong, for logs (static text)
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {});

  // Parses data[0, len): the first byte not consumed by the previous call onwards.
  ParseResult parse(const char* data, size_t len);

  // Valid after kHeadersComplete until the next message starts (see the contract above).
  const Request& request() const { return request_; }
  const ParserLimits& limits() const { return limits_; }

  // Forgets any partial message and any error or upgrade: the next byte starts a request.
  void reset();

  // The caller copied the head's bytes from the buffer at `from` to the same offset in the one
  // at `to` (a bigger buffer): request()'s views follow. Only between kHeadersComplete and the
  // end of that message.
  void relocate(const char* from, const char* to);

 private:
  enum class State : uint8_t {
    kHead,
    kBodyLength,
    kChunkLine,
    kChunkData,
    kChunkDataCr,
    kChunkDataLf,
    kTrailers,
    kUpgraded,
    kError,
  };

  // A field line's place in the head, relative to the head's first byte.
  struct FieldSpan {
    uint32_t name_offset;
    uint32_t name_length;
    uint32_t value_offset;
    uint32_t value_length;
  };

  // What the framing-relevant field lines said so far.
  struct Framing {
    bool has_content_length;
    bool has_transfer_encoding;
    bool chunked_last;  // the last coding seen is chunked
    bool chunked_seen;  // chunked appeared (twice is an error)
    bool other_coding;  // a coding other than chunked appeared
    bool connection_close;
    bool connection_keep_alive;
    bool connection_upgrade;
    bool has_upgrade;
    bool expect_continue;
    uint8_t host_count;
    uint64_t content_length;
  };

  ParseResult parse_head(const char* data, size_t len);
  ParseResult head_line(const char* head, size_t lf, size_t consumed_before);
  ParseResult request_line(std::string_view line);
  ParseResult field_line(const char* head, std::string_view line);
  ParseResult note_field(std::string_view name, std::string_view value);
  ParseResult finish_head(const char* head, size_t head_end, size_t consumed_before);
  void publish_request(const char* head);

  bool body_length(const char* data, size_t len, size_t& pos, ParseResult& out);
  bool chunk_line(const char* data, size_t len, size_t& pos, ParseResult& out);
  bool chunk_data(const char* data, size_t len, size_t& pos, ParseResult& out);
  bool chunk_crlf(const char* data, size_t len, size_t& pos, ParseResult& out);
  bool trailer_line(const char* data, size_t len, size_t& pos, ParseResult& out);

  void begin_message();
  ParseResult message_complete(size_t consumed);
  ParseResult fail(uint16_t status, std::string_view reason);
  static ParseResult event(ParseStatus status, size_t consumed, std::string_view body = {}) {
    return {status, consumed, body, 0, {}};
  }
  static ParseResult need_more(size_t consumed) { return event(ParseStatus::kNeedMore, consumed); }

  ParserLimits limits_;
  // Grown as fields arrive (up to max_headers) and kept: a parser that saw a partial head costs
  // what that head needed, and a reused one allocates nothing.
  std::vector<FieldSpan> spans_;
  std::vector<Header> headers_;
  Request request_;
  State state_ = State::kHead;
  bool message_fresh_ = true;  // the next head call starts a new message
  bool in_request_line_ = true;
  size_t scan_ = 0;        // bytes of the pending line (head: of the head) searched for LF
  size_t line_start_ = 0;  // head: offset of the line being read
  size_t field_count_ = 0;
  uint32_t method_length_ = 0;
  uint32_t target_offset_ = 0;
  uint32_t target_length_ = 0;
  Framing framing_{};
  uint64_t body_remaining_ = 0;  // of the Content-Length body or of the current chunk
  uint64_t body_total_ = 0;      // chunked: sum of chunk sizes so far
  size_t trailer_bytes_ = 0;
  size_t trailer_count_ = 0;
  uint16_t error_status_ = 0;
  std::string_view error_reason_;
};

}  // namespace brigade::http
