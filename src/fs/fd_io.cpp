#include "fd_io.hpp"

#include <cerrno>

namespace brigade::fs::detail {

ssize_t read_some(int fd, void* buf, std::size_t n, int64_t position) {
  ssize_t r;
  do {
    r = position < 0 ? ::read(fd, buf, n) : ::pread(fd, buf, n, position);
  } while (r < 0 && errno == EINTR);
  return r;
}

ssize_t read_full(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = read_some(fd, p + done, n - done, -1);
    if (r < 0) return -1;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

bool write_full(int fd, const void* buf, std::size_t n, int64_t position) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t r = position < 0 ? ::write(fd, p, n) : ::pwrite(fd, p, n, position);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
    if (position >= 0) position += r;
  }
  return true;
}

}  // namespace brigade::fs::detail
