// The head of a request: request line and field lines, scanned line by line across calls,
// then the framing decision (Content-Length, chunked, none) and the published Request.
#include <cstring>

#include "brigade/http/parser.hpp"
#include "brigade/http/parser_syntax.hpp"

namespace brigade::http {

using syntax::equals_ignore_case;
using syntax::Verdict;

namespace {

uint32_t offset_in(const char* head, std::string_view part) {
  return static_cast<uint32_t>(part.data() - head);
}

}  // namespace

ParseResult RequestParser::parse_head(const char* data, size_t len) {
  if (message_fresh_) begin_message();
  if (len < scan_) begin_message();  // the caller dropped bytes it had to keep: start over
  size_t skip = 0;
  if (in_request_line_ && scan_ == 0) {  // empty lines before a request line are ignored
    while (len - skip >= 2 && data[skip] == '\r' && data[skip + 1] == '\n') skip += 2;
    if (len - skip == 1 && data[skip] == '\r') return need_more(skip);
  }
  const char* head = data + skip;
  size_t n = len - skip;
  for (;;) {
    const void* lf = std::memchr(head + scan_, '\n', n - scan_);
    if (lf == nullptr) {
      scan_ = n;
      // A partial line may end in the CR of its CRLF, hence the + 1.
      if (in_request_line_ && limits_.max_request_line && n > limits_.max_request_line + 1) {
        return fail(414, "request line too long");
      }
      if (n > limits_.max_head_bytes) return fail(431, "request head too large");
      return need_more(skip);
    }
    size_t at = static_cast<size_t>(static_cast<const char*>(lf) - head);
    scan_ = at + 1;
    ParseResult r = head_line(head, at, skip);
    if (r.status != ParseStatus::kNeedMore) return r;  // kNeedMore here: line taken, go on
    line_start_ = scan_;
  }
}

// The line [line_start_, lf) is complete. Limits first, so the verdict is the same however
// the bytes were split.
ParseResult RequestParser::head_line(const char* head, size_t lf, size_t consumed_before) {
  bool cr = lf > line_start_ && head[lf - 1] == '\r';
  size_t length = lf - line_start_ - (cr ? 1 : 0);
  if (in_request_line_ && limits_.max_request_line && length > limits_.max_request_line) {
    return fail(414, "request line too long");
  }
  if (lf + 1 > limits_.max_head_bytes) return fail(431, "request head too large");
  if (!cr) return fail(400, "bare LF");
  std::string_view line(head + line_start_, length);
  if (in_request_line_) {
    in_request_line_ = false;
    return request_line(line);
  }
  if (line.empty()) return finish_head(head, lf + 1, consumed_before);
  return field_line(head, line);
}

ParseResult RequestParser::request_line(std::string_view line) {
  syntax::RequestLine parsed;
  if (Verdict v = syntax::parse_request_line(line, parsed)) return fail(v.status, v.reason);
  Method method = syntax::method_from_name(parsed.method);
  if (Verdict v = syntax::check_target_form(method, parsed.target)) {
    return fail(v.status, v.reason);
  }
  request_.method = method;
  request_.version_major = parsed.major;
  request_.version_minor = parsed.minor;
  method_length_ = static_cast<uint32_t>(parsed.method.size());
  target_offset_ = offset_in(line.data(), parsed.target);  // the request line starts the head
  target_length_ = static_cast<uint32_t>(parsed.target.size());
  return need_more(0);
}

ParseResult RequestParser::field_line(const char* head, std::string_view line) {
  if (field_count_ == limits_.max_headers) return fail(431, "too many header fields");
  Header field;
  if (Verdict v = syntax::parse_field_line(line, field)) return fail(v.status, v.reason);
  if (field_count_ == spans_.size()) spans_.emplace_back();  // grows once per new high
  spans_[field_count_++] = {offset_in(head, field.name), static_cast<uint32_t>(field.name.size()),
                            offset_in(head, field.value),
                            static_cast<uint32_t>(field.value.size())};
  return note_field(field.name, field.value);
}

// Remembers what the framing-relevant fields say; rejects what can never be right.
ParseResult RequestParser::note_field(std::string_view name, std::string_view value) {
  switch (name.size()) {  // the lengths of the names below: most fields skip every compare
    case 4:
    case 6:
    case 7:
    case 10:
    case 14:
    case 17:
      break;
    default:
      return need_more(0);
  }
  Framing& f = framing_;
  if (equals_ignore_case(name, "host")) {
    if (++f.host_count > 1) return fail(400, "more than one Host");
    if (!syntax::valid_host(value)) return fail(400, "invalid Host");
  } else if (equals_ignore_case(name, "content-length")) {
    if (f.has_content_length) return fail(400, "more than one Content-Length");
    f.has_content_length = true;
    if (Verdict v = syntax::parse_content_length(value, f.content_length)) {
      return fail(v.status, v.reason);
    }
  } else if (equals_ignore_case(name, "transfer-encoding")) {
    f.has_transfer_encoding = true;
    Verdict bad;
    syntax::for_each_list_element(value, [&](std::string_view coding) {
      size_t semicolon = coding.find(';');
      std::string_view coding_name = coding.substr(0, semicolon);
      while (!coding_name.empty() && syntax::is_ows(coding_name.back())) {
        coding_name.remove_suffix(1);
      }
      if (equals_ignore_case(coding_name, "chunked")) {
        if (f.chunked_seen) bad = {400, "chunked applied twice"};
        if (semicolon != std::string_view::npos) bad = {400, "chunked with parameters"};
        f.chunked_seen = f.chunked_last = true;
      } else {
        bool token = !coding_name.empty();
        for (char c : coding_name) token = token && syntax::is_tchar(c);
        if (!token) bad = {400, "invalid transfer coding"};
        f.other_coding = true;
        f.chunked_last = false;
      }
    });
    if (bad) return fail(bad.status, bad.reason);
  } else if (equals_ignore_case(name, "connection")) {
    syntax::for_each_list_element(value, [&](std::string_view option) {
      if (equals_ignore_case(option, "close")) f.connection_close = true;
      if (equals_ignore_case(option, "keep-alive")) f.connection_keep_alive = true;
      if (equals_ignore_case(option, "upgrade")) f.connection_upgrade = true;
    });
  } else if (equals_ignore_case(name, "upgrade")) {
    f.has_upgrade = f.has_upgrade || !value.empty();
  } else if (equals_ignore_case(name, "expect")) {
    f.expect_continue = f.expect_continue || equals_ignore_case(value, "100-continue");
  }
  return need_more(0);
}

// The empty line arrived: decide the framing (RFC 9112 6.3) and publish the request.
ParseResult RequestParser::finish_head(const char* head, size_t head_end, size_t consumed_before) {
  const Framing& f = framing_;
  bool http11 = request_.version_minor >= 1;
  if (http11 && f.host_count == 0) return fail(400, "missing Host");
  if (f.has_transfer_encoding) {
    if (!http11) return fail(400, "Transfer-Encoding in HTTP/1.0");
    if (f.has_content_length) return fail(400, "both Content-Length and Transfer-Encoding");
    if (!f.chunked_last) return fail(400, "chunked is not the final transfer coding");
    if (f.other_coding) return fail(501, "transfer coding not implemented");
  }
  if (limits_.max_body_bytes != 0 && f.has_content_length &&
      f.content_length > limits_.max_body_bytes) {
    return fail(413, "body too large");
  }
  publish_request(head);
  scan_ = 0;
  body_total_ = 0;
  if (f.has_transfer_encoding) {
    state_ = State::kChunkLine;
  } else {
    state_ = State::kBodyLength;
    body_remaining_ = f.has_content_length ? f.content_length : 0;
  }
  return event(ParseStatus::kHeadersComplete, consumed_before + head_end);
}

void RequestParser::relocate(const char* from, const char* to) {
  publish_request(to + (request_.method_name.data() - from));  // the method starts the head
}

// Turns the remembered offsets into views of this call's bytes.
void RequestParser::publish_request(const char* head) {
  const Framing& f = framing_;
  Request& r = request_;
  r.method_name = std::string_view(head, method_length_);
  r.target = std::string_view(head + target_offset_, target_length_);
  syntax::split_target(r.target, r.path, r.query);
  if (headers_.size() < field_count_) headers_.resize(field_count_);
  for (size_t i = 0; i < field_count_; ++i) {
    const FieldSpan& s = spans_[i];
    headers_[i] = {std::string_view(head + s.name_offset, s.name_length),
                   std::string_view(head + s.value_offset, s.value_length)};
  }
  r.headers = std::span<const Header>(headers_.data(), field_count_);
  bool http11 = r.version_minor >= 1;
  r.has_content_length = f.has_content_length;
  r.content_length = f.content_length;
  r.chunked = f.has_transfer_encoding;
  r.keep_alive = !f.connection_close && (http11 || f.connection_keep_alive);
  r.expect_continue = http11 && f.expect_continue;
  r.upgrade = f.has_upgrade && f.connection_upgrade;
}

}  // namespace brigade::http
