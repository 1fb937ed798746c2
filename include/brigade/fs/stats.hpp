#pragma once
// Stats and DirEntry: what fs::stat and fs::readdir report (Node's fs.Stats and fs.Dirent).
#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace brigade::fs {

enum class FileType : uint8_t {
  kUnknown,
  kFile,
  kDirectory,
  kSymlink,
  kFifo,
  kSocket,
  kCharDevice,
  kBlockDevice
};

// The type encoded in an st_mode (S_IFMT bits).
FileType file_type_of_mode(mode_t mode) noexcept;

struct Stats {
  uint64_t dev = 0;
  uint64_t ino = 0;
  mode_t mode = 0;  // type and permission bits, as st_mode
  uint64_t nlink = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blksize = 0;
  uint64_t blocks = 0;
  std::chrono::system_clock::time_point atime, mtime, ctime;

  FileType type() const noexcept { return file_type_of_mode(mode); }
  bool is_file() const noexcept { return S_ISREG(mode); }
  bool is_directory() const noexcept { return S_ISDIR(mode); }
  bool is_symlink() const noexcept { return S_ISLNK(mode); }
  bool is_fifo() const noexcept { return S_ISFIFO(mode); }
  bool is_socket() const noexcept { return S_ISSOCK(mode); }
  mode_t permissions() const noexcept { return mode & 07777; }
};

// Converts what the kernel filled in.
Stats stats_from(const struct stat& st) noexcept;

struct DirEntry {
  std::string name;  // the entry's name inside the directory (no path)
  FileType type = FileType::kUnknown;
  bool is_file() const noexcept { return type == FileType::kFile; }
  bool is_directory() const noexcept { return type == FileType::kDirectory; }
  bool is_symlink() const noexcept { return type == FileType::kSymlink; }
};

}  // namespace brigade::fs
