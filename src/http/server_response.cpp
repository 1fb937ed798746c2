#include "brigade/http/server_response.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "brigade/error.hpp"
#include "brigade/http/parser_syntax.hpp"
#include "brigade/http/status.hpp"
#include "connection.hpp"
#include "json_text.hpp"
#include "tls_filter.hpp"

namespace brigade::http {

namespace {
using syntax::equals_ignore_case;

bool unsafe_in_header(char c) noexcept { return c == '\r' || c == '\n' || c == '\0'; }

// The length of the prefix of `text` free of CR, LF and NUL. Eight bytes at a time: a word
// with no byte below 0x0e (none of the three) is skipped whole.
std::size_t clean_prefix(std::string_view text) noexcept {
  constexpr uint64_t kOnes = ~uint64_t{0} / 255;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    if (((w - kOnes * 0x0e) & ~w & (kOnes * 0x80)) != 0) break;
  }
  while (i < text.size() && !unsafe_in_header(text[i])) ++i;
  return i;
}

// Whether `text` points into `buf`'s storage (the resize that appends to buf may move it).
bool overlaps(const std::string& buf, std::string_view text) noexcept {
  std::less_equal<const char*> le;
  return !text.empty() && le(buf.data(), text.data()) &&
         le(text.data(), buf.data() + buf.capacity());
}

// Copies header text to `out`, dropping CR, LF and NUL (no response splitting); returns the
// end. Clean text (all of it, in practice) is one copy.
char* copy_clean(char* out, std::string_view text) noexcept {
  std::size_t clean = clean_prefix(text);
  if (clean) std::memcpy(out, text.data(), clean);  // never memcpy from a null empty view
  out += clean;
  for (char c : text.substr(clean))
    if (!unsafe_in_header(c)) *out++ = c;
  return out;
}
}  // namespace

ServerResponse& ServerResponse::set(std::string_view name, std::string_view value) {
  // Framing headers are the server's: remember what they say instead of copying them. (Only
  // names of those lengths are compared.)
  std::size_t n = name.size();
  if (n == 14 && equals_ignore_case(name, "Content-Length")) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec == std::errc() && p == value.data() + value.size()) {
      content_length_ = v;
      has_content_length_ = true;
    }
    return *this;
  }
  if (n == 17 && equals_ignore_case(name, "Transfer-Encoding")) return *this;
  if (n == 10 && equals_ignore_case(name, "Connection")) {
    if (equals_ignore_case(value, "close")) close_requested_ = true;
    return *this;
  }
  if (n == 12 && equals_ignore_case(name, "Content-Type")) has_content_type_ = true;
  if (overlaps(headers_, name) || overlaps(headers_, value))  // e.g. a value from get()
    return set(std::string(name), std::string(value));
  // "name: value\r\n" through one resize and plain copies (this runs for every header set).
  std::size_t at = headers_.size();
  headers_.resize(at + name.size() + value.size() + 4);
  char* p = copy_clean(headers_.data() + at, name);
  *p++ = ':';
  *p++ = ' ';
  p = copy_clean(p, value);
  *p++ = '\r';
  *p++ = '\n';
  headers_.resize(static_cast<std::size_t>(p - headers_.data()));
  return *this;
}

std::string_view ServerResponse::get(std::string_view name) const noexcept {
  std::string_view all = headers_;
  while (!all.empty()) {
    std::size_t eol = all.find("\r\n");
    std::string_view line = all.substr(0, eol);
    all.remove_prefix(eol + 2);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && equals_ignore_case(line.substr(0, colon), name))
      return line.substr(colon + 2);
  }
  return {};
}

ServerResponse& ServerResponse::append(std::string_view bytes) {
  body_ += bytes;
  return *this;
}

void ServerResponse::send(std::string_view body) {
  if (ended_) return;
  if (!has_content_type_) set("Content-Type", "text/plain; charset=utf-8");
  body_ += body;
  end();
}

void ServerResponse::json(const nlohmann::json& value) {
  if (ended_) return;
  detail::append_json_text(body_, value);  // throws as dump() does, leaving body_ as it was
  if (!has_content_type_) set("Content-Type", "application/json");
  end();
}

void ServerResponse::send_json_text(std::string_view text) {
  if (ended_) return;
  if (!has_content_type_) set("Content-Type", "application/json");
  body_ += text;
  end();
}

