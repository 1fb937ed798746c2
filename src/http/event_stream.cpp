// Server-Sent Events over a streamed response.
#include "brigade/http/event_stream.hpp"

#include <algorithm>
#include <cerrno>

#include "access.hpp"
#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/task/sleep.hpp"
#include "connection.hpp"

namespace brigade::http {

namespace {

// How often wait() looks at the socket and the server: the delay before a stream notices a
// client that left or a server that began closing.
constexpr uint64_t kCheckMs = 100;

uint64_t now_ms() { return Loop::hrtime() / 1'000'000u; }

}  // namespace

EventStream ServerResponse::event_stream() { return EventStream(*this, EventStreamOptions{}); }
EventStream ServerResponse::event_stream(const EventStreamOptions& options) {
  return EventStream(*this, options);
}

EventStream::EventStream(ServerResponse& res, EventStreamOptions options)
    : res_(&res), options_(options) {
  detail::Connection* conn = detail::ResponseAccess::connection(res);
  if (conn && conn->ex) last_event_id_ = std::string(conn->ex->req.header("Last-Event-ID"));
  res.status(200)
      .type("text/event-stream; charset=utf-8")
      .set("Cache-Control", "no-cache")
      .set("X-Accel-Buffering", "no");  // nginx: pass each event on at once
}

EventStream::EventStream(EventStream&& o) noexcept
    : res_(o.res_),
      options_(o.options_),
      last_event_id_(std::move(o.last_event_id_)),
      last_write_ms_(o.last_write_ms_),
      started_(o.started_) {
  o.res_ = nullptr;
}

Task<void> EventStream::write(std::string text) {
  if (!started_) {
    started_ = true;
    if (options_.retry_ms) text = "retry: " + std::to_string(options_.retry_ms) + "\n\n" + text;
  }
  co_await res_->write(text);
  last_write_ms_ = now_ms();
}

Task<void> EventStream::send(std::string_view data, std::string_view event, std::string_view id) {
  std::string text;
  text.reserve(data.size() + event.size() + id.size() + 32);
  if (!id.empty()) text.append("id: ").append(id).append("\n");
  if (!event.empty()) text.append("event: ").append(event).append("\n");
  // One "data:" line per line (a bare CR or CRLF ends a line for EventSource too).
  std::size_t at = 0;
  for (;;) {
    std::size_t eol = data.find_first_of("\r\n", at);
    text.append("data: ").append(data.substr(at, eol - at)).append("\n");
    if (eol == std::string_view::npos) break;
    at = eol + (data.compare(eol, 2, "\r\n") == 0 ? 2 : 1);
  }
  text.append("\n");
  co_await write(std::move(text));
}

Task<void> EventStream::comment(std::string_view text) {
  co_await write(": " + std::string(text) + "\n\n");
}

bool EventStream::open() const noexcept {
  if (!res_ || res_->ended()) return false;
  detail::Connection* conn = detail::ResponseAccess::connection(*res_);
  if (!conn || !conn->writable() || !conn->core || conn->core->closing) return false;
  // The request was read whole: any end of input is the client leaving.
  char peek;
  long n = conn->io.try_peek(std::span<char>(&peek, 1));
  return n > 0 || n == -EAGAIN;
}

Task<bool> EventStream::wait(uint64_t ms) {
  try {
    if (!started_) co_await write(": stream\n\n");  // the head goes now: the client sees it open
    uint64_t deadline = now_ms() + ms;
    for (;;) {
      if (!open()) co_return false;
      uint64_t now = now_ms();
      if (now >= deadline) co_return true;
      uint64_t step = std::min(deadline - now, kCheckMs);
      if (options_.heartbeat_ms) {
        uint64_t due = last_write_ms_ + options_.heartbeat_ms;
        if (now >= due) {
          co_await write(": heartbeat\n\n");
          continue;
        }
        step = std::min(step, due - now);
      }
      co_await sleep(step);
    }
  } catch (const Error&) {  // the socket failed under a write
    co_return false;
  }
}

void EventStream::end() noexcept {
  if (!res_) return;
  try {
    if (!res_->ended()) res_->end();
  } catch (...) {  // the connection is gone: nothing to end
  }
  res_ = nullptr;
}

}  // namespace brigade::http
