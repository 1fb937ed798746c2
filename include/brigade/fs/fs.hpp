#pragma once
// brigade::fs: Node's fs.promises as coroutines. Each call runs its syscalls as ONE job on a
// ThreadPool (ThreadPool::shared() unless one is passed) and resumes on the awaiting loop.
//
// Errors throw brigade::Error with the errno and an operation naming the path, as Node's
// messages do: Error(ENOENT, "open '/nope'"), what() = "open '/nope': No such file or directory".
//
// Paths are taken by value (move them in to avoid a copy); `data` views are not copied: keep the
// bytes alive until the task completes (as with a Buffer handed to libuv).
// Option structs stay trivially destructible, so `co_await fs::mkdir(p, {.recursive = true})` is
// safe even under g++ 12's double destruction of braced temporaries in co_await expressions.
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "brigade/fs/file.hpp"
#include "brigade/fs/stats.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "brigade/task/task.hpp"

namespace brigade::fs {

struct MkdirOptions {
  bool recursive = false;  // create missing parents; an existing directory is not an error
  mode_t mode = 0777;      // before the umask
};

struct RmOptions {
  bool recursive = false;  // remove directories and their contents
  bool force = false;      // a missing path is not an error
};

struct CopyOptions {
  bool exclusive = false;  // fail with EEXIST if the destination exists (COPYFILE_EXCL)
};

static_assert(std::is_trivially_destructible_v<MkdirOptions> &&
              std::is_trivially_destructible_v<RmOptions> &&
              std::is_trivially_destructible_v<CopyOptions>);

// readdir(path, with_file_types) returns DirEntry values instead of names (withFileTypes).
struct WithFileTypes {};
inline constexpr WithFileTypes with_file_types{};

// --- whole files
// On an io_uring loop, a read on the shared pool goes through the loop's ring instead (files up
// to 64 KiB; larger ones are read on the pool once opened); BRIGADE_FS=pool keeps the pool.
Task<std::string> read_file(std::string path, ThreadPool& pool = ThreadPool::shared());
Task<std::vector<std::byte>> read_file_bytes(std::string path,
                                             ThreadPool& pool = ThreadPool::shared());
// Creates or truncates, then writes everything.
Task<void> write_file(std::string path, std::string_view data,
                      ThreadPool& pool = ThreadPool::shared());
Task<void> write_file(std::string path, std::span<const std::byte> data,
                      ThreadPool& pool = ThreadPool::shared());
// Creates if missing, then appends everything.
Task<void> append_file(std::string path, std::string_view data,
                       ThreadPool& pool = ThreadPool::shared());

// --- metadata
Task<Stats> stat(std::string path, ThreadPool& pool = ThreadPool::shared());
Task<Stats> lstat(std::string path, ThreadPool& pool = ThreadPool::shared());  // no symlink follow
// Throws unless the path is accessible with `mode` (F_OK, R_OK | W_OK | X_OK).
Task<void> access(std::string path, int mode = F_OK, ThreadPool& pool = ThreadPool::shared());
// Whether the path exists (symlinks followed); never throws for a missing path.
Task<bool> exists(std::string path, ThreadPool& pool = ThreadPool::shared());
Task<std::string> realpath(std::string path, ThreadPool& pool = ThreadPool::shared());
Task<void> chmod(std::string path, mode_t mode, ThreadPool& pool = ThreadPool::shared());

// --- names
Task<void> unlink(std::string path, ThreadPool& pool = ThreadPool::shared());
Task<void> rename(std::string from, std::string to, ThreadPool& pool = ThreadPool::shared());
Task<void> copy_file(std::string from, std::string to, CopyOptions options = {},
                     ThreadPool& pool = ThreadPool::shared());
Task<void> symlink(std::string target, std::string path, ThreadPool& pool = ThreadPool::shared());
Task<std::string> readlink(std::string path, ThreadPool& pool = ThreadPool::shared());

// --- directories
// Names in directory order, without "." and "..".
Task<std::vector<std::string>> readdir(std::string path, ThreadPool& pool = ThreadPool::shared());
Task<std::vector<DirEntry>> readdir(std::string path, WithFileTypes,
                                    ThreadPool& pool = ThreadPool::shared());
Task<void> mkdir(std::string path, MkdirOptions options = {},
                 ThreadPool& pool = ThreadPool::shared());
Task<void> rmdir(std::string path, ThreadPool& pool = ThreadPool::shared());  // empty dirs only
// Removes a file or symlink; a directory needs options.recursive (else EISDIR). Symlinks inside
// a removed tree are removed, never followed.
Task<void> rm(std::string path, RmOptions options = {}, ThreadPool& pool = ThreadPool::shared());
// Creates a unique directory named prefix + 6 random characters; returns its path.
Task<std::string> mkdtemp(std::string prefix, ThreadPool& pool = ThreadPool::shared());

}  // namespace brigade::fs
