#pragma once
// The errors fs throws: Error(errno, "<op> '<path>'"), as Node's "open '/nope'".
#include <cerrno>
#include <string>

namespace brigade::fs::detail {

[[noreturn]] void throw_path_error(const char* op, const std::string& path, int err = errno);
[[noreturn]] void throw_paths_error(const char* op, const std::string& from, const std::string& to,
                                    int err = errno);
[[noreturn]] void throw_fd_error(const char* op, int fd, int err = errno);

}  // namespace brigade::fs::detail
