// Connection's writing side: response heads and bodies, serialized into the exchange's output
// buffer (one send per batch of answers) or streamed with the socket's backpressure.
#include <charconv>

#include "brigade/error.hpp"
#include "brigade/http/status.hpp"
#include "connection.hpp"

namespace brigade::http::detail {

namespace {
void append_number(std::string& o, uint64_t v, int base = 10) {
  char num[24];
  o.append(num, std::to_chars(num, num + sizeof num, v, base).ptr);
}

void append_status_line(std::string& o, int status) {
  if (status == 200) {
    o += "HTTP/1.1 200 OK\r\n";
    return;
  }
  o += "HTTP/1.1 ";
  append_number(o, static_cast<uint64_t>(status));
  o += ' ';
  o += reason_phrase(status);
  o += "\r\n";
}
}  // namespace

void Connection::write_head(ServerResponse& res, Framing framing, uint64_t length) {
  std::string& o = ex->out;
  int status = res.status();
  append_status_line(o, status);
  o += res.header_lines();
  if (status_has_body(status)) {
    if (framing == Framing::kLength) {
      o += "Content-Length: ";
      append_number(o, length);
      o += "\r\n";
    } else if (framing == Framing::kChunked) {
      o += "Transfer-Encoding: chunked\r\n";
    }
  }
  o += "Date: ";
  o += core->date.get(*core->loop);
  o += "\r\n";
  uint32_t max = core->options.max_requests_per_socket;
  bool keep = ex->req.keep_alive() && !res.close_requested() && !core->closing &&
              framing != Framing::kClose && (!max || requests < max);
  if (!keep) {
    o += "Connection: close\r\n\r\n";
    close_after = true;
  } else if (!ex->req.http11()) {
    o += "Connection: keep-alive\r\n\r\n";
  } else {
    o += "\r\n";
  }
}

void Connection::finish_buffered(ServerResponse& res) {
  if (writable()) {
    const std::string& body = res.body();
    uint64_t length = body.size();
    if (res.head_only() && body.empty() && res.has_content_length()) length = res.content_length();
    write_head(res, Framing::kLength, length);
    if (!res.head_only() && status_has_body(res.status())) ex->out += body;
    if (ex->out.size() >= 64 * 1024) flush_output();  // big bodies go now, not after the batch
  }
  response_done();
}

void Connection::start_stream(ServerResponse& res) {
  if (!writable()) throw Error(EPIPE, "write");
  Framing framing = res.has_content_length() ? Framing::kLength
                    : ex->req.http11()       ? Framing::kChunked
                                             : Framing::kClose;
  chunked = framing == Framing::kChunked;
  write_head(res, framing, res.content_length());
  flush_output();
}

Task<void> Connection::write_body(ServerResponse& res, std::string_view bytes) {
  if (!writable()) throw Error(EPIPE, "write");
  if (res.head_only() || bytes.empty() || !status_has_body(res.status())) co_return;
  if (chunked) {
    append_number(ex->out, bytes.size(), 16);
    ex->out += "\r\n";
    flush_output();
  }
  if (!writable()) throw Error(EPIPE, "write");
  co_await stream.write(bytes);    // suspends while the socket's queue is above its mark
  if (chunked) ex->out += "\r\n";  // goes with the next piece or the end
}

void Connection::finish_stream(ServerResponse& res) {
  if (writable() && chunked && !res.head_only() && status_has_body(res.status()))
    ex->out += "0\r\n\r\n";
  chunked = false;
  response_done();
}

}  // namespace brigade::http::detail
