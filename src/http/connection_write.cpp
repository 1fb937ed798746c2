// Connection's writing side: response heads and bodies, serialized into the exchange's output
// buffer (one send per batch of answers) or streamed with the socket's backpressure.
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "access.hpp"
#include "brigade/error.hpp"
#include "brigade/http/status.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/sleep.hpp"
#include "connection.hpp"

namespace brigade::http::detail {

namespace {
void append_number(std::string& o, uint64_t v, int base = 10) {
  char num[24];
  o.append(num, std::to_chars(num, num + sizeof num, v, base).ptr);
}

// Up to `want` bytes of `fd` from `offset`, read on the pool (short only at the file's end).
Task<std::string> read_piece(int fd, uint64_t offset, uint64_t want) {
  auto read = [fd, offset, want = static_cast<std::size_t>(want)] {
    std::string piece(want, '\0');
    std::size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd, piece.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    piece.resize(got);
    return piece;
  };
  co_return co_await ThreadPool::shared().run(std::move(read));
}

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\n";
constexpr std::size_t kFixedBound = 160;  // status line (any int), framing, Date, Connection

// Writes an answer into a string through one resize and plain copies: the parts are known
// (and bounded) before writing, so no append re-checks capacity.
class AnswerWriter {
 public:
  AnswerWriter(std::string& out, std::size_t max) : out_(out) {
    std::size_t start = out.size();
    out.resize(start + max);
    p_ = out.data() + start;
  }
  ~AnswerWriter() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }
  void put(std::string_view s) noexcept {
    if (s.empty()) return;  // an empty view's data() may be null: memcpy's UB
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void number(uint64_t v) noexcept { p_ = std::to_chars(p_, p_ + 20, v).ptr; }

 private:
  std::string& out_;
  char* p_;
};

void put_status_line(AnswerWriter& w, int status) {
  if (status == 200) return w.put(kOk);
  w.put("HTTP/1.1 ");
  w.number(static_cast<uint64_t>(status));
  w.put(" ");
  w.put(reason_phrase(status));
  w.put("\r\n");
}

// Status line, the handler's headers, framing, Date and Connection, then `body`, into
// c.ex->out. Sets c.close_after when the answer says Connection: close.
void put_answer(Connection& c, ServerResponse& res, Framing framing, uint64_t length,
                std::string_view body) {
  int status = res.status();
  std::string_view reason = status == 200 ? std::string_view{} : reason_phrase(status);
  AnswerWriter w(c.ex->out, kFixedBound + reason.size() + ResponseAccess::header_lines(res).size() +
                                body.size());
  put_status_line(w, status);
  w.put(ResponseAccess::header_lines(res));
  if (status_has_body(status)) {
    if (framing == Framing::kLength) {
      w.put("Content-Length: ");
      w.number(length);
      w.put("\r\n");
    } else if (framing == Framing::kChunked) {
      w.put("Transfer-Encoding: chunked\r\n");
    }
  }
  w.put("Date: ");
  w.put(c.core->date.get(*c.core->loop));
  w.put("\r\n");
  uint32_t max = c.core->options.max_requests_per_socket;
  bool keep = c.ex->req.keep_alive() && !ResponseAccess::close_requested(res) && !c.core->closing &&
              framing != Framing::kClose && (!max || c.requests < max);
  if (!keep) {
    w.put("Connection: close\r\n\r\n");
    c.close_after = true;
  } else if (!c.ex->req.http11()) {
    w.put("Connection: keep-alive\r\n\r\n");
  } else {
    w.put("\r\n");
  }
  w.put(body);
}
}  // namespace

void Connection::write_head(ServerResponse& res, Framing framing, uint64_t length) {
  put_answer(*this, res, framing, length, {});
}

void Connection::finish_buffered(ServerResponse& res) {
  if (writable()) {
    const std::string& body = ResponseAccess::body(res);
    uint64_t length = body.size();
    if (ResponseAccess::head_only(res) && body.empty() && ResponseAccess::has_content_length(res))
      length = ResponseAccess::content_length(res);
    bool send_body = !ResponseAccess::head_only(res) && status_has_body(res.status());
    put_answer(*this, res, Framing::kLength, length, send_body ? body : std::string_view{});
    if (ex->out.size() >= 64 * 1024) flush_output();  // big bodies go now, not after the batch
  }
  response_done();
}

void Connection::start_stream(ServerResponse& res) {
  if (!writable()) throw Error(EPIPE, "write");
  if (ex->encoder) ex->encoding = ex->encoder->begin(res);  // may drop Content-Length
  Framing framing = ResponseAccess::has_content_length(res) ? Framing::kLength
                    : ex->req.http11()                      ? Framing::kChunked
                                                            : Framing::kClose;
  chunked = framing == Framing::kChunked;
  write_head(res, framing, ResponseAccess::content_length(res));
  flush_output();
}

Task<void> Connection::write_body(ServerResponse& res, std::string_view bytes) {
  if (!writable()) throw Error(EPIPE, "write");
  if (ResponseAccess::head_only(res) || bytes.empty() || !status_has_body(res.status())) co_return;
  if (ex->encoding) {  // what goes out is the encoder's output (a view into it)
    bytes = co_await ex->encoder->encode(bytes);
    if (!writable()) throw Error(EPIPE, "write");
    if (bytes.empty()) co_return;
  }
  if (chunked) {
    append_number(ex->out, bytes.size(), 16);
    ex->out += "\r\n";
    flush_output();
  }
  if (!writable()) throw Error(EPIPE, "write");
  // Suspends while the socket's queue is above its mark.
  if (io.filter)
    co_await io.filter->write(io.socket, std::span<const char>(bytes.data(), bytes.size()));
  else
    co_await io.socket.write(bytes);
  if (chunked) ex->out += "\r\n";  // goes with the next piece or the end
}

Task<void> Connection::write_file(ServerResponse& res, int fd, uint64_t offset, uint64_t count) {
  if (!writable()) throw Error(EPIPE, "write");
  if (ResponseAccess::head_only(res) || count == 0 || !status_has_body(res.status())) co_return;
  if (ex->encoding) co_return co_await write_through_memory(res, fd, offset, count);
  assert(!chunked);  // a file's length is known: its responses carry Content-Length
  flush_output();    // the head and any earlier piece go before the file's bytes
  if (!writable()) throw Error(EPIPE, "write");
  if (!io.filter) {
    // A MiB per loop turn: a fast reader on loopback never fills the socket, and one sendfile
    // loop to the end would hold the loop (and every other connection) for the whole file.
    constexpr uint64_t kTurn = 1 << 20;
    for (;;) {
      uint64_t n = std::min(count, kTurn);
      co_await io.socket.send_file(fd, offset, n);
      offset += n;
      count -= n;
      if (!count) co_return;
      co_await yield_now(loop);
      if (!writable()) throw Error(EPIPE, "write");
    }
  }
  co_await write_through_memory(res, fd, offset, count);
}

// The file a piece at a time through memory, each piece read on the pool: TLS records are made
// in user space, and an encoder must see the bytes. Each piece is written before the next read.
Task<void> Connection::write_through_memory(ServerResponse& res, int fd, uint64_t offset,
                                            uint64_t count) {
  constexpr uint64_t kPiece = 256 * 1024;
  while (count) {
    std::string piece = co_await read_piece(fd, offset, std::min(count, kPiece));
    if (!writable()) throw Error(EPIPE, "write");
    if (piece.empty()) {  // the file shrank under us: what the head promised cannot be sent
      close_now();
      throw Error(EIO, "read");
    }
    offset += piece.size();
    count -= piece.size();
    if (ex->encoding)
      co_await write_body(res, piece);
    else
      co_await io.filter->write(io.socket, std::span<const char>(piece.data(), piece.size()));
  }
}

void Connection::finish_stream(ServerResponse& res) {
  bool body = writable() && !ResponseAccess::head_only(res) && status_has_body(res.status());
  if (body && ex->encoding) {  // the encoded stream's end goes with the last chunk
    std::string_view tail = ex->encoder->finish();
    if (!tail.empty()) {
      if (chunked) {
        append_number(ex->out, tail.size(), 16);
        ex->out += "\r\n";
      }
      ex->out += tail;
      if (chunked) ex->out += "\r\n";
    }
  }
  if (body && chunked) ex->out += "0\r\n\r\n";
  chunked = false;
  response_done();
}

}  // namespace brigade::http::detail
