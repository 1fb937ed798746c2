// Idle keep-alive connections for the memory benchmark: opens N connections to 127.0.0.1:PORT,
// sends one "GET /" on each and reads its whole answer (so each is a real keep-alive connection
// that served a request), prints "holding N", then holds them until killed (SIGTERM: the kernel
// closes them all). With HOLD=0 it closes them at once and exits (a warm-up).
// Usage: idle_client PORT N [HOLD]   (raises its own RLIMIT_NOFILE soft limit to the hard one)
#define _GNU_SOURCE  // strcasestr
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http_answer.h"

static const char kRequest[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static int open_one(const struct sockaddr_in* addr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {10, 0};  // never wait unbounded on a stuck server
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr*)addr, sizeof *addr) != 0 ||
      write(fd, kRequest, sizeof kRequest - 1) != (ssize_t)(sizeof kRequest - 1) ||
      read_answer(fd) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: idle_client PORT N [HOLD]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long count = atol(argv[2]);
  int hold = argc > 3 ? atoi(argv[3]) : 1;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int* fds = calloc((size_t)count, sizeof *fds);
  for (long i = 0; i < count; ++i) {
    fds[i] = open_one(&addr);
    if (fds[i] < 0) {
      fprintf(stderr, "idle_client: connection %ld failed: %s\n", i, strerror(errno));
      return 1;
    }
  }
  if (!hold) {
    for (long i = 0; i < count; ++i) close(fds[i]);
    printf("closed %ld\n", count);
    return 0;
  }
  printf("holding %ld\n", count);
  fflush(stdout);
  for (;;) pause();  // until killed
}
