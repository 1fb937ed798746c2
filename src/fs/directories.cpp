// readdir, mkdir, rmdir, mkdtemp.
// Pool jobs are named before co_await: g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice (notes/gcc12.md).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "brigade/fs/fs.hpp"
#include "path_error.hpp"

namespace brigade::fs {

using detail::throw_path_error;

namespace {

struct DirCloser {
  DIR* dir;
  ~DirCloser() {
    if (dir) ::closedir(dir);
  }
};

bool is_dot_or_dotdot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

FileType type_of(DIR* dir, const dirent& e) {
  switch (e.d_type) {
    case DT_REG:
      return FileType::kFile;
    case DT_DIR:
      return FileType::kDirectory;
    case DT_LNK:
      return FileType::kSymlink;
    case DT_FIFO:
      return FileType::kFifo;
    case DT_SOCK:
      return FileType::kSocket;
    case DT_CHR:
      return FileType::kCharDevice;
    case DT_BLK:
      return FileType::kBlockDevice;
    default:
      break;  // the filesystem does not say: ask the inode
  }
  struct stat st;
  if (::fstatat(::dirfd(dir), e.d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return FileType::kUnknown;
  return file_type_of_mode(st.st_mode);
}

// Calls on_entry(dir, entry) for every entry but "." and "..".
template <typename F>
void for_each_entry(const std::string& path, F on_entry) {
  DirCloser d{::opendir(path.c_str())};
  if (!d.dir) throw_path_error("scandir", path);
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d.dir);
    if (!e) break;
    if (!is_dot_or_dotdot(e->d_name)) on_entry(d.dir, *e);
  }
  if (errno != 0) throw_path_error("scandir", path);
}

// An existing path is fine for mkdir -p only when it is a directory.
bool is_existing_directory(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// mkdir -p: creates each missing component from the root down.
void make_parents_and(std::string& path, mode_t mode) {
  for (std::size_t i = 1; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    path[i] = '\0';  // the prefix, in place
    int rc = ::mkdir(path.c_str(), mode);
    int err = errno;
    bool ok = rc == 0 || (err == EEXIST && is_existing_directory(path.c_str()));
    path[i] = '/';
    if (!ok) throw_path_error("mkdir", path, rc != 0 && err == EEXIST ? ENOTDIR : err);
  }
  if (::mkdir(path.c_str(), mode) != 0 && !(errno == EEXIST && is_existing_directory(path.c_str())))
    throw_path_error("mkdir", path, errno);
}

}  // namespace

Task<std::vector<std::string>> readdir(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    std::vector<std::string> names;
    for_each_entry(path, [&](DIR*, const dirent& e) { names.emplace_back(e.d_name); });
    return names;
  });
  co_return co_await job;
}

Task<std::vector<DirEntry>> readdir(std::string path, WithFileTypes, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    std::vector<DirEntry> entries;
    for_each_entry(path, [&](DIR* dir, const dirent& e) {
      entries.push_back(DirEntry{e.d_name, type_of(dir, e)});
    });
    return entries;
  });
  co_return co_await job;
}

Task<void> mkdir(std::string path, MkdirOptions options, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path), options]() mutable {
    if (::mkdir(path.c_str(), options.mode) == 0) return;
    int err = errno;
    if (!options.recursive) throw_path_error("mkdir", path, err);
    if (err == EEXIST && is_existing_directory(path.c_str())) return;
    if (err != ENOENT) throw_path_error("mkdir", path, err);
    make_parents_and(path, options.mode);
  });
  co_await job;
}

Task<void> rmdir(std::string path, ThreadPool& pool) {
  auto job = pool.run([path = std::move(path)] {
    if (::rmdir(path.c_str()) != 0) throw_path_error("rmdir", path);
  });
  co_await job;
}

Task<std::string> mkdtemp(std::string prefix, ThreadPool& pool) {
  auto job = pool.run([prefix = std::move(prefix)] {
    std::string path = prefix + "XXXXXX";
    if (!::mkdtemp(path.data())) throw_path_error("mkdtemp", prefix + "XXXXXX");  // path changed
    return path;
  });
  co_return co_await job;
}

}  // namespace brigade::fs
