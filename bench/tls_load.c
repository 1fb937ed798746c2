// HTTPS keep-alive load generator: CONNS TLS connections on one epoll thread, each sending
// `GET PATH` and waiting for the whole answer (Content-Length) before the next, for SECONDS.
// wrk with one thread tops out near 68k TLS requests/s on this machine's other core, below what
// a fast server answers; this client does only the TLS and the framing, so the server is the
// bound. The same client drives every server in bench/run.sh. Certificates are not verified.
// Usage: tls_load PORT [CONNS=50] [SECONDS=5] [PATH=/]   (connects to 127.0.0.1)
// Prints: "requests N", "seconds S", "req_per_s R".
#define _GNU_SOURCE  // memmem
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxConns = 10000, kBufSize = 65536 };

typedef struct {
  int fd;
  SSL* ssl;
  int ready;    // handshake done
  size_t have;  // bytes of the current answer read so far
  long need;    // the answer's whole size once its head is in, else -1
  char buf[kBufSize];
} conn_t;

static char request[512];
static size_t request_len;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);  // SSL_read says WANT_READ, never waits
  return fd;
}

// The answer's total size (head + Content-Length) once the head is complete, else -1; -2 when
// the head has no Content-Length (this client reads only framed answers).
static long answer_size(const char* p, size_t n) {
  const char* end = memmem(p, n, "\r\n\r\n", 4);
  if (!end) return -1;
  size_t head = (size_t)(end - p) + 4;
  for (const char* line = p; line < end;) {
    const char* eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
    if (eol - line > 15 && strncasecmp(line, "content-length:", 15) == 0)
      return (long)head + atol(line + 15);
    line = eol + 2;
  }
  return -2;
}

static int send_request(conn_t* c) {
  int w = SSL_write(c->ssl, request, (int)request_len);
  if (w == (int)request_len) return 0;
  fprintf(stderr, "tls_load: SSL_write: error %d\n", SSL_get_error(c->ssl, w));
  return -1;  // a 40-byte request never meets a full socket buffer in a ping-pong
}

// Reads what is there (after the handshake); returns answers completed, or -1 when the connection
// failed.
static long on_readable(conn_t* c) {
  long done = 0;
  for (;;) {
    int r = SSL_read(c->ssl, c->buf + c->have, (int)(sizeof c->buf - c->have));
    if (r <= 0) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ) return done;
      fprintf(stderr, "tls_load: read failed (%d)\n", e);
      return -1;
    }
    c->have += (size_t)r;
    if (c->need < 0) c->need = answer_size(c->buf, c->have);
    if (c->need == -2 || (c->need < 0 && c->have == sizeof c->buf)) {
      fprintf(stderr, "tls_load: an answer without Content-Length, or a head over 64 KiB\n");
      return -1;
    }
    if (c->need >= 0 && c->have >= (size_t)c->need) {
      if (c->have > (size_t)c->need) {
        fprintf(stderr, "tls_load: bytes past the answer (the server sent more than one)\n");
        return -1;
      }
      ++done;
      c->have = 0;
      c->need = -1;
      if (send_request(c) != 0) return -1;
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tls_load PORT [CONNS=50] [SECONDS=5] [PATH=/]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int nconns = argc > 2 ? atoi(argv[2]) : 50;
  double seconds = argc > 3 ? atof(argv[3]) : 5.0;
  const char* path = argc > 4 ? argv[4] : "/";
  if (nconns < 1 || nconns > kMaxConns || seconds <= 0 || strlen(path) > 256) {
    fprintf(stderr, "tls_load: bad arguments\n");
    return 2;
  }
  request_len = (size_t)snprintf(request, sizeof request,
                                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_read_ahead(ctx, 1);  // one read per answer, not a record header and then its body
  conn_t* conns = calloc((size_t)nconns, sizeof *conns);
  int ep = epoll_create1(0);
  for (int i = 0; i < nconns; ++i) {
    conn_t* c = &conns[i];
    c->fd = connect_to(port);
    if (c->fd < 0) {
      fprintf(stderr, "tls_load: connect 127.0.0.1:%d: %s\n", port, strerror(errno));
      return 1;
    }
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_connect_state(c->ssl);
    c->need = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }

  // Handshakes first (the ClientHello goes out blocking-free: the socket buffer is empty), then
  // the measured window starts with every connection's first request.
  int failed = 0, ready = 0;
  for (int i = 0; i < nconns; ++i) SSL_do_handshake(conns[i].ssl);
  struct epoll_event events[256];
  double handshake_deadline = now_s() + 10;
  while (!failed && ready < nconns && now_s() < handshake_deadline) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      conn_t* c = events[i].data.ptr;
      if (c->ready) continue;
      int r = SSL_do_handshake(c->ssl);
      if (r == 1) {
        c->ready = 1;
        ++ready;
      } else if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ) {
        failed = 1;
      }
    }
  }
  if (failed || ready < nconns) {
    fprintf(stderr, "tls_load: %d of %d handshakes done\n", ready, nconns);
    ERR_print_errors_fp(stderr);
    return 1;
  }

  long answers = 0;
  double start = now_s(), deadline = start + seconds;
  for (int i = 0; i < nconns; ++i)
    if (send_request(&conns[i]) != 0) failed = 1;
  double t = start;
  while (!failed && t < deadline) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      long done = on_readable(events[i].data.ptr);
      if (done < 0)
        failed = 1;
      else
        answers += done;
    }
    t = now_s();
  }
  double elapsed = t - start;

  for (int i = 0; i < nconns; ++i) {
    SSL_free(conns[i].ssl);
    close(conns[i].fd);
  }
  close(ep);
  free(conns);
  SSL_CTX_free(ctx);
  if (failed) {
    fprintf(stderr, "tls_load: a connection failed after %ld answers\n", answers);
    return 1;
  }
  printf("requests %ld\nseconds %.3f\nreq_per_s %.0f\n", answers, elapsed,
         (double)answers / elapsed);
  return 0;
}
