#include "brigade/fs/stats.hpp"

namespace brigade::fs {

namespace {
std::chrono::system_clock::time_point time_of(const struct timespec& ts) {
  auto since_epoch = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}
}  // namespace

FileType file_type_of_mode(mode_t mode) noexcept {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return FileType::kFile;
    case S_IFDIR:
      return FileType::kDirectory;
    case S_IFLNK:
      return FileType::kSymlink;
    case S_IFIFO:
      return FileType::kFifo;
    case S_IFSOCK:
      return FileType::kSocket;
    case S_IFCHR:
      return FileType::kCharDevice;
    case S_IFBLK:
      return FileType::kBlockDevice;
    default:
      return FileType::kUnknown;
  }
}

Stats stats_from(const struct stat& st) noexcept {
  Stats s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.mode = st.st_mode;
  s.nlink = st.st_nlink;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  s.rdev = st.st_rdev;
  s.size = static_cast<uint64_t>(st.st_size);
  s.blksize = static_cast<uint64_t>(st.st_blksize);
  s.blocks = static_cast<uint64_t>(st.st_blocks);
  s.atime = time_of(st.st_atim);
  s.mtime = time_of(st.st_mtim);
  s.ctime = time_of(st.st_ctim);
  return s;
}

}  // namespace brigade::fs
