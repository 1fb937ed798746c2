#pragma once
// One fetch: its curl easy handle, the answer as it arrives, and the coroutine waiting on it
// (fetch for the head, then a reader for the body). Shared by the Response and, while curl
// drives it, the Client.
#include <curl/curl.h>

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "brigade/http/fetch.hpp"
#include "brigade/task/sleep.hpp"

namespace brigade::http::detail {

struct ClientCore;

struct Transfer : std::enable_shared_from_this<Transfer> {
  struct OnStop {
    Transfer* self;
    void operator()() const;
  };

  ClientCore* core = nullptr;  // null once the transfer has left the client
  Loop* loop = nullptr;
  CURL* easy = nullptr;
  curl_slist* request_headers = nullptr;
  std::string url;
  std::string body;  // curl reads the request body from here (POSTFIELDS does not copy)
  // A streamed request body: its source (shared with the coroutine pulling a piece, which may
  // outlive the transfer), the piece curl is reading and how far it got.
  std::shared_ptr<std::function<Task<std::string>()>> body_source;
  std::string piece;
  std::size_t piece_sent = 0;
  bool pulling = false;     // the source is making the next piece; sending is paused
  bool body_ended = false;  // the source returned an empty piece
  bool send_paused = false;
  char error_buffer[CURL_ERROR_SIZE] = {};

  Redirect redirect = Redirect::kFollow;
  std::size_t max_response_size = 0;
  std::size_t max_header_size = 0;
  std::size_t high_water = 0;

  // The answer.
  int status = 0;
  std::string status_text;
  FetchHeaders headers;
  std::string final_url;
  bool redirected = false;
  std::size_t header_bytes = 0;
  std::size_t body_bytes = 0;
  std::string buffer;  // body bytes not read yet

  bool in_multi = false;
  bool counted = false;    // holds a loop reference
  bool head_done = false;  // the final answer's headers are in: fetch resolves
  bool following = false;  // the current answer is a redirect curl follows
  bool paused = false;     // the write callback paused the transfer (the reader is behind)
  bool done = false;       // no more body will come
  bool wake_pending = false;
  std::exception_ptr error;
  // Set by a callback that makes curl fail (a cap passed, Redirect::kError).
  std::optional<FetchError> abort_reason;

  std::coroutine_handle<> waiter;
  std::optional<brigade::detail::StopWatch<OnStop>> stop;

  ~Transfer();

  // Resumes the waiting coroutine in a microtask: never inside a curl callback. An awaiter
  // destroyed meanwhile clears `waiter`, and the microtask then resumes nothing.
  void wake();
  // Ends the transfer now (a stop, a dropped Response, the client closing).
  void abort(std::exception_ptr e);
  // curl finished it (CURLMSG_DONE).
  void complete(CURLcode result);
  // The reader took the buffer: let curl deliver again.
  void resume_if_paused();
  // curl wants more of a streamed request body: pull the next piece (from a microtask).
  void pull_piece();
  // Tells curl which directions are paused now.
  void apply_pause();
  std::exception_ptr error_for(CURLcode result) const;
};

}  // namespace brigade::http::detail
