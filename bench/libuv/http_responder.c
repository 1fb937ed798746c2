// A minimal libuv HTTP responder: one fixed "Hello, World!" response per request end ("\r\n\r\n"),
// keep-alive, so pipelined requests each get their answer. No parsing beyond that: it is the
// ceiling one epoll thread reaches, the reference brigade's and Node's HTTP servers are set
// against. Usage: http_responder PORT   (binds 127.0.0.1)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char kResponse[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "Hello, World!";
#define RESPONSE_LEN (sizeof kResponse - 1)

// Per connection: how far into "\r\n\r\n" the bytes read so far have matched (survives reads).
typedef struct {
  uv_tcp_t tcp;
  int matched;
} conn_t;

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} write_req_t;

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_close(uv_handle_t* handle) { free(handle); }

static void on_written(uv_write_t* req, int status) {
  write_req_t* wr = (write_req_t*)req;
  uv_handle_t* stream = (uv_handle_t*)req->handle;
  free(wr->buf.base);
  free(wr);
  if (status < 0 && !uv_is_closing(stream)) uv_close(stream, on_close);
}

// Counts request ends in [p, p+n), carrying the partial match of "\r\n\r\n" across reads.
static size_t count_request_ends(conn_t* c, const char* p, size_t n) {
  static const char kEnd[] = "\r\n\r\n";
  size_t ends = 0;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == kEnd[c->matched]) {
      if (++c->matched == 4) {
        ++ends;
        c->matched = 0;
      }
    } else {
      c->matched = p[i] == '\r' ? 1 : 0;
    }
  }
  return ends;
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  conn_t* c = (conn_t*)stream;
  if (nread > 0) {
    size_t ends = count_request_ends(c, buf->base, (size_t)nread);
    if (ends > 0) {
      write_req_t* wr = malloc(sizeof *wr);
      wr->buf = uv_buf_init(malloc(ends * RESPONSE_LEN), (unsigned)(ends * RESPONSE_LEN));
      for (size_t i = 0; i < ends; ++i)
        memcpy(wr->buf.base + i * RESPONSE_LEN, kResponse, RESPONSE_LEN);
      uv_write(&wr->req, stream, &wr->buf, 1, on_written);  // one write for the whole batch
    }
  } else if (nread < 0 && !uv_is_closing((uv_handle_t*)stream)) {
    uv_close((uv_handle_t*)stream, on_close);
  }
  free(buf->base);
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  conn_t* c = calloc(1, sizeof *c);
  uv_tcp_init(server->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t*)&c->tcp) != 0) {
    uv_close((uv_handle_t*)&c->tcp, on_close);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", port, &addr);
  int rc = uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t*)&server, 4096, on_connection);
  if (rc != 0) {
    fprintf(stderr, "http_responder: %s\n", uv_strerror(rc));
    return 1;
  }
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
