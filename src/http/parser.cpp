// RequestParser: the state machine driver and the body (Content-Length and chunked).
#include "brigade/http/parser.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "brigade/http/parser_syntax.hpp"

namespace brigade::http {

using syntax::Verdict;

namespace {

// Finds the LF of the line starting at line[0], searching from `scan`; npos if not there yet.
size_t find_lf(const char* line, size_t avail, size_t scan) {
  const void* lf = std::memchr(line + scan, '\n', avail - scan);
  return lf ? static_cast<size_t>(static_cast<const char*>(lf) - line) : std::string_view::npos;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (syntax::equals_ignore_case(h.name, name)) return h.value;
  }
  return {};
}

bool Request::has_header(std::string_view name) const {
  for (const Header& h : headers) {
    if (syntax::equals_ignore_case(h.name, name)) return true;
  }
  return false;
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {
  // Offsets into the head are 32-bit; the request line must leave room for its CRLF.
  limits_.max_head_bytes = std::min<size_t>(limits_.max_head_bytes, UINT32_MAX);
  limits_.max_head_bytes = std::max<size_t>(limits_.max_head_bytes, 2);
  if (limits_.max_request_line)
    limits_.max_request_line = std::min(limits_.max_request_line, limits_.max_head_bytes - 2);
}

ParseResult RequestParser::parse(const char* data, size_t len) {
  switch (state_) {
    case State::kHead:
      return parse_head(data, len);
    case State::kError:
      return {ParseStatus::kError, 0, {}, error_status_, error_reason_};
    case State::kUpgraded:
      return event(ParseStatus::kUpgraded, 0);
    default:
      break;
  }
  size_t pos = 0;
  ParseResult out;
  for (bool done = false; !done;) {
    switch (state_) {
      case State::kBodyLength:
        done = body_length(data, len, pos, out);
        break;
      case State::kChunkLine:
        done = chunk_line(data, len, pos, out);
        break;
      case State::kChunkData:
        done = chunk_data(data, len, pos, out);
        break;
      case State::kChunkDataCr:
      case State::kChunkDataLf:
        done = chunk_crlf(data, len, pos, out);
        break;
      case State::kTrailers:
        done = trailer_line(data, len, pos, out);
        break;
      default:
        return fail(400, "parser state");  // unreachable: the other states returned above
    }
  }
  return out;
}

void RequestParser::reset() {
  state_ = State::kHead;
  error_status_ = 0;
  error_reason_ = {};
  begin_message();
}

void RequestParser::begin_message() {
  static const Request kFresh{};  // copied, not rebuilt: a zeroed temporary costs a `rep stos`
  request_ = kFresh;
  message_fresh_ = false;
  in_request_line_ = true;
  scan_ = 0;
  line_start_ = 0;
  field_count_ = 0;
  framing_ = Framing{};
  body_remaining_ = 0;
  body_total_ = 0;
}

ParseResult RequestParser::message_complete(size_t consumed) {
  bool switched = request_.upgrade || request_.method == Method::kConnect;
  state_ = switched ? State::kUpgraded : State::kHead;
  message_fresh_ = true;
  scan_ = 0;
  return event(ParseStatus::kMessageComplete, consumed);
}

ParseResult RequestParser::fail(uint16_t status, std::string_view reason) {
  state_ = State::kError;
  error_status_ = status;
  error_reason_ = reason;
  return {ParseStatus::kError, 0, {}, status, reason};
}

bool RequestParser::body_length(const char* data, size_t len, size_t& pos, ParseResult& out) {
  if (body_remaining_ == 0) {
    out = message_complete(pos);
    return true;
  }
  if (pos == len) {
    out = need_more(pos);
    return true;
  }
  size_t take = static_cast<size_t>(std::min<uint64_t>(len - pos, body_remaining_));
  body_remaining_ -= take;
  out = event(ParseStatus::kBodyChunk, pos + take, std::string_view(data + pos, take));
  return true;
}

// chunk-size [chunk-ext] CRLF. A partial line is left unconsumed for the next call.
bool RequestParser::chunk_line(const char* data, size_t len, size_t& pos, ParseResult& out) {
  const char* line = data + pos;
  size_t avail = len - pos;
  if (avail < scan_) scan_ = 0;
  size_t at = find_lf(line, avail, scan_);
  if (at == std::string_view::npos) {
    scan_ = avail;
    out = avail > limits_.max_chunk_line + 1 ? fail(400, "chunk line too long") : need_more(pos);
    return true;
  }
  scan_ = 0;
  bool cr = at > 0 && line[at - 1] == '\r';
  size_t length = at - (cr ? 1 : 0);
  uint64_t size = 0;
  if (length > limits_.max_chunk_line) {
    out = fail(400, "chunk line too long");
  } else if (!cr) {
    out = fail(400, "bare LF");
  } else if (Verdict v = syntax::parse_chunk_line(std::string_view(line, length), size)) {
    out = fail(v.status, v.reason);
  } else if (limits_.max_body_bytes != 0 && size > limits_.max_body_bytes - body_total_) {
    out = fail(413, "body too large");
  }
  if (state_ == State::kError) return true;
  pos += at + 1;
  if (size == 0) {
    state_ = State::kTrailers;
    trailer_bytes_ = 0;
    trailer_count_ = 0;
  } else {
    body_total_ += size;
    body_remaining_ = size;
    state_ = State::kChunkData;
  }
  return false;
}

bool RequestParser::chunk_data(const char* data, size_t len, size_t& pos, ParseResult& out) {
  if (pos == len) {
    out = need_more(pos);
    return true;
  }
  size_t take = static_cast<size_t>(std::min<uint64_t>(len - pos, body_remaining_));
  body_remaining_ -= take;
  if (body_remaining_ == 0) state_ = State::kChunkDataCr;
  out = event(ParseStatus::kBodyChunk, pos + take, std::string_view(data + pos, take));
  return true;
}

// The CRLF that closes chunk data, one byte at a time.
bool RequestParser::chunk_crlf(const char* data, size_t len, size_t& pos, ParseResult& out) {
  if (pos == len) {
    out = need_more(pos);
    return true;
  }
  bool want_cr = state_ == State::kChunkDataCr;
  if (data[pos] != (want_cr ? '\r' : '\n')) {
    out = fail(400, "chunk data not followed by CRLF");
    return true;
  }
  ++pos;
  state_ = want_cr ? State::kChunkDataLf : State::kChunkLine;
  return false;
}

// trailer-section: field lines up to an empty line; validated, limited, not kept.
bool RequestParser::trailer_line(const char* data, size_t len, size_t& pos, ParseResult& out) {
  const char* line = data + pos;
  size_t avail = len - pos;
  if (avail < scan_) scan_ = 0;
  size_t at = find_lf(line, avail, scan_);
  if (at == std::string_view::npos) {
    scan_ = avail;
    bool too_large = trailer_bytes_ + avail > limits_.max_head_bytes;
    out = too_large ? fail(431, "trailers too large") : need_more(pos);
    return true;
  }
  scan_ = 0;
  bool cr = at > 0 && line[at - 1] == '\r';
  Header field;
  if (trailer_bytes_ + at + 1 > limits_.max_head_bytes) {
    out = fail(431, "trailers too large");
  } else if (!cr) {
    out = fail(400, "bare LF");
  } else if (at == 1) {
    out = message_complete(pos + 2);
    return true;
  } else if (trailer_count_ == limits_.max_headers) {
    out = fail(431, "too many trailer fields");
  } else if (Verdict v = syntax::parse_field_line(std::string_view(line, at - 1), field)) {
    out = fail(v.status, v.reason);
  }
  if (state_ == State::kError) return true;
  ++trailer_count_;
  trailer_bytes_ += at + 1;
  pos += at + 1;
  return false;
}

}  // namespace brigade::http
