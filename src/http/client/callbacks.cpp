// What curl hands over, line by line (headers) and piece by piece (body). Neither callback
// resumes a coroutine directly (wake() defers to a microtask), so no brigade code runs inside
// curl; returning 0 fails the transfer with the reason left in abort_reason.
#include "callbacks.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

#include "transfer.hpp"

namespace brigade::http::detail {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// The head of one answer is complete: a 1xx or a redirect curl follows is not the final one.
void end_of_head(Transfer& t) {
  long code = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200) return;  // 100 Continue, 103 Early Hints: the real answer follows
  bool redirect = code >= 300 && code < 400 && t.headers.has("location");
  if (redirect && t.redirect == Redirect::kFollow) {
    t.following = true;  // curl follows it (or fails with too many redirects)
    t.redirected = true;
    return;
  }
  if (redirect && t.redirect == Redirect::kError) {
    t.abort_reason.emplace(
        FetchError::Kind::kRedirect,
        "fetch " + t.url + ": redirect (" + std::to_string(code) + ") with redirect mode 'error'");
    return;
  }
  t.status = int(code);
  char* effective = nullptr;
  curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &effective);
  t.final_url = effective ? effective : t.url;
  t.following = false;
  t.head_done = true;
  t.wake();
}
}  // namespace

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* p) {
  auto& t = *static_cast<Transfer*>(p);
  std::size_t n = size * count;
  std::string_view line(data, n);
  if (t.head_done) return n;        // trailers
  if (line.starts_with("HTTP/")) {  // a new answer (after a 1xx or a redirect)
    t.headers.clear();
    t.header_bytes = 0;
    t.following = false;
    std::string_view rest =
        line.substr(line.find(' ') == std::string_view::npos ? line.size() : line.find(' ') + 1);
    std::size_t sp = rest.find(' ');
    t.status_text =
        std::string(trim(sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1)));
  }
  t.header_bytes += n;
  if (t.max_header_size && t.header_bytes > t.max_header_size) {
    t.abort_reason.emplace(FetchError::Kind::kTooLarge,
                           "fetch " + t.url + ": the answer's headers exceed " +
                               std::to_string(t.max_header_size) + " bytes");
    return 0;
  }
  if (line == "\r\n" || line == "\n") {
    end_of_head(t);
    return t.abort_reason ? 0 : n;
  }
  if (line.starts_with("HTTP/")) return n;
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;  // a folded or odd line: curl validated the rest
  t.headers.append(std::string(trim(line.substr(0, colon))),
                   std::string(trim(line.substr(colon + 1))));
  return n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* p) {
  auto& t = *static_cast<Transfer*>(p);
  std::size_t n = size * count;
  if (t.following || !t.head_done) return n;  // the body of a redirect curl follows
  if (t.max_response_size && t.body_bytes + n > t.max_response_size) {
    t.abort_reason.emplace(
        FetchError::Kind::kTooLarge,
        "fetch " + t.url + ": the body exceeds " + std::to_string(t.max_response_size) + " bytes");
    return 0;
  }
  if (!t.buffer.empty() && t.buffer.size() + n > t.high_water) {
    t.paused = true;  // curl keeps these bytes and hands them over again once unpaused
    return CURL_WRITEFUNC_PAUSE;
  }
  t.body_bytes += n;
  t.buffer.append(data, n);
  t.wake();
  return n;
}

std::size_t on_upload(char* buffer, std::size_t size, std::size_t count, void* p) {
  auto& t = *static_cast<Transfer*>(p);
  std::size_t room = size * count;
  if (t.piece_sent < t.piece.size()) {
    std::size_t n = std::min(room, t.piece.size() - t.piece_sent);
    std::memcpy(buffer, t.piece.data() + t.piece_sent, n);
    t.piece_sent += n;
    return n;
  }
  if (t.body_ended) return 0;
  t.pull_piece();
  t.send_paused = true;  // the pulled piece unpauses it
  return CURL_READFUNC_PAUSE;
}

}  // namespace brigade::http::detail
