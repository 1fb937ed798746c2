#pragma once
// fs::File: an open file (Node's FileHandle). Every operation is a coroutine that runs its
// syscall on a ThreadPool and resumes on the awaiting loop; failures throw brigade::Error.
//
// Closing: `co_await file.close()` closes on the pool and reports errors. A File destroyed while
// still open closes its fd synchronously on the destroying thread (close(2) of a local file is
// cheap and cannot be awaited from a destructor); errors there are ignored.
//
// Buffers passed to read/write are not copied: keep them alive until the task completes. The
// File itself must outlive its tasks.
#include <fcntl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "brigade/fs/stats.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/task.hpp"

namespace brigade::fs {

// position = kCurrentPosition reads or writes at the file offset and advances it (Node's null).
inline constexpr int64_t kCurrentPosition = -1;

class File {
 public:
  File() noexcept = default;
  File(int fd, ThreadPool& pool) noexcept : fd_(fd), pool_(&pool) {}
  File(File&& o) noexcept : fd_(o.fd_), pool_(o.pool_) { o.fd_ = -1; }
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  // Gives up ownership: the caller closes the fd.
  int release() noexcept;

  // One read(2)/pread(2): the bytes read, 0 at end of file (it may read fewer than asked).
  Task<std::size_t> read(std::span<std::byte> buffer, int64_t position = kCurrentPosition);
  Task<std::size_t> read(std::span<char> buffer, int64_t position = kCurrentPosition) {
    return read(std::as_writable_bytes(buffer), position);
  }
  // Writes all of `data` (looping over short writes); returns data.size().
  Task<std::size_t> write(std::span<const std::byte> data, int64_t position = kCurrentPosition);
  Task<std::size_t> write(std::string_view data, int64_t position = kCurrentPosition) {
    return write(std::as_bytes(std::span(data.data(), data.size())), position);
  }
  // The rest of the file from the current offset (Node's filehandle.readFile()).
  Task<std::string> read_all();
  Task<Stats> stat();
  Task<void> truncate(uint64_t length = 0);
  Task<void> sync();      // fsync
  Task<void> datasync();  // fdatasync
  // Closes on the pool; throws on a failed close. The File is closed (fd -1) either way.
  Task<void> close();

 private:
  int fd_ = -1;
  ThreadPool* pool_ = nullptr;
};

// Node's flag strings: "r", "r+", "rs+", "w", "wx", "w+", "wx+", "a", "ax", "a+", "ax+" (and "xw"
// style spellings). Throws std::invalid_argument for anything else.
int parse_open_flags(std::string_view flags);

// Opens `path` with open(2) flags (O_CLOEXEC is always added); the error names the path:
// Error(ENOENT, "open '/nope'").
Task<File> open(std::string path, int flags, mode_t mode = 0666,
                ThreadPool& pool = ThreadPool::shared());
// Node-style: co_await fs::open(path, "w"). Bad flags throw std::invalid_argument at the call.
inline Task<File> open(std::string path, std::string_view flags = "r", mode_t mode = 0666,
                       ThreadPool& pool = ThreadPool::shared()) {
  return open(std::move(path), parse_open_flags(flags), mode, pool);
}

}  // namespace brigade::fs
