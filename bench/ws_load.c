// Load for the WebSocket benchmarks: the same client against brigade and Node + ws. Plain C on
// one epoll thread, so the load generator costs little next to the server it measures.
//   ws_load echo PORT CONNECTIONS SECONDS SIZE [WINDOW]
//       each connection keeps WINDOW (default 16) binary messages of SIZE bytes in flight and
//       sends one more per echo received (batched: one write per read); prints "round_trips N",
//       "seconds S" and "window W"
//   ws_load broadcast PORT CONNECTIONS ROUNDS
//       CONNECTIONS sockets listen; one more asks for a broadcast ("broadcast") ROUNDS times;
//       prints "connected N" once they are open (then waits 1 s before the first round), and the
//       median time from the ask until every socket got its message ("deliver_ms X")
//   ws_load idle PORT CONNECTIONS
//       opens them, prints "holding N", waits for SIGTERM
// Client frames are masked with one key drawn at start (servers require masking; the key's
// unpredictability guards browsers against cache poisoning, not a load generator).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  size_t len;  // bytes held in buf (an incomplete frame at its start)
  size_t cap;
  char* buf;
  int got;  // frames received (this round, for broadcast)
} Conn;

static uint8_t g_mask[4];
static int g_opened;  // connections opened so far, for the error messages

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char* what) {
  fprintf(stderr, "after %d connections: %s: %s\n", g_opened, what, strerror(errno));
  exit(1);
}

// A masked client frame (FIN, `opcode`) of `n` payload bytes at `out`; returns its size.
static size_t encode(char* out, int opcode, const char* payload, size_t n) {
  size_t h = 0;
  out[h++] = (char)(0x80 | opcode);
  if (n < 126) {
    out[h++] = (char)(0x80 | n);
  } else {
    out[h++] = (char)(0x80 | 126);
    out[h++] = (char)(n >> 8);
    out[h++] = (char)(n & 0xff);
  }
  memcpy(out + h, g_mask, 4);
  h += 4;
  for (size_t i = 0; i < n; ++i) out[h + i] = (char)(payload[i] ^ g_mask[i & 3]);
  return h + n;
}

// Sends one WebSocket handshake (a blocking connect: loopback completes it in the kernel).
static void start_conn(Conn* c, int port, size_t cap) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval limit = {.tv_sec = 30};  // a handshake never answered fails the run, loudly
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  char req[256];
  int n = snprintf(req, sizeof req,
                   "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   port);
  if (write(fd, req, (size_t)n) != n) die("write handshake");
  c->fd = fd;
  c->cap = cap;
  c->buf = malloc(cap);
  c->len = 0;
  c->got = 0;
}

// Reads the 101 answer (blocking, 30 s at most; bytes after it are frames), then makes the
// socket non-blocking.
static void finish_conn(Conn* c) {
  for (;;) {
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r <= 0) die("read handshake");
    c->len += (size_t)r;
    char* end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end) {
      if (c->len == c->cap) die("handshake answer too long");
      continue;
    }
    if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0) {
      fprintf(stderr, "handshake refused: %.*s\n", (int)(end - c->buf), c->buf);
      exit(1);
    }
    size_t head = (size_t)(end - c->buf) + 4;
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    break;
  }
  if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) die("fcntl");
  ++g_opened;
}

// Opens `n` WebSockets, 100 handshakes in flight at a time: one at a time, a loaded machine
// makes each wait for the server to be scheduled.
static void open_conns(Conn* conns, int n, int port, size_t cap) {
  for (int i = 0; i < n; i += 100) {
    int end = i + 100 < n ? i + 100 : n;
    for (int k = i; k < end; ++k) start_conn(&conns[k], port, cap);
    for (int k = i; k < end; ++k) finish_conn(&conns[k]);
  }
}

// One read (epoll is level-triggered: what is left raises the next event); returns the whole
// frames it completed, 0 if none (or EAGAIN). A connection that ends ends the run.
static int read_frames(Conn* c) {
  ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
  if (r < 0 && errno == EAGAIN) return 0;
  if (r <= 0) {
    fprintf(stderr, "a connection ended (%s)\n", r == 0 ? "EOF" : strerror(errno));
    exit(1);
  }
  c->len += (size_t)r;
  int frames = 0;
  size_t pos = 0;
  for (;;) {
    size_t left = c->len - pos;
    if (left < 2) break;
    const uint8_t* p = (const uint8_t*)c->buf + pos;
    uint64_t n = p[1] & 0x7f;
    size_t h = 2;
    if (n == 126) {
      if (left < 4) break;
      n = ((uint64_t)p[2] << 8) | p[3];
      h = 4;
    } else if (n == 127) {
      if (left < 10) break;
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | p[2 + i];
      h = 10;
    }
    if (h + n > c->cap) {
      fprintf(stderr, "a frame of %llu bytes: over the buffer\n", (unsigned long long)n);
      exit(1);
    }
    if (left < h + n) break;
    pos += h + (size_t)n;
    ++frames;
  }
  memmove(c->buf, c->buf + pos, c->len - pos);
  c->len -= pos;
  return frames;
}

