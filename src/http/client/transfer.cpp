#include "transfer.hpp"

#include "brigade/error.hpp"
#include "brigade/task/spawn.hpp"
#include "client_core.hpp"

namespace brigade::http::detail {

void Transfer::OnStop::operator()() const {
  self->abort(std::make_exception_ptr(CancelledError("fetch " + self->url)));
}

Transfer::~Transfer() {
  stop.reset();
  if (core) core->remove(this);
  if (easy) curl_easy_cleanup(easy);
  curl_slist_free_all(request_headers);
}

void Transfer::wake() {
  if (!waiter || wake_pending) return;
  wake_pending = true;
  loop->queue_microtask([w = weak_from_this()] {
    std::shared_ptr<Transfer> t = w.lock();
    if (!t) return;
    t->wake_pending = false;
    if (std::coroutine_handle<> h = std::exchange(t->waiter, nullptr)) h.resume();
  });
}

void Transfer::abort(std::exception_ptr e) {
  if (done) return;
  if (core) core->remove(this);
  done = true;
  error = std::move(e);
  buffer.clear();  // an aborted body is not delivered in part
  wake();
}

void Transfer::complete(CURLcode result) {
  if (core) core->remove(this);
  if (done) return;
  done = true;
  if (result != CURLE_OK) {
    error = error_for(result);
  } else if (!head_done) {
    error = std::make_exception_ptr(
        FetchError(FetchError::Kind::kProtocol, "fetch " + url + ": no answer headers"));
  }
  wake();
}

void Transfer::resume_if_paused() {
  if (!paused || done || !easy) return;
  paused = false;
  // curl may hand the held data to the write callback right here: the buffer is empty now.
  apply_pause();
}

void Transfer::apply_pause() {
  if (done || !easy) return;
  curl_easy_pause(easy, (paused ? CURLPAUSE_RECV : 0) | (send_paused ? CURLPAUSE_SEND : 0));
}

namespace {
// Runs the source for one piece. It holds the source, not the transfer: a transfer dropped
// meanwhile is gone when the piece comes, and the piece is dropped with it.
Task<void> pull(std::weak_ptr<Transfer> weak,
                std::shared_ptr<std::function<Task<std::string>()>> source) {
  std::string piece;
  std::exception_ptr error;
  try {
    piece = co_await (*source)();
  } catch (...) {
    error = std::current_exception();
  }
  std::shared_ptr<Transfer> t = weak.lock();
  if (!t || t->done) co_return;
  t->pulling = false;
  if (error) {
    t->abort(error);
    co_return;
  }
  t->piece = std::move(piece);
  t->piece_sent = 0;
  t->body_ended = t->piece.empty();
  t->send_paused = false;
  t->apply_pause();  // curl calls the read callback again, maybe right here
}
}  // namespace

void Transfer::pull_piece() {
  if (pulling) return;
  pulling = true;
  // Never inside a curl callback: the source may start other fetches.
  loop->queue_microtask([w = weak_from_this(), source = body_source] {
    spawn(pull(w, source), "fetch request body");
  });
}

std::exception_ptr Transfer::error_for(CURLcode result) const {
  if (abort_reason) return std::make_exception_ptr(*abort_reason);
  std::string what = "fetch " + url + ": ";
  what += error_buffer[0] ? error_buffer : curl_easy_strerror(result);
  switch (result) {
    case CURLE_OPERATION_TIMEDOUT:
      return std::make_exception_ptr(TimeoutError(what));
    case CURLE_TOO_MANY_REDIRECTS:
      return std::make_exception_ptr(FetchError(FetchError::Kind::kRedirect, what));
    case CURLE_FILESIZE_EXCEEDED:
      return std::make_exception_ptr(FetchError(FetchError::Kind::kTooLarge, what));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
      return std::make_exception_ptr(FetchError(FetchError::Kind::kProtocol, what));
    default:
      return std::make_exception_ptr(FetchError(FetchError::Kind::kNetwork, what));
  }
}

}  // namespace brigade::http::detail
