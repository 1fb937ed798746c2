// unlink, rename, symlink, readlink: operations on directory entries.
#include <unistd.h>

#include <climits>
#include <cstdio>

#include "brigade/fs/fs.hpp"
#include "path_error.hpp"

namespace brigade::fs {

using detail::throw_path_error;
using detail::throw_paths_error;

Task<void> unlink(std::string path, ThreadPool& pool) {
  co_await pool.run([path = std::move(path)] {
    if (::unlink(path.c_str()) != 0) throw_path_error("unlink", path);
  });
}

Task<void> rename(std::string from, std::string to, ThreadPool& pool) {
  co_await pool.run([from = std::move(from), to = std::move(to)] {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_paths_error("rename", from, to);
  });
}

Task<void> symlink(std::string target, std::string path, ThreadPool& pool) {
  co_await pool.run([target = std::move(target), path = std::move(path)] {
    if (::symlink(target.c_str(), path.c_str()) != 0) throw_paths_error("symlink", target, path);
  });
}

Task<std::string> readlink(std::string path, ThreadPool& pool) {
  co_return co_await pool.run([path = std::move(path)] {
    char target[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    if (n < 0) throw_path_error("readlink", path);
    return std::string(target, static_cast<std::size_t>(n));
  });
}

}  // namespace brigade::fs
