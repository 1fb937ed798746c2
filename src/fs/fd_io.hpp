#pragma once
// Blocking fd loops that fs jobs run on pool threads. They return false / -1 with errno set.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "path_error.hpp"

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

// The rest of an open file `path`, as a pool job reads it: fstat for the size, read_to_end.
template <typename Buffer>
Buffer read_opened(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_path_error("fstat", path);
  if (S_ISDIR(st.st_mode)) throw_path_error("read", path, EISDIR);
  std::size_t size_hint = S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0;
  Buffer out;
  if (!read_to_end(fd, size_hint, out)) throw_path_error("read", path);
  return out;
}

// A whole file, as one pool job reads it: open, read_opened, close.
template <typename Buffer>
Buffer read_whole(const std::string& path) {
  FdCloser file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw_path_error("open", path);
  return read_opened<Buffer>(file.fd, path);
}

}  // namespace brigade::fs::detail
