#pragma once
// multipart/form-data (RFC 7578, framing of RFC 2046) as a pull parser over bytes that arrive in
// pieces: push() what came, then next() until it says it needs more. Nothing is held beyond one
// part's header block and the tail that may still be the start of a boundary, so a file part of
// any size streams through. Untrusted input: fuzzed by tests/fuzz/fuzz_multipart_parser.cpp.
//
//   MultipartParser p(*multipart_boundary(req.header("content-type")));
//   p.push(bytes);
//   for (auto e = p.next(); e.kind != MultipartEvent::kNeedMore; e = p.next()) ...
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace brigade::http {

// The boundary parameter of a multipart Content-Type ("multipart/form-data; boundary=xyz"),
// unquoted; nullopt if the type is not multipart/* or the boundary is missing or invalid
// (1..70 characters, RFC 2046).
std::optional<std::string> multipart_boundary(std::string_view content_type);

// One part's head, from its Content-Disposition and Content-Type headers.
struct MultipartPart {
  std::string name;          // the form field's name
  std::string filename;      // the uploaded file's name (no directories); empty: a plain field
  std::string content_type;  // "text/plain" when absent (RFC 7578)
  bool is_file = false;      // a filename parameter was present (even empty)
};

struct MultipartEvent {
  enum Kind {
    kNeedMore,   // push() more bytes (or end() if there are none)
    kPartBegin,  // part() is the new part's head
    kData,       // data: the next bytes of the current part's body
    kPartEnd,    // the current part's body is complete
    kDone,       // the closing boundary was read (an epilogue after it is ignored)
    kError,      // malformed (error() says why); nothing more comes
  };
  Kind kind = kNeedMore;
  std::string_view data;  // kData: valid until the next push() or next()
};

class MultipartParser {
 public:
  explicit MultipartParser(std::string_view boundary, std::size_t max_header_bytes = 16 * 1024);

  // More of the body. Call after next() returned kNeedMore.
  void push(std::string_view bytes);
  // The body has no more bytes: next() then returns kError unless the closing boundary was read.
  void end() noexcept { ended_ = true; }
  MultipartEvent next();

  const MultipartPart& part() const noexcept { return part_; }
  const std::string& error() const noexcept { return error_; }
  // The error was a part head larger than max_header_bytes (a 413 rather than a 400).
  bool too_large() const noexcept { return too_large_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kDone, kError };
  MultipartEvent fail(std::string message, bool too_large = false);
  bool parse_head(std::string_view block);
  void compact();

  std::string delimiter_;  // "\r\n--" + boundary
  std::string buf_;        // unconsumed input starts at pos_
  std::size_t pos_ = 0;
  std::size_t max_header_bytes_;
  State state_ = State::kPreamble;
  MultipartPart part_;
  std::string error_;
  bool ended_ = false;
  bool too_large_ = false;
};

}  // namespace brigade::http
