#pragma once
// Server-Sent Events (the browser's EventSource): a long-lived text/event-stream answer.
//
//   app.get("/events", [](Req& req, Res& res) -> Task<void> {
//     http::EventStream events = res.event_stream({.heartbeat_ms = 15000, .retry_ms = 2000});
//     uint64_t next = events.last_event_id().empty() ? 0 : std::stoull(...);  // a reconnect
//     for (;;) {
//       co_await events.send(figures().dump(), "figures", std::to_string(next++));
//       if (!co_await events.wait(1000)) break;   // the client went, or the server is closing
//     }
//   });                                           // the stream ends when `events` goes
//
// The head (200, Content-Type: text/event-stream, Cache-Control: no-cache, chunked) goes with
// the first send(), comment() or wait(). wait(ms) sends a heartbeat comment whenever nothing was
// sent for heartbeat_ms (proxies and browsers then keep the connection) and returns false at
// once when the stream should end: the client closed its side (seen on the socket, no write
// needed), the socket failed, or the Server is closing gracefully (Server::close() waits for
// running handlers: a stream must end for the close to finish). send() on a stream whose client
// is gone throws Error(EPIPE). Destroying the EventStream ends the response.
#include <cstdint>
#include <string>
#include <string_view>

#include "brigade/http/server_response.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

struct EventStreamOptions {
  uint64_t heartbeat_ms = 15000;  // 0: no heartbeats
  uint64_t retry_ms = 0;          // sent first as "retry:" (the client's reconnect delay); 0: not
};

class EventStream {
 public:
  EventStream(ServerResponse& res, EventStreamOptions options);
  EventStream(EventStream&& o) noexcept;
  EventStream& operator=(EventStream&&) = delete;
  ~EventStream() { end(); }

  // The Last-Event-ID header the client reconnected with; empty on a first connection.
  const std::string& last_event_id() const noexcept { return last_event_id_; }

  // One event: "id:", "event:" (when not empty) and a "data:" line per line of `data`.
  Task<void> send(std::string_view data, std::string_view event = {}, std::string_view id = {});
  // A comment line (": text"), ignored by EventSource.
  Task<void> comment(std::string_view text);
  // Waits up to `ms`, sending heartbeats as due; false once the stream should end.
  Task<bool> wait(uint64_t ms);
  // Neither the client went nor the server is closing.
  bool open() const noexcept;
  // Ends the response (idempotent).
  void end() noexcept;

 private:
  Task<void> write(std::string text);
  std::string head_extras();

  ServerResponse* res_;
  EventStreamOptions options_;
  std::string last_event_id_;
  uint64_t last_write_ms_ = 0;
  bool started_ = false;
};

}  // namespace brigade::http
