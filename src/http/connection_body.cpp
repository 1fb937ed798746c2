// Connection's streamed request bodies: the handler runs once the head is parsed and pulls the
// decoded body out of the read buffer. The socket is read only while a read waits, so a handler
// that does not read holds the client back through TCP (one buffer at most, no queue).
#include <algorithm>
#include <cstring>

#include "access.hpp"
#include "connection.hpp"

namespace brigade::http::detail {

namespace {
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr uint64_t kSkipBudget = 1024 * 1024;  // an unread rest dropped to keep the connection
}  // namespace

// The head asked for streaming and there is a body: run the handler now. The request timeout
// keeps running until the body's end (kStreaming).
void Connection::start_body_stream() {
  const Request& head = ex->parser.request();
  BodyStream& b = ex->body;
  b = {};
  b.limit = RequestAccess::stream_limit(ex->req);
  b.owe_continue = head.expect_continue;
  if (b.limit && head.content_length > b.limit) return send_error(413);
  RequestAccess::begin_stream(ex->req, this);
  handler_holds = true;
  enter(Phase::kStreaming);
  run_handler();
}

// ---- Reads -----------------------------------------------------------------------------------

long Connection::pull_body(BodyReadOp& op) {
  BodyStream& b = ex->body;
  if (b.error) return -b.error;
  if (closed()) return -ECONNRESET;
  if (b.reader) return -EBUSY;  // one read at a time
  for (;;) {
    if (!b.piece.empty()) return hand_over(op);
    if (phase != Phase::kStreaming) return 0;  // the body's end was seen
    ParseResult r = ex->parser.parse(ex->buf.get() + ex->off, ex->len - ex->off);
    ex->off += r.consumed;
    switch (r.status) {
      case ParseStatus::kBodyChunk:
        b.received += r.body.size();
        if (b.limit && b.received > b.limit) {
          fail_body(EFBIG, 413);
          return -EFBIG;
        }
        b.piece = r.body;
        continue;
      case ParseStatus::kMessageComplete:  // the next request waits until the response is done
        enter(Phase::kHandling);
        set_deadline(0);
        return 0;
      case ParseStatus::kError:
        fail_body(EBADMSG, r.error_status);
        return -EBADMSG;
      default:  // kNeedMore
        break;
    }
    long n = read_body_bytes();
    if (n <= 0) return n;
  }
}

// Copies into the reader's buffer, or hands it the whole piece as a view (zero copy).
long Connection::hand_over(BodyReadOp& op) noexcept {
  std::string_view& piece = ex->body.piece;
  std::size_t n = piece.size();
  if (op.view) {
    op.piece = piece;
  } else {
    n = std::min(n, op.buf.size());
    std::memcpy(op.buf.data(), piece.data(), n);
  }
  piece.remove_prefix(n);
  return static_cast<long>(n);
}

// One read from the socket into the buffer: > 0 bytes, -EAGAIN, or -errno (the connection is
// closed then). The first time the body is needed, answers "Expect: 100-continue".
long Connection::read_body_bytes() {
  BodyStream& b = ex->body;
  if (b.owe_continue && !ex->res.headers_sent() && !ex->res.ended()) {
    b.owe_continue = false;
    ex->out += kContinue;
    flush_output();
    if (closed()) return -ECONNRESET;
  }
  if (!make_room()) {  // unreachable: the parser keeps at most a chunk line unconsumed
    fail_body(EBADMSG, 400);
    return -EBADMSG;
  }
  long n = io.try_read(std::span<char>(ex->buf.get() + ex->len, ex->cap - ex->len));
  if (n == -EAGAIN) return n;
  if (n <= 0) {  // EOF before the body's end, or a reset
    b.error = ECONNRESET;
    close_now();
    return -ECONNRESET;
  }
  ex->len += static_cast<std::size_t>(n);
  return n;
}

void Connection::wait_body(BodyReadOp& op, std::coroutine_handle<> h) noexcept {
  op.waiter = h;
  op.linked = true;
  ex->body.reader = &op;
}

// The socket became readable while a read waits.
void Connection::feed_reader() {
  BodyReadOp* op = std::exchange(ex->body.reader, nullptr);  // pulls as if it were new
  long r = pull_body(*op);
  if (r == -EAGAIN && !closed()) {
    ex->body.reader = op;
    return;
  }
  ex->body.reader = op;
  complete_reader(r);
}

// The waiting read is done: it resumes from the microtask queue, never inside our callbacks.
void Connection::complete_reader(long result) noexcept {
  BodyReadOp* op = std::exchange(ex->body.reader, nullptr);
  op->result = result;
  op->linked = false;
  loop->queue_microtask([h = op->waiter] { h.resume(); });
}

void Connection::drop_reader(BodyReadOp& op) noexcept {
  if (ex && ex->body.reader == &op) ex->body.reader = nullptr;
  op.linked = false;
}

// ---- Failures and the end of the exchange ---------------------------------------------------

// The body cannot be finished: every read fails with `err`. Before any answer, the client gets
// `status` and the connection closes (the handler's answer is dropped: writable() is false);
// after, the connection closes once the response is done. True if `status` was sent.
bool Connection::fail_body(int err, int status) {
  BodyStream& b = ex->body;
  b.error = err;
  bool answer = !ex->res.headers_sent() && !ex->res.ended() && !closed();
  if (answer)
    send_error(status);
  else
    close_after = true;
  if (b.reader) complete_reader(-err);
  return answer;
}

bool Connection::body_keeps_alive() const noexcept {
  const BodyStream& b = ex->body;
  if (phase == Phase::kHandling) return true;  // the body's end was seen
  // An unanswered "Expect: 100-continue": the client may or may not send the body.
  return !b.error && !b.abandoned && !b.owe_continue;
}

void Connection::abandon_body() noexcept { ex->body.abandoned = true; }

std::size_t Connection::body_buffered() const noexcept {
  if (closed() || !ex) return 0;
  return ex->body.piece.size() + (ex->len - ex->off);
}

// The response is done before the body: drop a small rest and keep the connection (parsing
// resumes in kSkipping), or close.
void Connection::skip_rest() {
  const BodyStream& b = ex->body;
  const Request& head = ex->parser.request();
  uint64_t rest = head.chunked ? 0 : head.content_length - b.received;
  if (!body_keeps_alive() || rest > kSkipBudget) {
    close_after = true;
    return;
  }
  ex->body = {};
  ex->head_end = 0;  // the head is not needed any more: the buffer is all for the body
  enter(Phase::kSkipping);
}

void Connection::skip_body(std::size_t n) {
  ex->body.skipped += n;
  if (ex->body.skipped > kSkipBudget) close_after = true;  // parse_buffered stops
}

}  // namespace brigade::http::detail
