// unlink, rename, symlink, readlink: operations on directory entries.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include <unistd.h>

#include <climits>
#include <cstdio>

#include "brigade/fs/fs.hpp"
#include "path_error.hpp"

namespace brigade::fs {

using detail::throw_path_error;
using detail::throw_paths_error;

Task<void> unlink(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    if (::unlink(path.c_str()) != 0) throw_path_error("unlink", path);
  });
  co_await job;
}

Task<void> rename(std::string from, std::string to, ThreadPool& pool) {
  auto job = pool.run([from = std::move(from), to = std::move(to)] {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_paths_error("rename", from, to);
  });
  co_await job;
}

Task<void> symlink(std::string target, std::string path, ThreadPool& pool) {
  auto job = pool.run([target = std::move(target), path = std::move(path)] {
    if (::symlink(target.c_str(), path.c_str()) != 0) throw_paths_error("symlink", target, path);
  });
  co_await job;
}

Task<std::string> readlink(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    char target[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    if (n < 0) throw_path_error("readlink", path);
    return std::string(target, static_cast<std::size_t>(n));
  });
  co_return co_await job;
}

}  // namespace brigade::fs
