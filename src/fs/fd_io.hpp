#pragma once
// Blocking fd loops that fs jobs run on pool threads. They return false / -1 with errno set.
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace brigade::fs::detail {

// Closes the fd when a pool job leaves its scope (the error paths throw).
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
  // Closes now and reports the result (a failed close can mean lost data).
  int close_now() { return ::close(std::exchange(fd, -1)); }
};

// Retries EINTR; position < 0 uses (and advances) the file offset.
ssize_t read_some(int fd, void* buf, std::size_t n, int64_t position);
// Reads until `n` bytes or end of file; returns the count.
ssize_t read_full(int fd, void* buf, std::size_t n);
// Writes all `n` bytes (looping over short writes).
bool write_full(int fd, const void* buf, std::size_t n, int64_t position);

// Reads the whole file into a resizable byte container (std::string, std::vector<std::byte>):
// one read of the size fstat reports for regular files, chunks until EOF for the rest (/proc).
template <typename Buffer>
bool read_to_end(int fd, std::size_t size_hint, Buffer& out) {
  std::size_t used = 0;
  std::size_t want = size_hint ? size_hint : 4096;
  for (;;) {
    out.resize(used + want);
    ssize_t n = read_full(fd, out.data() + used, want);
    if (n < 0) return false;
    used += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < want || (size_hint && used == size_hint)) break;
    want = used;  // unknown length: double
  }
  out.resize(used);
  return true;
}

}  // namespace brigade::fs::detail