static int watch_all(Conn* conns, int n) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < n; ++i) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) die("epoll_ctl");
  }
  return ep;
}

static void send_all(int fd, const char* p, size_t n) {
  while (n) {  // a few frames: the socket buffer takes them, else wait for it
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EAGAIN) {
      usleep(50);
      continue;
    }
    if (w <= 0) die("write");
    p += w;
    n -= (size_t)w;
  }
}

static int echo(int port, int nconns, double secs, size_t size, int window) {
  Conn* conns = calloc((size_t)nconns, sizeof(Conn));
  size_t frame_cap = size + 14;
  open_conns(conns, nconns, port, frame_cap * (size_t)window + 4096);
  char* payload = malloc(size);
  memset(payload, 'e', size);
  char* frames = malloc(frame_cap * (size_t)window);  // WINDOW frames back to back
  size_t one = encode(frames, 2, payload, size);
  for (int k = 1; k < window; ++k) memcpy(frames + one * (size_t)k, frames, one);
  int ep = watch_all(conns, nconns);
  double start = now_s(), until = start + secs;
  for (int i = 0; i < nconns; ++i) send_all(conns[i].fd, frames, one * (size_t)window);
  uint64_t count = 0;
  struct epoll_event evs[256];
  double t = start;
  while ((t = now_s()) < until) {
    int m = epoll_wait(ep, evs, 256, 100);
    for (int e = 0; e < m; ++e) {
      Conn* c = &conns[evs[e].data.u32];
      int got = read_frames(c);
      count += (uint64_t)got;
      if (got) send_all(c->fd, frames, one * (size_t)got);  // as many as came back
    }
  }
  printf("round_trips %llu\nseconds %.3f\nwindow %d\n", (unsigned long long)count, t - start,
         window);
  return 0;
}

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static int broadcast(int port, int nconns, int rounds) {
  Conn* conns = calloc((size_t)nconns + 1, sizeof(Conn));
  open_conns(conns, nconns + 1, port, 512);
  Conn* asker = &conns[nconns];  // subscribed too: it gets its copy and "sent N"
  int ep = watch_all(conns, nconns + 1);
  // The caller may sample the server's CPU time now and at the end: the rounds' share alone.
  printf("connected %d\n", nconns + 1);
  fflush(stdout);
  sleep(1);
  char ask[32];
  size_t ask_len = encode(ask, 1, "broadcast", 9);
  double* times = calloc((size_t)rounds, sizeof(double));
  struct epoll_event evs[1024];
  for (int r = 0; r < rounds; ++r) {
    usleep(20000);  // rounds apart
    for (int i = 0; i <= nconns; ++i) conns[i].got = 0;
    int left = nconns, asker_left = 2;
    double start = now_s();
    send_all(asker->fd, ask, ask_len);
    while (left > 0 || asker_left > 0) {
      int m = epoll_wait(ep, evs, 1024, 10000);
      if (m <= 0) {
        fprintf(stderr, "round %d: %d sockets missed the message\n", r, left);
        return 1;
      }
      for (int e = 0; e < m; ++e) {
        Conn* c = &conns[evs[e].data.u32];
        int got = read_frames(c);
        if (c == asker) {
          asker_left -= got;
        } else if (got) {
          if (c->got == 0) --left;
          c->got += got;
        }
      }
      if (left == 0 && times[r] == 0) times[r] = (now_s() - start) * 1000;
    }
  }
  qsort(times, (size_t)rounds, sizeof(double), compare);
  printf("deliver_ms %.2f\n", times[rounds / 2]);
  return 0;
}

static int idle(int port, int nconns) {
  Conn* conns = calloc((size_t)nconns, sizeof(Conn));
  open_conns(conns, nconns, port, 256);
  printf("holding %d\n", nconns);
  fflush(stdout);
  for (;;) pause();
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ws_load echo|broadcast|idle PORT CONNECTIONS [...]\n");
    return 2;
  }
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGPIPE, SIG_IGN);
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  for (int i = 0; i < 4; ++i) g_mask[i] = (uint8_t)rand();
  const char* mode = argv[1];
  int port = atoi(argv[2]), nconns = atoi(argv[3]);
  if (strcmp(mode, "echo") == 0 && argc >= 6)
    return echo(port, nconns, atof(argv[4]), (size_t)atoi(argv[5]), argc >= 7 ? atoi(argv[6]) : 16);
  if (strcmp(mode, "broadcast") == 0 && argc >= 5) return broadcast(port, nconns, atoi(argv[4]));
  if (strcmp(mode, "idle") == 0) return idle(port, nconns);
  return 2;
}
