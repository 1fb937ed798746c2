// Connection: one socket's request loop. Driven by the stream's read hook (no coroutine per
// connection): read, parse every complete request in the buffer, run its handler, and hand the
// answers to the kernel in one send per read.
#include "connection.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstring>
#include <new>

#include "access.hpp"
#include "brigade/error.hpp"
#include "brigade/http/status.hpp"

namespace brigade::http::detail {

namespace {
constexpr std::size_t kMinRead = 1024;        // compact the read buffer when less room is left
constexpr std::size_t kBodyRoom = 16 * 1024;  // room after a head for its body's reads
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr uint64_t kDrainGraceMs = 1000;  // how long a closing connection may keep sending
constexpr uint64_t kCloseGraceMs = 1000;  // server closing: how long a new connection may take
}  // namespace

// ---- Phases ----------------------------------------------------------------------------------

namespace {
constexpr uint16_t bit(Phase p) { return static_cast<uint16_t>(1u << static_cast<unsigned>(p)); }

// kTransitions[from]: the phases `from` may move to. The one place the state machine is written.
constexpr uint16_t kTransitions[kPhaseCount] = {
    /* kIdle      */ bit(Phase::kHead) | bit(Phase::kClosed),
    /* kHead      */ bit(Phase::kBody) | bit(Phase::kDraining) | bit(Phase::kClosed),
    /* kBody      */ bit(Phase::kHandling) | bit(Phase::kStreaming) | bit(Phase::kDraining) |
        bit(Phase::kClosed),
    /* kHandling  */ bit(Phase::kIdle) | bit(Phase::kHead) | bit(Phase::kDraining) |
        bit(Phase::kClosed) | bit(Phase::kUpgraded),
    /* kStreaming */ bit(Phase::kHandling) | bit(Phase::kSkipping) | bit(Phase::kDraining) |
        bit(Phase::kClosed),
    /* kSkipping  */ bit(Phase::kIdle) | bit(Phase::kHead) | bit(Phase::kDraining) |
        bit(Phase::kClosed),
    /* kDraining  */ bit(Phase::kClosed),
    /* kClosed    */ 0,
    /* kUpgraded  */ 0,
};
}  // namespace

bool legal_transition(Phase from, Phase to) noexcept {
  return kTransitions[static_cast<int>(from)] & bit(to);
}

const char* phase_name(Phase p) noexcept {
  static constexpr const char* kNames[kPhaseCount] = {"idle",     "head",      "body",
                                                      "handling", "streaming", "skipping",
                                                      "draining", "closed",    "upgraded"};
  return kNames[static_cast<int>(p)];
}

void Connection::enter(Phase to) noexcept {
  assert(legal_transition(phase, to));
  // A handler runs exactly in kHandling/kStreaming, and may still hold a closed connection.
  assert(to != Phase::kHandling && to != Phase::kStreaming ? true : handler_holds);
  if (observer) [[unlikely]]
    observer(phase, to);
  phase = to;
}

Connection::Connection(ServerCore* c, Transport t) : core(c), loop(c->loop), io(std::move(t)) {
  core->add(this);
  if (core->options.no_delay) io.socket.set_no_delay(true);
  io.socket.set_read_hook(&Connection::on_readable, this);
  set_deadline(loop->now() + core->options.keep_alive_timeout_ms);
}

// Runs from the loop's close queue (or with it): everything shared was given back in retire().
Connection::~Connection() { delete ex; }

void Connection::on_readable(void* self) { static_cast<Connection*>(self)->process(); }

void Connection::on_drain(void* self) {
  auto* c = static_cast<Connection*>(self);
  c->io.socket.set_drain_hook(nullptr, nullptr);
  c->paused = false;
  c->process();
}

// ---- Reading and parsing -------------------------------------------------------------------

void Connection::process() {
  switch (phase) {
    case Phase::kClosed:
    case Phase::kUpgraded:
      return;
    case Phase::kDraining:
      return discard_input();
    case Phase::kHandling:
    case Phase::kStreaming:  // only a streamed body's reader reads the socket while a handler runs
      if (ex && ex->body.reader) feed_reader();
      return;
    default:
      break;
  }
  if (handler_holds || paused) return;  // a handler ending its answer early (kSkipping)
  in_process = true;
  bool filled = false;  // the last read filled a buffer that can still grow: read on first
  for (;;) {
    if (ex && ex->off < ex->len && !filled && !parse_buffered()) break;
    if (closed()) break;  // a handler closed it, or destroyed the server
    if (!ex) acquire_exchange();
    if (!make_room()) {
      send_error(431);
      break;
    }
    std::size_t room = ex->cap - ex->len;
    long n = io.try_read(std::span<char>(ex->buf.get() + ex->len, room));
    if (n <= 0 && filled) {  // parse what is buffered first; the read repeats (EAGAIN, EOF)
      filled = false;
      continue;
    }
    if (n == -EAGAIN) break;
    if (n <= 0) {  // the peer closed (an unfinished request is dropped) or the socket failed
      close_now();
      break;
    }
    if (phase == Phase::kIdle) {
      enter(Phase::kHead);
      request_start = loop->now();
      request_start_ns = loop->now_ns();
      uint64_t limit = core->options.headers_timeout_ms;
      if (core->options.request_timeout_ms && (!limit || core->options.request_timeout_ms < limit))
        limit = core->options.request_timeout_ms;
      set_deadline(limit ? request_start + limit : 0);
    }
    ex->len += static_cast<std::size_t>(n);
    filled = static_cast<std::size_t>(n) == room && ex->cap < core->buffer_size;
  }
  in_process = false;
  settle();
}

// After a batch (or an answer finished outside process()): the answers go out in one send, and
// the connection moves on to whatever its phase asks next.
void Connection::settle() {
  if (closed()) return retire();
  flush_output();
  if (closed()) return retire();
  if (close_after && !handler_holds && phase != Phase::kDraining) start_draining();
  if (phase == Phase::kDraining) {  // even while a handler runs: the read edge must be consumed
    if (ex && !handler_holds) release_exchange();
    discard_input();
    if (closed()) retire();
    return;
  }
  if (handler_holds) return;  // the handler's answer comes later (response_done settles again)
  if (ex && (phase == Phase::kIdle || phase == Phase::kHead) && ex->off == ex->len)
    release_exchange();
}

// Whether the buffered bytes may be parsed now: not while a handler runs (one request at a
// time), the output waits for the peer, or the answer already says close.
bool Connection::parsing() const noexcept {
  return !handler_holds && !paused && !close_after &&
         (phase == Phase::kIdle || phase == Phase::kHead || phase == Phase::kBody ||
          phase == Phase::kSkipping);
}

bool Connection::parse_buffered() {
  while (parsing()) {
    ParseResult r = ex->parser.parse(ex->buf.get() + ex->off, ex->len - ex->off);
    ex->off += r.consumed;
    switch (r.status) {
      case ParseStatus::kNeedMore:
        if (phase == Phase::kIdle && ex->off < ex->len) enter(Phase::kHead);
        return true;
      case ParseStatus::kHeadersComplete:
        on_head();
        break;
      case ParseStatus::kBodyChunk:
        if (phase == Phase::kSkipping)
          skip_body(r.body.size());
        else
          buffer_body(r.body);
        break;
      case ParseStatus::kMessageComplete:
        if (phase == Phase::kSkipping) {
          ex->body = {};
          await_next_request();
        } else {
          dispatch();
        }
        break;
      case ParseStatus::kUpgraded:  // no handler took the socket (hand_off): keep speaking HTTP
        ex->parser.reset();
        break;
      case ParseStatus::kError:
        if (phase == Phase::kSkipping)  // the answer is out: no second one
          close_now();
        else
          send_error(r.error_status);
        return false;
    }
  }
  return false;
}

void Connection::on_head() {
  if (phase == Phase::kIdle) {  // the head came whole with the bytes of an earlier request
    enter(Phase::kHead);
    request_start = loop->now();
    request_start_ns = loop->now_ns();
  }
  enter(Phase::kBody);
  ex->head_end = ex->off;
  uint64_t limit = core->options.request_timeout_ms;
  set_deadline(limit ? request_start + limit : 0);
  const Request& head = ex->parser.request();
  bool has_body = head.chunked || head.content_length > 0;
  // The head stays in place while its body is read: room for the body now, while the parser's
  // views are the only ones into the buffer (the buffer cannot move later in kBody).
  if (has_body && ex->cap - ex->head_end < kBodyRoom) grow_buffer(core->buffer_size);
  RequestAccess::bind(ex->req, &head);
  RequestAccess::set_received(ex->req, request_start_ns);
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
  // While a head's body is read (buffered or streamed) the head stays in place; while a body
  // is read (skipped too) the parser points into the buffer: it must not move.
  bool head_kept = phase == Phase::kBody || phase == Phase::kStreaming;
  bool fixed = head_kept || phase == Phase::kSkipping;
  std::size_t base = head_kept ? ex->head_end : 0;
  if (ex->off == ex->len) {
    ex->off = ex->len = base;
  } else if (ex->cap - ex->len < kMinRead && ex->off > base) {
    std::memmove(ex->buf.get() + base, ex->buf.get() + ex->off, ex->len - ex->off);
    ex->len -= ex->off - base;
    ex->off = base;
  }
  // Before a head is complete nothing points into the buffer: it may move (with a head kept it
  // had its room made in on_head).
  if (ex->cap - ex->len < ex->cap / 4 && !fixed) grow_buffer(ex->cap * 2);
  return ex->len < ex->cap;
}

// A bigger read buffer (at most buffer_size) holding the same bytes at the same offsets.
bool Connection::grow_buffer(std::size_t want) noexcept {
  want = std::min(want, core->buffer_size);
  if (want <= ex->cap) return false;
  std::unique_ptr<char[]> bigger(new (std::nothrow) char[want]);
  if (!bigger) return false;
  if (ex->len) std::memcpy(bigger.get(), ex->buf.get(), ex->len);
  if (phase == Phase::kBody || phase == Phase::kStreaming || phase == Phase::kSkipping)
    ex->parser.relocate(ex->buf.get(), bigger.get());
  ex->buf = std::move(bigger);
  ex->cap = want;
  return true;
}

// ---- Handlers ------------------------------------------------------------------------------

void Connection::dispatch() {
  set_deadline(0);
  handler_holds = true;
  enter(Phase::kHandling);
  run_handler();
}

void Connection::run_handler() {
  ++requests;
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
  if (res.ended() && !handler_holds) return;
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
  if (!handler_holds) return;
  // A handler ends in its own phase, or after its connection failed or was handed off.
  assert(phase == Phase::kHandling || phase == Phase::kStreaming || phase == Phase::kDraining ||
         closed());
  if (ex->body.reader) complete_reader(-ECANCELED);  // a read still waiting elsewhere
  handler_holds = false;
  if (core) {
    --core->stats.active_requests;
    ++core->stats.requests;
  }
  if (!core) {  // the server is gone: nothing more to answer
    if (!closed()) close_now();
    return retire();
  }
  // A streamed answer's head promised keep-alive before a graceful close began: close now.
  if (core->closing) close_after = true;
  if (!closed()) after_response();
  if (in_process) return;  // process() goes on with the pipelined bytes, then settles
  flush_output();
  if (closed() || close_after) return settle();
  process();
}

void Connection::after_response() {
  bool unread = phase == Phase::kStreaming;  // the body's end not seen yet
  RequestAccess::clear(ex->req);
  ResponseAccess::clear(ex->res);
  ex->encoder.reset();
  ex->encoding = false;
  if (close_after || phase == Phase::kDraining) return;  // settle() drains
  if (unread) return skip_rest();
  ex->body = {};
  await_next_request();
}

void Connection::await_next_request() {
  if (ex->off < ex->len) {  // a pipelined request is already here
    enter(Phase::kHead);
    request_start = loop->now();
    request_start_ns = loop->now_ns();
    set_deadline(core->options.headers_timeout_ms ? request_start + core->options.headers_timeout_ms
                                                  : 0);
  } else {
    enter(Phase::kIdle);
    uint64_t ka = core->options.keep_alive_timeout_ms;
    set_deadline(ka ? loop->now() + ka : 0);
  }
}

// ---- Writing -------------------------------------------------------------------------------

void Connection::flush_output() {
  if (!ex || ex->out.empty() || closed()) return;
  int err = io.write_nowait(ex->out);
  ex->out.clear();
  if (err) {
    close_now();
    return;
  }
  if (io.socket.write_queue_size() > io.socket.high_water_mark() && !paused) {
    paused = true;  // a peer that pipelines but does not read: stop answering until it does
    io.socket.set_drain_hook(&Connection::on_drain, this);
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
  o += core->date.get(*loop);
  o += "\r\nConnection: close\r\n\r\n";
  o += reason;
  start_draining();
}

// Answered with Connection: close: half-close after the queued bytes, read until the peer
// closes (so unread input does not turn our close into a reset that loses the answer).
void Connection::start_draining() {
  flush_output();
  if (closed() || phase == Phase::kDraining) return;
  enter(Phase::kDraining);
  close_after = true;
  if (ex && !handler_holds) release_exchange();
  io.end();
  set_deadline(loop->now() + kDrainGraceMs);
  if (!in_process) discard_input();
}

void Connection::discard_input() {
  char sink[1024];
  for (;;) {
    long n = io.try_read(std::span<char>(sink, sizeof sink));
    if (n == -EAGAIN) return;
    if (n <= 0) return close_now();
  }
}

// ---- Lifetime ------------------------------------------------------------------------------

// Closes the socket now; the object itself goes in the close phase (retire), once no handler
// holds it. Safe from any callback: nothing is freed before the current one returns.
void Connection::close_now() noexcept {
  if (closed()) return;
  enter(Phase::kClosed);
  if (ex && ex->body.reader) complete_reader(-ECONNRESET);  // even with the server gone
  io.close();
  deadline = 0;
  if (timer) loop->clear_timer(timer);
  timer = {};
  timer_due = 0;
  if (core) core->closed(this);
  if (!handler_holds && !in_process) retire();
}

// Closed and unheld: off the server's list, the exchange back to its pool, and the object to the
// loop's close queue, which owns it from now on (destroyed after this iteration's callbacks, or
// with the loop). Idempotent: `next == this` marks a retired connection.
void Connection::retire() noexcept {
  if (!closed() || handler_holds || in_process || next == this) return;
  ServerCore* c = core;
  if (c) {
    c->unlink(this);
    if (ex) c->give_exchange(reset(std::exchange(ex, nullptr)));  // it may be mid-body
  }
  assert(!ex || !ex->body.reader);  // a waiting read was completed at close
  prev = next = this;
  loop->on_close([self = std::unique_ptr<Connection>(this)] {});
  if (c && !c->closing_all) c->check_closed();  // last: its callback may destroy the server
}

void Connection::detach_core() noexcept {
  if (timer) loop->clear_timer(timer);
  timer = {};
  core = nullptr;
}

HandOff Connection::hand_off() {
  assert(phase == Phase::kHandling && handler_holds);
  flush_output();  // earlier pipelined answers go first
  if (closed() || phase != Phase::kHandling) throw Error(EPIPE, "hand_off");
  HandOff out;
  out.buffered.assign(ex->buf.get() + ex->off, ex->len - ex->off);
  ex->off = ex->len;
  io.socket.set_read_hook(nullptr, nullptr);
  io.socket.set_drain_hook(nullptr, nullptr);
  paused = false;
  out.transport = std::move(io);
  enter(Phase::kUpgraded);
  deadline = 0;
  if (timer) loop->clear_timer(timer);
  timer = {};
  timer_due = 0;
  if (core) core->closed(this);  // no longer the server's: not counted, not closed with it
  return out;
}

// Graceful server close: idle keep-alive connections go now; the others answer with
// Connection: close. A connection with a request already in its socket, or one that has not
// sent its first request yet (handed over just before the close), gets a short grace for it:
// closing it unanswered would lose a request the client believes was accepted.
void Connection::shutdown_idle() {
  if (handler_holds || phase != Phase::kIdle) return;
  char peek;
  bool pending = io.try_peek(std::span<char>(&peek, 1)) > 0;
  if (pending || requests == 0) {
    set_deadline(loop->now() + kCloseGraceMs);  // the readable event serves it, or it goes
    return;
  }
  close_now();
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
  e->encoder.reset();
  e->encoding = false;
  RequestAccess::clear(e->req);
  ResponseAccess::clear(e->res);
  return e;
}

// ---- Timeouts: one timer, moved only when it fires or a deadline comes sooner ----------------

void Connection::set_deadline(uint64_t at) {
  deadline = at;
  if (!at || closed()) return;
  if (timer_due && timer_due <= at) return;  // the timer fires first and re-arms itself
  if (timer) loop->clear_timer(timer);
  arm_timer(at);
}

void Connection::arm_timer(uint64_t at) {
  uint64_t now = loop->now();
  timer_due = at;
  timer = loop->set_timeout(at > now ? at - now : 1, [this] { on_timer(); });
  loop->unref_timer(timer);
}

void Connection::on_timer() {
  timer = {};
  timer_due = 0;
  if (!deadline || closed()) return;
  if (loop->now() < deadline) return arm_timer(deadline);
  switch (phase) {
    case Phase::kStreaming:  // a streamed body too slow: its reader fails, 408 if still possible
      ++core->stats.timeouts;
      deadline = 0;
      if (fail_body(ETIMEDOUT, 408)) --core->stats.bad_requests;
      break;
    case Phase::kSkipping:  // already answered
      ++core->stats.timeouts;
      close_now();
      break;
    case Phase::kHead:
    case Phase::kBody:
      ++core->stats.timeouts;
      deadline = 0;
      if (ex) {
        --core->stats.bad_requests;  // counted as a timeout, not a bad request
        send_error(408);
      } else {
        close_now();
      }
      break;
    case Phase::kHandling:
      return;
    case Phase::kIdle:
    case Phase::kDraining:
      close_now();
      break;
    case Phase::kClosed:
    case Phase::kUpgraded:
      return;
  }
  if (!in_process) settle();
}

}  // namespace brigade::http::detail
