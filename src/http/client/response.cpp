#include <nlohmann/json.hpp>
#include <stdexcept>

#include "brigade/error.hpp"
#include "brigade/http/fetch.hpp"
#include "transfer.hpp"

namespace brigade::http {

namespace {
const std::string kEmpty;
const FetchHeaders kNoHeaders;
}  // namespace

Response& Response::operator=(Response&& o) noexcept {
  if (this != &o) {
    Response dropped(std::move(*this));
    t_ = std::move(o.t_);
  }
  return *this;
}

Response::~Response() {
  if (t_ && !t_->done)
    t_->abort(std::make_exception_ptr(CancelledError("fetch " + t_->url + ": response dropped")));
}

int Response::status() const noexcept { return t_ ? t_->status : 0; }
const std::string& Response::status_text() const noexcept { return t_ ? t_->status_text : kEmpty; }
const FetchHeaders& Response::headers() const noexcept { return t_ ? t_->headers : kNoHeaders; }
const std::string& Response::url() const noexcept { return t_ ? t_->final_url : kEmpty; }
bool Response::redirected() const noexcept { return t_ && t_->redirected; }

Response::ChunkAwaiter Response::read_chunk() {
  if (!t_) throw std::logic_error("Response::read_chunk: no response");
  return ChunkAwaiter(t_);
}

Response::ChunkAwaiter::~ChunkAwaiter() {
  if (suspended_ && t_->waiter == handle_)
    t_->waiter = nullptr;  // the reader's frame is going away
}

bool Response::ChunkAwaiter::await_ready() { return !t_->buffer.empty() || t_->done; }

void Response::ChunkAwaiter::await_suspend(std::coroutine_handle<> h) {
  if (t_->waiter) throw std::logic_error("Response::read_chunk: another read is waiting");
  t_->waiter = h;
  handle_ = h;
  suspended_ = true;
}

std::string Response::ChunkAwaiter::await_resume() {
  suspended_ = false;
  if (!t_->buffer.empty()) {
    std::string chunk = std::move(t_->buffer);
    t_->buffer.clear();
    t_->resume_if_paused();
    return chunk;
  }
  if (t_->error) std::rethrow_exception(t_->error);
  return {};
}

Task<std::string> Response::text() {
  std::string all;
  for (;;) {
    std::string chunk = co_await read_chunk();
    if (chunk.empty()) break;
    if (all.empty())
      all = std::move(chunk);
    else
      all += chunk;
  }
  co_return all;
}

Task<nlohmann::json> Response::json() {
  std::string body = co_await text();
  co_return nlohmann::json::parse(body);
}

}  // namespace brigade::http
