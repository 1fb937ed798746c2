// Connection: one socket's request loop. Driven by the stream's read hook (no coroutine per
// connection): read, parse every complete request in the buffer, run its handler, and hand the
// answers to the kernel in one send per read.
#include "connection.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>

#include "access.hpp"
#include "brigade/http/status.hpp"

namespace brigade::http::detail {

namespace {
constexpr std::size_t kMinRead = 1024;        // compact the read buffer when less room is left
constexpr std::size_t kBodyRoom = 16 * 1024;  // room after a head for its body's reads
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr uint64_t kDrainGraceMs = 1000;  // how long a closing connection may keep sending
constexpr uint64_t kCloseGraceMs = 1000;  // server closing: how long a new connection may take
}  // namespace

Connection::Connection(ServerCore* c, net::Stream s) : core(c), stream(std::move(s)) {
  core->add(this);
  if (core->options.no_delay) stream.set_no_delay(true);
  stream.set_read_hook(&Connection::on_readable, this);
  set_deadline(core->loop->now() + core->options.keep_alive_timeout_ms);
}

Connection::~Connection() {
  if (timer && core) core->loop->clear_timer(timer);
  if (!ex) return;
  if (core)
    core->give_exchange(reset(ex));  // it may be mid-body (a streamed request cut short)
  else
    delete ex;
}

void Connection::on_readable(void* self) { static_cast<Connection*>(self)->process(); }

void Connection::on_drain(void* self) {
  auto* c = static_cast<Connection*>(self);
  c->stream.set_drain_hook(nullptr, nullptr);
  c->paused = false;
  c->process();
}

// ---- Reading and parsing -------------------------------------------------------------------

void Connection::process() {
  if (closed) return;
  if (handling) {  // only a streamed body's reader reads the socket while a handler runs
    if (state == State::kDraining)
      discard_input();
    else if (ex && ex->body.reader)
      feed_reader();
    return;
  }
  if (paused) return;
  if (state == State::kDraining) {
    discard_input();
    maybe_destroy();
    return;
  }
  in_process = true;
  bool filled = false;  // the last read filled a buffer that can still grow: read on first
  for (;;) {
    if (ex && ex->off < ex->len && !filled && !parse_buffered()) break;
    if (!ex) acquire_exchange();
    if (!make_room()) {
      send_error(431);
      break;
    }
    std::size_t room = ex->cap - ex->len;
    long n = stream.try_read(std::span<char>(ex->buf.get() + ex->len, room));
    if (n <= 0 && filled) {  // parse what is buffered first; the read repeats (EAGAIN, EOF)
      filled = false;
      continue;
    }
    if (n == -EAGAIN) break;
    if (n <= 0) {  // the peer closed (an unfinished request is dropped) or the socket failed
      close_now();
      break;
    }
    if (state == State::kIdle) {
      state = State::kHead;
      request_start = core->loop->now();
      uint64_t limit = core->options.headers_timeout_ms;
      if (core->options.request_timeout_ms && (!limit || core->options.request_timeout_ms < limit))
        limit = core->options.request_timeout_ms;
      set_deadline(limit ? request_start + limit : 0);
    }
    ex->len += static_cast<std::size_t>(n);
    filled = static_cast<std::size_t>(n) == room && ex->cap < core->buffer_size;
  }
  in_process = false;
  if (maybe_destroy()) return;
  flush_output();
  if (closed) {
    maybe_destroy();
    return;
  }
  if (close_after && !handling && state != State::kDraining) start_draining();
  if (state == State::kDraining) {
    discard_input();
    maybe_destroy();
    return;
  }
  if (ex && !handling && state != State::kBody && ex->off == ex->len) release_exchange();
}

bool Connection::parse_buffered() {
  while (!closed && !handling && !paused && !close_after && state != State::kDraining) {
    ParseResult r = ex->parser.parse(ex->buf.get() + ex->off, ex->len - ex->off);
    ex->off += r.consumed;
    switch (r.status) {
      case ParseStatus::kNeedMore:
        if (state == State::kIdle && ex->off < ex->len) state = State::kHead;
        return true;
      case ParseStatus::kHeadersComplete:
        on_head();
        break;
      case ParseStatus::kBodyChunk:
        if (ex->body.skipping)
          skip_body(r.body.size());
        else
          buffer_body(r.body);
        break;
      case ParseStatus::kMessageComplete:
        if (ex->body.skipping) {
          ex->body = {};
          await_next_request();
        } else {
          dispatch();
        }
        break;
      case ParseStatus::kUpgraded:  // no protocol switch is offered: keep speaking HTTP
        ex->parser.reset();
        break;
      case ParseStatus::kError:
        if (ex->body.skipping)  // the answer is out: no second one
          close_now();
        else
          send_error(r.error_status);
        return false;
    }
  }
  return false;
}

void Connection::on_head() {
  if (state == State::kIdle) request_start = core->loop->now();  // the whole head was buffered
  state = State::kBody;
  ex->head_end = ex->off;
  uint64_t limit = core->options.request_timeout_ms;
  set_deadline(limit ? request_start + limit : 0);
  const Request& head = ex->parser.request();
  bool has_body = head.chunked || head.content_length > 0;
  // The head stays in place while its body is read: room for the body now, while the parser's
  // views are the only ones into the buffer (the buffer cannot move later in kBody).
  if (has_body && ex->cap - ex->head_end < kBodyRoom) grow_buffer(core->buffer_size);
  RequestAccess::bind(ex->req, &head);
  if (core->head_hook) {
    try {
      core->head_hook(ex->req);
    } catch (...) {  // a failed lookup: the request is served buffered
    }
    if (has_body && RequestAccess::stream_wanted(ex->req)) return start_body_stream();
  }
  uint64_t max = core->options.max_body_size;  // the parser's limit too, unless streaming is on
  if (max && head.content_length > max) return send_error(413);
  if (head.expect_continue && has_body) {
    ex->out += kContinue;
    flush_output();
  }
}

void Connection::buffer_body(std::string_view piece) {
  std::string& body = RequestAccess::body_buffer(ex->req);
  uint64_t max = core->options.max_body_size;
  if (max && body.size() + piece.size() > max) return send_error(413);  // chunked, parser unlimited
  body.append(piece);
}

// Room to read into; false when the head alone fills the largest buffer (the parser's limit is
// below it, so this only guards against a misconfiguration).
bool Connection::make_room() noexcept {
  std::size_t base = state == State::kBody ? ex->head_end : 0;  // the head stays in place
  if (ex->off == ex->len) {
    ex->off = ex->len = base;
  } else if (ex->cap - ex->len < kMinRead && ex->off > base) {
    std::memmove(ex->buf.get() + base, ex->buf.get() + ex->off, ex->len - ex->off);
    ex->len -= ex->off - base;
    ex->off = base;
  }
  // Before a head is complete nothing points into the buffer: it may move (in kBody it had
  // its room made in on_head).
  if (ex->cap - ex->len < ex->cap / 4 && state != State::kBody) grow_buffer(ex->cap * 2);
  return ex->len < ex->cap;
}

// A bigger read buffer (at most buffer_size) holding the same bytes at the same offsets.
bool Connection::grow_buffer(std::size_t want) noexcept {
  want = std::min(want, core->buffer_size);
  if (want <= ex->cap) return false;
  std::unique_ptr<char[]> bigger(new (std::nothrow) char[want]);
  if (!bigger) return false;
  if (ex->len) std::memcpy(bigger.get(), ex->buf.get(), ex->len);
  if (state == State::kBody) ex->parser.relocate(ex->buf.get(), bigger.get());
  ex->buf = std::move(bigger);
  ex->cap = want;
  return true;
}

// ---- Handlers ------------------------------------------------------------------------------

void Connection::dispatch() {
  state = State::kHandling;
  set_deadline(0);
  run_handler();
}

void Connection::run_handler() {
  ++requests;
  handling = true;
  ++core->stats.active_requests;
  ResponseAccess::bind(ex->res, this, ex->req.method() == Method::kHead);
  try {
    core->handler(ex->req, ex->res);
  } catch (...) {
    handler_threw();
  }
}

void Connection::handler_threw() noexcept {
  ServerResponse& res = ex->res;
  if (res.ended() && !handling) return;
  ex->body.abandoned = true;
  try {
    if (!res.headers_sent()) {
      res.reset();
      res.status(500).send("Internal Server Error");
    } else {
      res.abort();
    }
  } catch (...) {
    res.abort();
  }
}

// The handler's response has been serialized into ex->out (or the connection is gone).
void Connection::response_done() {
  if (!handling) return;
  if (ex->body.reader && core) complete_reader(-ECANCELED);  // a read still waiting elsewhere
  handling = false;
  if (core) {
    --core->stats.active_requests;
    ++core->stats.requests;
  }
  if (!core || closed) {
    if (!in_process) maybe_destroy();
    return;
  }
  after_response();
  if (in_process) return;  // process() goes on with the pipelined bytes
  flush_output();
  if (closed) {
    maybe_destroy();
    return;
  }
  if (close_after) {
    start_draining();
    maybe_destroy();
    return;
  }
  process();
}

void Connection::after_response() {
  bool unread = ex->body.active && !ex->body.complete;
  RequestAccess::clear(ex->req);
  ResponseAccess::clear(ex->res);
  if (close_after) return;
  if (unread) return skip_rest();
  ex->body = {};
  await_next_request();
}

void Connection::await_next_request() {
  if (ex->off < ex->len) {  // a pipelined request is already here
    state = State::kHead;
    request_start = core->loop->now();
    set_deadline(core->options.headers_timeout_ms ? request_start + core->options.headers_timeout_ms
                                                  : 0);
  } else {
    state = State::kIdle;
    uint64_t ka = core->options.keep_alive_timeout_ms;
    set_deadline(ka ? core->loop->now() + ka : 0);
  }
}

// ---- Writing -------------------------------------------------------------------------------

void Connection::flush_output() {
  if (!ex || ex->out.empty() || closed) return;
  int err = stream.write_nowait(ex->out);
  ex->out.clear();
  if (err) {
    close_now();
    return;
  }
  if (stream.write_queue_size() > stream.high_water_mark() && !paused) {
    paused = true;  // a peer that pipelines but does not read: stop answering until it does
    stream.set_drain_hook(&Connection::on_drain, this);
  }
}

// A bad request (or a timeout): the status, then close. The request is not trusted for anything.
void Connection::send_error(int status) {
  ++core->stats.bad_requests;
  std::string_view reason = reason_phrase(status);
  char num[24];
  std::string& o = ex->out;
  o += "HTTP/1.1 ";
  o.append(num, std::to_chars(num, num + sizeof num, status).ptr);
  o += ' ';
  o += reason;
  o += "\r\nContent-Type: text/plain\r\nContent-Length: ";
  o.append(num, std::to_chars(num, num + sizeof num, reason.size()).ptr);
  o += "\r\nDate: ";
  o += core->date.get(*core->loop);
  o += "\r\nConnection: close\r\n\r\n";
  o += reason;
  start_draining();
}

// Answered with Connection: close: half-close after the queued bytes, read until the peer
// closes (so unread input does not turn our close into a reset that loses the answer).
void Connection::start_draining() {
  flush_output();
  if (closed) return;
  state = State::kDraining;
  close_after = true;
  if (ex && !handling) release_exchange();
  stream.end();
  set_deadline(core->loop->now() + kDrainGraceMs);
  if (!in_process) discard_input();
}

void Connection::discard_input() {
  char sink[1024];
  for (;;) {
    long n = stream.try_read(std::span<char>(sink, sizeof sink));
    if (n == -EAGAIN) return;
    if (n <= 0) return close_now();  // the caller destroys
  }
}

// ---- Lifetime ------------------------------------------------------------------------------

void Connection::close_now() noexcept {
  if (closed) return;
  closed = true;
  if (ex && ex->body.reader && core) complete_reader(-ECONNRESET);
  stream.close();
  deadline = 0;
  if (core) core->remove(this);
}

bool Connection::maybe_destroy() {
  if (!closed || handling || in_process) return false;
  ServerCore* c = core;
  delete this;
  if (c) c->check_closed();
  return true;
}

// Graceful server close: idle keep-alive connections go now; the others answer with
// Connection: close. A connection with a request already in its socket, or one that has not
// sent its first request yet (handed over just before the close), gets a short grace for it:
// closing it unanswered would lose a request the client believes was accepted.
void Connection::shutdown_idle() {
  if (handling || state != State::kIdle) return;
  char peek;
  bool pending = stream.try_peek(std::span<char>(&peek, 1)) > 0;
  if (pending || requests == 0) {
    set_deadline(core->loop->now() + kCloseGraceMs);  // the readable event serves it, or it goes
    return;
  }
  close_now();
  maybe_destroy();
}

void Connection::acquire_exchange() {
  ex = core->take_exchange();
  ResponseAccess::bind(ex->res, this, false);
}

void Connection::release_exchange() { core->give_exchange(reset(std::exchange(ex, nullptr))); }

Exchange* Connection::reset(Exchange* e) noexcept {
  e->parser.reset();
  e->off = e->len = e->head_end = 0;
  e->body = {};
  RequestAccess::clear(e->req);
  ResponseAccess::clear(e->res);
  return e;
}

// ---- Timeouts: one timer, moved only when it fires or a deadline comes sooner ----------------

void Connection::set_deadline(uint64_t at) {
  deadline = at;
  if (!at || closed) return;
  if (timer_due && timer_due <= at) return;  // the timer fires first and re-arms itself
  if (timer) core->loop->clear_timer(timer);
  arm_timer(at);
}

void Connection::arm_timer(uint64_t at) {
  uint64_t now = core->loop->now();
  timer_due = at;
  timer = core->loop->set_timeout(at > now ? at - now : 1, [this] { on_timer(); });
  core->loop->unref_timer(timer);
}

void Connection::on_timer() {
  timer = {};
  timer_due = 0;
  if (!deadline || closed) return;
  if (core->loop->now() < deadline) return arm_timer(deadline);
  switch (state) {
    case State::kHead:
    case State::kBody:
      ++core->stats.timeouts;
      deadline = 0;
      if (ex && handling) {  // a streamed body too slow: its reader fails, 408 if still possible
        if (fail_body(ETIMEDOUT, 408)) --core->stats.bad_requests;
      } else if (ex && ex->body.skipping) {  // already answered
        close_now();
      } else if (ex) {
        --core->stats.bad_requests;  // counted as a timeout, not a bad request
        send_error(408);
      } else {
        close_now();
      }
      break;
    case State::kHandling:
      return;
    case State::kIdle:
    case State::kDraining:
      close_now();
      break;
  }
  maybe_destroy();
}

}  // namespace brigade::http::detail
