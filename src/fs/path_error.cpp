#include "path_error.hpp"

#include "brigade/error.hpp"

namespace brigade::fs::detail {

void throw_path_error(const char* op, const std::string& path, int err) {
  throw Error(err, std::string(op) + " '" + path + "'");
}

void throw_paths_error(const char* op, const std::string& from, const std::string& to, int err) {
  throw Error(err, std::string(op) + " '" + from + "' -> '" + to + "'");
}

void throw_fd_error(const char* op, int fd, int err) {
  throw Error(err, std::string(op) + " (fd " + std::to_string(fd) + ")");
}

}  // namespace brigade::fs::detail
