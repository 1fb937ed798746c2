// TCP echo load generator: CONNS connections on one epoll thread, each ping-ponging a SIZE-byte
// message (send, wait for all of it back, send again) for SECONDS. The same client drives
// brigade's, Node's and libuv's echo servers in bench/run.sh.
// Usage: echo_client PORT [CONNS=50] [SECONDS=5] [SIZE=64]   (connects to 127.0.0.1)
// Prints: "round_trips N", "seconds S", "rt_per_s R".
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxConns = 10000, kMaxSize = 65536 };

typedef struct {
  int fd;
  size_t received;  // bytes of the current echo back so far
} conn_t;

static char message[kMaxSize];
static char scratch[kMaxSize];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;  // a ping-pong never fills the socket buffer: EAGAIN is an error here
    p += w;
    n -= (size_t)w;
  }
  return 0;
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
  return fd;
}

// Reads what is there; returns round trips completed, or -1 when the connection is gone.
static long on_readable(conn_t* c, size_t size) {
  long done = 0;
  for (;;) {
    ssize_t r = recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return done;
    if (r <= 0) return -1;
    c->received += (size_t)r;
    if (c->received >= size) {  // the whole echo is back: next ping
      c->received -= size;
      ++done;
      if (send_all(c->fd, message, size) != 0) return -1;
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: echo_client PORT [CONNS=50] [SECONDS=5] [SIZE=64]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int nconns = argc > 2 ? atoi(argv[2]) : 50;
  double seconds = argc > 3 ? atof(argv[3]) : 5.0;
  size_t size = argc > 4 ? (size_t)atol(argv[4]) : 64;
  if (nconns < 1 || nconns > kMaxConns || size < 1 || size > kMaxSize || seconds <= 0) {
    fprintf(stderr, "echo_client: bad arguments\n");
    return 2;
  }
  memset(message, 'x', size);

  conn_t* conns = calloc((size_t)nconns, sizeof *conns);
  int ep = epoll_create1(0);
  for (int i = 0; i < nconns; ++i) {
    conns[i].fd = connect_to(port);
    if (conns[i].fd < 0) {
      fprintf(stderr, "echo_client: connect 127.0.0.1:%d: %s\n", port, strerror(errno));
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }

  long round_trips = 0;
  int failed = 0;
  double start = now_s(), deadline = start + seconds;
  for (int i = 0; i < nconns; ++i)
    if (send_all(conns[i].fd, message, size) != 0) failed = 1;

  struct epoll_event events[256];
  double t = start;
  while (!failed && t < deadline) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int i = 0; i < n; ++i) {
      long done = on_readable(events[i].data.ptr, size);
      if (done < 0)
        failed = 1;
      else
        round_trips += done;
    }
    t = now_s();
  }
  double elapsed = t - start;

  for (int i = 0; i < nconns; ++i) close(conns[i].fd);
  close(ep);
  free(conns);
  if (failed) {
    fprintf(stderr, "echo_client: a connection failed after %ld round trips\n", round_trips);
    return 1;
  }
  printf("round_trips %ld\nseconds %.3f\nrt_per_s %.0f\n", round_trips, elapsed,
         (double)round_trips / elapsed);
  return 0;
}
