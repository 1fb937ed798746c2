// copy_file: copy_file_range in the kernel, read/write where the filesystems cannot.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "brigade/fs/fs.hpp"
#include "fd_io.hpp"
#include "path_error.hpp"

namespace brigade::fs {

namespace {

// Copies through a user buffer; returns false with errno set.
bool copy_by_read_write(int in, int out) {
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = detail::read_some(in, buffer, sizeof buffer, -1);
    if (n <= 0) return n == 0;
    if (!detail::write_full(out, buffer, static_cast<std::size_t>(n), -1)) return false;
  }
}

bool copy_contents(int in, int out) {
  for (;;) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n == 0) return true;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    // Not possible between these files (older kernels, cross-device, special files).
    if (errno == ENOSYS || errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)
      return copy_by_read_write(in, out);
    return false;
  }
}

void copy_path(const std::string& from, const std::string& to, bool exclusive) {
  auto fail = [&](int err) { detail::throw_paths_error("copyfile", from, to, err); };
  detail::FdCloser in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) fail(errno);
  struct stat st;
  if (::fstat(in.fd, &st) != 0) fail(errno);
  if (S_ISDIR(st.st_mode)) fail(EISDIR);
  int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (exclusive ? O_EXCL : 0);
  detail::FdCloser out{::open(to.c_str(), flags, st.st_mode & 07777)};
  if (out.fd < 0) fail(errno);
  if (::fchmod(out.fd, st.st_mode & 07777) != 0) fail(errno);  // an existing file keeps its own
  if (!copy_contents(in.fd, out.fd)) fail(errno);
  if (out.close_now() != 0 && errno != EINTR) fail(errno);
}

}  // namespace

Task<void> copy_file(std::string from, std::string to, CopyOptions options, ThreadPool& pool) {
  auto job = pool.run([from = std::move(from), to = std::move(to), options] {
    copy_path(from, to, options.exclusive);
  });
  co_await job;
}

}  // namespace brigade::fs
