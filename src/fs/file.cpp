// fs::File and fs::open: each operation is one pool job on the File's fd.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include "brigade/fs/file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include "fd_io.hpp"
#include "path_error.hpp"

namespace brigade::fs {

using detail::throw_fd_error;

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    pool_ = o.pool_;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);  // synchronous: see the header
}

int File::release() noexcept { return std::exchange(fd_, -1); }

Task<std::size_t> File::read(std::span<std::byte> buffer, int64_t position) {
  int fd = fd_;
  auto job = pool_->run([fd, buffer, position] {
    ssize_t n = detail::read_some(fd, buffer.data(), buffer.size(), position);
    if (n < 0) throw_fd_error("read", fd);
    return static_cast<std::size_t>(n);
  });
  co_return co_await job;
}

Task<std::size_t> File::write(std::span<const std::byte> data, int64_t position) {
  int fd = fd_;
  auto job = pool_->run([fd, data, position] {
    if (!detail::write_full(fd, data.data(), data.size(), position)) throw_fd_error("write", fd);
    return data.size();
  });
  co_return co_await job;
}

Task<std::string> File::read_all() {
  int fd = fd_;
  auto job = pool_->run([fd] {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw_fd_error("fstat", fd);
    off_t offset = ::lseek(fd, 0, SEEK_CUR);
    std::size_t left = S_ISREG(st.st_mode) && offset >= 0 && st.st_size > offset
                           ? static_cast<std::size_t>(st.st_size - offset)
                           : 0;
    std::string out;
    if (!detail::read_to_end(fd, left, out)) throw_fd_error("read", fd);
    return out;
  });
  co_return co_await job;
}

Task<Stats> File::stat() {
  int fd = fd_;
  auto job = pool_->run([fd] {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw_fd_error("fstat", fd);
    return stats_from(st);
  });
  co_return co_await job;
}

Task<void> File::truncate(uint64_t length) {
  int fd = fd_;
  auto job = pool_->run([fd, length] {
    if (::ftruncate(fd, static_cast<off_t>(length)) != 0) throw_fd_error("ftruncate", fd);
  });
  co_await job;
}

Task<void> File::sync() {
  int fd = fd_;
  auto job = pool_->run([fd] {
    if (::fsync(fd) != 0) throw_fd_error("fsync", fd);
  });
  co_await job;
}

Task<void> File::datasync() {
  int fd = fd_;
  auto job = pool_->run([fd] {
    if (::fdatasync(fd) != 0) throw_fd_error("fdatasync", fd);
  });
  co_await job;
}

Task<void> File::close() {
  int fd = std::exchange(fd_, -1);  // closed from here on, whatever close(2) says
  if (fd < 0) co_return;
  auto job = pool_->run([fd] {
    if (::close(fd) != 0 && errno != EINTR) throw_fd_error("close", fd);
  });
  co_await job;
}

int parse_open_flags(std::string_view flags) {
  // Node's table; 's' (synchronous) adds O_SYNC, 'x' (exclusive) adds O_EXCL.
  bool sync = false, excl = false;
  std::string canon;
  for (char c : flags) {
    if (c == 's')
      sync = true;
    else if (c == 'x')
      excl = true;
    else
      canon += c;
  }
  int base;
  if (canon == "r")
    base = O_RDONLY;
  else if (canon == "r+")
    base = O_RDWR;
  else if (canon == "w")
    base = O_WRONLY | O_CREAT | O_TRUNC;
  else if (canon == "w+")
    base = O_RDWR | O_CREAT | O_TRUNC;
  else if (canon == "a")
    base = O_WRONLY | O_CREAT | O_APPEND;
  else if (canon == "a+")
    base = O_RDWR | O_CREAT | O_APPEND;
  else
    throw std::invalid_argument("fs::open: unknown flags '" + std::string(flags) + "'");
  if (excl && !(base & O_CREAT)) throw std::invalid_argument("fs::open: 'x' needs w or a");
  if (sync && canon[0] == 'w') throw std::invalid_argument("fs::open: 's' needs r or a");
  return base | (excl ? O_EXCL : 0) | (sync ? O_SYNC : 0);
}

Task<File> open(std::string path, int flags, mode_t mode, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path), flags, mode] {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) detail::throw_path_error("open", path);
    return fd;
  });
  int fd = co_await job;
  co_return File(fd, pool);
}

}  // namespace brigade::fs
