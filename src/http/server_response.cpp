#include "brigade/http/server_response.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "brigade/error.hpp"
#include "connection.hpp"

namespace brigade::http {

namespace {
bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// Header text must not carry line breaks (response splitting); NULs are dropped too.
void append_clean(std::string& out, std::string_view text) {
  for (char c : text)
    if (c != '\r' && c != '\n' && c != '\0') out += c;
}
}  // namespace

ServerResponse& ServerResponse::set(std::string_view name, std::string_view value) {
  // Framing headers are the server's: remember what they say instead of copying them.
  if (iequals(name, "Content-Length")) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec == std::errc() && p == value.data() + value.size()) {
      content_length_ = v;
      has_content_length_ = true;
    }
    return *this;
  }
  if (iequals(name, "Transfer-Encoding")) return *this;
  if (iequals(name, "Connection")) {
    if (iequals(value, "close")) close_requested_ = true;
    return *this;
  }
  if (iequals(name, "Content-Type")) has_content_type_ = true;
  append_clean(headers_, name);
  headers_ += ": ";
  append_clean(headers_, value);
  headers_ += "\r\n";
  return *this;
}

std::string_view ServerResponse::get(std::string_view name) const noexcept {
  std::string_view all = headers_;
  while (!all.empty()) {
    std::size_t eol = all.find("\r\n");
    std::string_view line = all.substr(0, eol);
    all.remove_prefix(eol + 2);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name))
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
  send_json_text(value.dump());
}

void ServerResponse::send_json_text(std::string_view text) {
  if (ended_) return;
  if (!has_content_type_) set("Content-Type", "application/json");
  body_ += text;
  end();
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
      co_await conn_->write_body(*this, first);
    }
  }
  co_await conn_->write_body(*this, bytes);
}

bool ServerResponse::connection_closed() const noexcept { return !conn_ || !conn_->writable(); }

void ServerResponse::reset() noexcept {
  if (headers_sent_) return;
  headers_.clear();
  body_.clear();
  status_ = 200;
  content_length_ = 0;
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

void ServerResponse::clear() noexcept {
  reset();
  headers_sent_ = false;
  hold_ = false;
  head_only_ = false;
}

void ServerResponse::release_memory() {
  if (headers_.capacity() > 4096) std::string().swap(headers_);
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);
}

}  // namespace brigade::http
