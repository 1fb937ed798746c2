// ServerResponse::send_file: the file is read on the thread pool, never on the loop.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "brigade/http/server_response.hpp"
#include "brigade/pool/thread_pool.hpp"

namespace brigade::http {

namespace {
struct FileRead {
  int error = 0;
  std::string data;
};

FileRead read_whole_file(const std::string& path) {
  FileRead r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.error = errno;
    return r;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    r.data.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < r.data.size()) {
      ssize_t n = ::read(fd, r.data.data() + got, r.data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    r.data.resize(got);
  } else {
    r.error = EISDIR;
  }
  ::close(fd);
  return r;
}

std::string_view content_type_for(std::string_view path) {
  std::size_t dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "css") return "text/css";
  if (ext == "js") return "text/javascript";
  if (ext == "json") return "application/json";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "svg") return "image/svg+xml";
  return "application/octet-stream";
}
}  // namespace

Task<void> ServerResponse::send_file(std::string path) {
  // Named, not a temporary inside co_await: g++ 12 may destroy such temporaries twice.
  auto read = [path] { return read_whole_file(path); };
  FileRead file = co_await ThreadPool::shared().run(std::move(read));
  if (ended_) co_return;
  if (file.error) {
    status(404).send("Not Found");
    co_return;
  }
  if (!has_content_type_) set("Content-Type", content_type_for(path));
  if (body_.empty())
    body_ = std::move(file.data);
  else
    body_ += file.data;
  end();
}

}  // namespace brigade::http