void ServerResponse::redirect(int code, std::string_view url) {
  if (ended_) return;
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto is_hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  std::string location;  // encodeurl: escape what a URL cannot hold, keep valid escapes
  location.reserve(url.size());
  for (std::size_t i = 0; i < url.size(); ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    bool keep = c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' &&
                c != '`' && c != '{' && c != '|' && c != '}';
    if (c == '%') keep = i + 2 < url.size() && is_hex(url[i + 1]) && is_hex(url[i + 2]);
    if (keep) {
      location += static_cast<char>(c);
    } else {
      location += '%';
      location += kHex[c >> 4];
      location += kHex[c & 15];
    }
  }
  status(code).set("Location", location);
  std::string body = std::string(reason_phrase(code)) + ". Redirecting to " + location;
  send(body);
}

ServerResponse& ServerResponse::cookie(std::string_view name, std::string_view value,
                                       const CookieOptions& options) {
  return set("Set-Cookie", set_cookie_value(name, value, options));
}

ServerResponse& ServerResponse::clear_cookie(std::string_view name, CookieOptions options) {
  options.max_age_s = 0;
  return cookie(name, "", options);
}

void ServerResponse::end() {
  if (ended_) return;
  ended_ = true;
  if (!hold_) commit();
}

void ServerResponse::commit() {
  if (committed_ || !conn_) return;
  if (!ended_) ended_ = true;
  committed_ = true;
  if (headers_sent_)
    conn_->finish_stream(*this);
  else
    conn_->finish_buffered(*this);
}

Task<void> ServerResponse::write(std::string_view bytes) {
  if (!conn_ || !conn_->writable()) throw Error(EPIPE, "write");
  if (ended_) throw Error(EPIPE, "write after end");
  if (!headers_sent_) {
    headers_sent_ = true;
    conn_->start_stream(*this);
    if (!body_.empty()) {  // appended before streaming began: it goes first
      std::string first = std::move(body_);
      body_.clear();
      streamed_bytes_ += first.size();
      co_await conn_->write_body(*this, first);
    }
  }
  streamed_bytes_ += bytes.size();
  co_await conn_->write_body(*this, bytes);
}

bool ServerResponse::connection_closed() const noexcept { return !conn_ || !conn_->writable(); }

void ServerResponse::reset() noexcept {
  if (headers_sent_) return;
  drop_answer();
}

// Everything a handler set, whatever was sent: the buffers keep their capacity.
void ServerResponse::drop_answer() noexcept {
  headers_.clear();
  body_.clear();
  status_ = 200;
  content_length_ = 0;
  streamed_bytes_ = 0;
  has_content_length_ = has_content_type_ = close_requested_ = false;
  ended_ = committed_ = false;
}

void ServerResponse::abort() noexcept {
  if (!conn_) return;
  conn_->close_now();
  ended_ = true;
  if (!hold_ && !committed_) {  // held: the App's commit() at the chain's end finishes it
    committed_ = true;
    conn_->response_done();
  }
}

Upgraded ServerResponse::upgrade(std::string_view head) {
  if (!conn_ || !conn_->writable() || headers_sent_ || ended_) throw Error(EPIPE, "upgrade");
  detail::HandOff h = conn_->hand_off();
  int err = h.transport.write_nowait(head);  // through the TLS session on HTTPS
  headers_sent_ = true;  // the 101 is out: the server writes nothing more for this response
  end();
  if (err) throw Error(err, "upgrade");
  Upgraded up{std::move(h.transport.socket), std::move(h.buffered), {}};
  if (h.transport.filter) {  // the only filter is TLS: its session goes with the socket
    auto* tls = dynamic_cast<detail::TlsFilter*>(h.transport.filter.get());
    if (!tls) throw Error(EPROTONOSUPPORT, "upgrade over a filtered connection");
    up.tls = std::move(*tls).release();
  }
  return up;
}

void ServerResponse::clear() noexcept {
  drop_answer();  // not reset(): a streamed response (headers sent) must be cleared too
  headers_sent_ = false;
  streaming_raw_ = false;
  hold_ = false;
  head_only_ = false;
}

void ServerResponse::release_memory() {
  if (headers_.capacity() > 4096) std::string().swap(headers_);
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);
}

}  // namespace brigade::http
