// rm: a file, or (recursive) a whole tree, walked with *at() calls so symlinks are never followed.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "brigade/fs/fs.hpp"
#include "path_error.hpp"

namespace brigade::fs {

namespace {

// Removes every entry inside the directory open as `fd` (closed here); returns 0 or an errno.
int empty_directory(int fd) {
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    int err = errno;
    ::close(fd);
    return err;
  }
  int result = 0;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(dir);
    if (!e) {
      if (errno != 0) result = errno;
      break;
    }
    const char* name = e->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = ::fstatat(::dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      int child = ::openat(::dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      result = child < 0 ? errno : empty_directory(child);
    }
    if (result == 0 && ::unlinkat(::dirfd(dir), name, is_dir ? AT_REMOVEDIR : 0) != 0)
      result = errno;
    if (result != 0) break;
  }
  ::closedir(dir);
  return result;
}

void remove_path(const std::string& path, RmOptions options) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && options.force) return;
    detail::throw_path_error("rm", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && !(errno == ENOENT && options.force))
      detail::throw_path_error("rm", path);
    return;
  }
  if (!options.recursive) detail::throw_path_error("rm", path, EISDIR);
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) detail::throw_path_error("rm", path);
  if (int err = empty_directory(fd)) detail::throw_path_error("rm", path, err);
  if (::rmdir(path.c_str()) != 0) detail::throw_path_error("rm", path);
}

}  // namespace

Task<void> rm(std::string path, RmOptions options, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path), options] { remove_path(path, options); });
  co_await job;
}

}  // namespace brigade::fs
