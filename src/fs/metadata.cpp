// stat, lstat, access, exists, realpath, chmod: one syscall each on the pool.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "brigade/fs/fs.hpp"
#include "path_error.hpp"

namespace brigade::fs {

using detail::throw_path_error;

Task<Stats> stat(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) throw_path_error("stat", path);
    return stats_from(st);
  });
  co_return co_await job;
}

Task<Stats> lstat(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) throw_path_error("lstat", path);
    return stats_from(st);
  });
  co_return co_await job;
}

Task<void> access(std::string path, int mode, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path), mode] {
    if (::access(path.c_str(), mode) != 0) throw_path_error("access", path);
  });
  co_await job;
}

Task<bool> exists(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] { return ::access(path.c_str(), F_OK) == 0; });
  co_return co_await job;
}

Task<std::string> realpath(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    char resolved[PATH_MAX];
    if (!::realpath(path.c_str(), resolved)) throw_path_error("realpath", path);
    return std::string(resolved);
  });
  co_return co_await job;
}

Task<void> chmod(std::string path, mode_t mode, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path), mode] {
    if (::chmod(path.c_str(), mode) != 0) throw_path_error("chmod", path);
  });
  co_await job;
}

}  // namespace brigade::fs
