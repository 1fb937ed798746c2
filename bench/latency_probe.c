// Loop-responsiveness probe: sends one slow request (HEAVY_PATH, e.g. "/heavy?n=40") on one
// connection and, while it is in flight, polls "GET /" every PERIOD ms on another keep-alive
// connection (one poll outstanding at a time; a late poll is sent at once, not in a burst).
// Stops once the slow answer and the last poll's answer are in. Prints:
//   heavy_ms        send to answer of the slow request
//   max_latency_ms  the slowest poll (send to answer)
//   blocked_ms      the longest stretch without a poll answer (from the slow request's send,
//                   between answers, to the slow answer): PERIOD when the loop never blocks
//   polls           polls answered
// Usage: latency_probe PORT HEAVY_PATH [PERIOD_MS]
#define _GNU_SOURCE  // strcasestr
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http_answer.h"

static const char kPoll[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {60, 0};  // bounded: the slow request takes a few seconds
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
    perror("latency_probe: connect");
    exit(1);
  }
  return fd;
}

static void send_all(int fd, const char* p, size_t n) {
  if (write(fd, p, n) != (ssize_t)n) {
    perror("latency_probe: write");
    exit(1);
  }
}

static void must_read_answer(int fd) {
  if (read_answer(fd) != 0) {
    fprintf(stderr, "latency_probe: no answer\n");
    exit(1);
  }
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: latency_probe PORT HEAVY_PATH [PERIOD_MS]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double period = argc > 3 ? atof(argv[3]) : 10;
  int probe = connect_to(port), heavy = connect_to(port);
  send_all(probe, kPoll, sizeof kPoll - 1);  // warm the probe connection up
  must_read_answer(probe);

  char request[512];
  int len =
      snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", argv[2]);
  double start = now_ms(), last_answer = start, heavy_ms = -1, max_latency = 0, blocked = 0;
  send_all(heavy, request, (size_t)len);
  double next_poll = start, sent_at = 0;
  int outstanding = 0;
  long polls = 0;
  while (heavy_ms < 0 || outstanding) {
    double t = now_ms();
    if (!outstanding && heavy_ms < 0 && t >= next_poll) {
      send_all(probe, kPoll, sizeof kPoll - 1);
      sent_at = t;
      outstanding = 1;
      next_poll += period;
      if (next_poll < t) next_poll = t + period;  // late: no burst of catch-up polls
    }
    struct pollfd fds[2] = {{probe, POLLIN, 0}, {heavy, heavy_ms < 0 ? POLLIN : 0, 0}};
    int wait = outstanding || heavy_ms >= 0 ? 1000 : (int)(next_poll - t) + 1;
    if (poll(fds, 2, wait) < 0) return 1;
    t = now_ms();
    if (fds[0].revents) {
      must_read_answer(probe);
      outstanding = 0;
      ++polls;
      if (t - sent_at > max_latency) max_latency = t - sent_at;
      if (t - last_answer > blocked) blocked = t - last_answer;
      last_answer = t;
    }
    if (fds[1].revents && heavy_ms < 0) {
      must_read_answer(heavy);
      heavy_ms = t - start;
      if (t - last_answer > blocked) blocked = t - last_answer;
    }
  }
  printf("heavy_ms %.1f\nmax_latency_ms %.2f\nblocked_ms %.1f\npolls %ld\n", heavy_ms, max_latency,
         blocked, polls);
  return 0;
}
