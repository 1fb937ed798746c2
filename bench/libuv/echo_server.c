// A minimal libuv TCP echo server: the "what one epoll thread can do" reference for bench/run.sh.
// Usage: echo_server PORT   (binds 127.0.0.1)
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

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

static void on_read(uv_stream_t* client, ssize_t nread, const uv_buf_t* buf) {
  if (nread > 0) {
    write_req_t* wr = malloc(sizeof *wr);
    wr->buf = uv_buf_init(buf->base, (unsigned)nread);
    uv_write(&wr->req, client, &wr->buf, 1, on_written);
    return;  // the write owns buf now
  }
  free(buf->base);
  if (nread < 0 && !uv_is_closing((uv_handle_t*)client)) uv_close((uv_handle_t*)client, on_close);
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  uv_tcp_t* client = malloc(sizeof *client);
  uv_tcp_init(server->loop, client);
  if (uv_accept(server, (uv_stream_t*)client) != 0) {
    uv_close((uv_handle_t*)client, on_close);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start((uv_stream_t*)client, on_alloc, on_read);
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7000;
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", port, &addr);
  int rc = uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t*)&server, 1024, on_connection);
  if (rc != 0) {
    fprintf(stderr, "echo_server: %s\n", uv_strerror(rc));
    return 1;
  }
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
