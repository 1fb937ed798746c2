// read_file / write_file / append_file: open, transfer and close as one pool job; reads on the
// loop's io_uring ring instead where ring_file.hpp says so.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include <fcntl.h>
#include <sys/stat.h>

#include "brigade/fs/fs.hpp"
#include "fd_io.hpp"
#include "path_error.hpp"
#include "ring_file.hpp"

namespace brigade::fs {

using detail::FdCloser;
using detail::throw_path_error;

namespace {

void write_whole(const std::string& path, int flags, const void* data, std::size_t size) {
  FdCloser file{::open(path.c_str(), flags | O_WRONLY | O_CREAT | O_CLOEXEC, 0666)};
  if (file.fd < 0) throw_path_error("open", path);
  if (!detail::write_full(file.fd, data, size, -1)) throw_path_error("write", path);
  if (file.close_now() != 0 && errno != EINTR) throw_path_error("close", path);
}

}  // namespace

Task<std::string> read_file(std::string path, ThreadPool& pool) {
  if (Loop* loop = detail::ring_loop(pool)) {
    auto read = detail::read_on_ring<std::string>(*loop, std::move(path));
    co_return co_await read;
  }
  auto job = pool.run([path = std::move(path)] { return detail::read_whole<std::string>(path); });
  co_return co_await job;
}

Task<std::vector<std::byte>> read_file_bytes(std::string path, ThreadPool& pool) {
  if (Loop* loop = detail::ring_loop(pool)) {
    auto read = detail::read_on_ring<std::vector<std::byte>>(*loop, std::move(path));
    co_return co_await read;
  }
  auto job = pool.run(
      [path = std::move(path)] { return detail::read_whole<std::vector<std::byte>>(path); });
  co_return co_await job;
}

Task<void> write_file(std::string path, std::string_view data, ThreadPool& pool) {
  auto job = pool.run(
      [path = std::move(path), data] { write_whole(path, O_TRUNC, data.data(), data.size()); });
  co_await job;
}

Task<void> write_file(std::string path, std::span<const std::byte> data, ThreadPool& pool) {
  auto job = pool.run(
      [path = std::move(path), data] { write_whole(path, O_TRUNC, data.data(), data.size()); });
  co_await job;
}

Task<void> append_file(std::string path, std::string_view data, ThreadPool& pool) {
  auto job = pool.run(
      [path = std::move(path), data] { write_whole(path, O_APPEND, data.data(), data.size()); });
  co_await job;
}

}  // namespace brigade::fs
