// Reads one HTTP answer from a blocking socket: the head, then Content-Length bytes of body
// (no chunked bodies: the bench servers answer with a length). For bench/*.c clients.
#pragma once  // needs _GNU_SOURCE (strcasestr) defined before the first include
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// 0 once the whole answer is read; -1 on EOF, error, timeout or an answer beyond 4 KiB.
static inline int read_answer(int fd) {
  char buf[4096];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n <= 0) return -1;
    have += (size_t)n;
    buf[have] = '\0';
    char* end = strstr(buf, "\r\n\r\n");
    if (!end) {
      if (have == sizeof buf - 1) return -1;
      continue;
    }
    const char* cl = strcasestr(buf, "\r\ncontent-length:");
    size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
    if (have >= (size_t)(end + 4 - buf) + body) return 0;
  }
}
