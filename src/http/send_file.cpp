// ServerResponse::send_file and download: a file opened on the thread pool, answered with its
// validators and the request's conditionals and ranges, streamed by sendfile(2).
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "access.hpp"
#include "brigade/error.hpp"
#include "brigade/http/parser_syntax.hpp"
#include "brigade/http/server_response.hpp"
#include "brigade/pool/thread_pool.hpp"
#include "byte_ranges.hpp"
#include "connection.hpp"
#include "http_date.hpp"
#include "mime_types.hpp"

namespace brigade::http {

namespace {

// Owns an fd; closes it on every path out of send_file (a destroyed coroutine frame too).
struct FileHandle {
  int fd = -1;
  FileHandle() = default;
  explicit FileHandle(int f) : fd(f) {}
  FileHandle(FileHandle&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  FileHandle& operator=(FileHandle&&) = delete;
  ~FileHandle() {
    if (fd >= 0) ::close(fd);
  }
};

struct OpenedFile {
  FileHandle file;
  int error = 0;
  struct stat st {};
};

bool has_dot_dot(std::string_view path) {
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    if (path.substr(0, slash) == "..") return true;
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return false;
}

// Where an open fd points, as the kernel resolved it ("" if unknown).
std::string fd_path(int fd) {
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof target);
  return n > 0 && static_cast<std::size_t>(n) < sizeof target ? std::string(target, n) : "";
}

// Opens `path` under `root_fd` (AT_FDCWD: as given). Confined, the kernel resolves the path
// beneath the root (openat2 RESOLVE_BENEATH: "..", absolute and outward symlinks fail with
// EXDEV), so no check-then-open race can let a file outside be served. `symlinks_out`: symlinks
// may point anywhere, ".." is still refused.
int open_file(int root_fd, const std::string& path, bool confined, bool symlinks_out) {
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: a FIFO must not hang
  if (confined && symlinks_out) {
    if (has_dot_dot(path) || path.starts_with('/')) {
      errno = EXDEV;
      return -1;
    }
  } else if (confined) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
    // Kernels before 5.6: open, then check where the kernel says the file is.
    if (has_dot_dot(path) || path.starts_with('/')) {
      errno = EXDEV;
      return -1;
    }
    int opened = ::openat(root_fd, path.c_str(), flags);
    if (opened < 0) return -1;
    std::string root_at = fd_path(root_fd), file_at = fd_path(opened);
    if (root_at.empty() || !file_at.starts_with(root_at) ||
        (file_at.size() > root_at.size() && file_at[root_at.size()] != '/' && root_at != "/")) {
      ::close(opened);
      errno = EXDEV;
      return -1;
    }
    return opened;
  }
  return ::openat(root_fd, path.c_str(), flags);
}

OpenedFile open_and_stat(int root_fd, const std::string& path, bool confined, bool symlinks_out) {
  OpenedFile f;
  f.file.fd = open_file(root_fd, path, confined, symlinks_out);
  if (f.file.fd < 0) {
    f.error = errno;
    return f;
  }
  if (::fstat(f.file.fd, &f.st) != 0) {
    f.error = errno;
  } else if (S_ISDIR(f.st.st_mode)) {
    f.error = EISDIR;
  } else if (!S_ISREG(f.st.st_mode)) {
    f.error = ENOENT;  // a device, FIFO or socket is never served
  }
  return f;
}

// Whether an If-Match / If-None-Match list holds `etag` ("*" matches any). `weak`: the weak
// comparison If-None-Match uses (W/ prefixes ignored); else the strong one of If-Match.
bool etag_listed(std::string_view list, std::string_view etag, bool weak) {
  if (syntax::trim_ows(list) == "*") return true;
  bool found = false;
  syntax::for_each_list_element(list, [&](std::string_view item) {
    if (item.starts_with("W/")) {
      if (!weak) return;
      item.remove_prefix(2);
    }
    found = found || item == etag;
  });
  return found;
}

void append_hex(std::string& out, uint64_t v) {
  char buf[17];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v, 16).ptr);
}

std::string make_etag(const struct stat& st) {
  std::string tag = "\"";  // strong, as nginx's: the file changes, the tag changes
  append_hex(tag, static_cast<uint64_t>(st.st_mtim.tv_sec));
  tag += '.';
  append_hex(tag, static_cast<uint64_t>(st.st_mtim.tv_nsec));
  tag += '-';
  append_hex(tag, static_cast<uint64_t>(st.st_size));
  tag += '"';
  return tag;
}

std::string random_boundary() {
  unsigned char raw[12];
  if (::getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    uint64_t t = static_cast<uint64_t>(::time(nullptr)) ^ reinterpret_cast<uintptr_t>(raw);
    std::memcpy(raw, &t, sizeof t);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string b = "brigade-";
  for (unsigned char c : raw) {
    b += kHex[c >> 4];
    b += kHex[c & 15];
  }
  return b;
}

std::string content_range(uint64_t first, uint64_t last, uint64_t size) {
  return "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size);
}

// RFC 6266: an ASCII fallback name and, when the name has other bytes, filename*=UTF-8''.
std::string attachment(std::string_view name) {
  std::string ascii, encoded;
  bool plain = true;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    bool printable = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';  // fits in the quotes
    ascii += printable ? static_cast<char>(c) : '_';
    plain = plain && printable;
    bool keep = printable && c != ' ' && c != '%' && c != ';' && c != ',' && c != '\'' && c != '*';
    if (keep) {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  std::string v = "attachment; filename=\"" + ascii + "\"";
  if (!plain) v += "; filename*=UTF-8''" + encoded;
  return v;
}

std::string_view base_name(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

Task<int> ServerResponse::send_file_at(int root_fd, std::string path,
                                       const SendFileOptions& options, std::string disposition) {
  if (ended_) co_return 0;
  bool confined = root_fd != AT_FDCWD;
  // Named, not a temporary inside co_await: g++ 12 may destroy such temporaries twice.
  bool symlinks_out = options.symlinks_leave_root;
  auto open = [root_fd, &path, confined, symlinks_out] {
    return open_and_stat(root_fd, path, confined, symlinks_out);
  };
  OpenedFile f = co_await ThreadPool::shared().run(std::move(open));
  if (ended_) co_return 0;
  if (f.error) co_return f.error;
  if (!conn_) co_return EPIPE;
  if (!conn_->writable()) co_return EPIPE;
  const ServerRequest& req = conn_->ex->req;
  const auto size = static_cast<uint64_t>(f.st.st_size);
  const std::time_t mtime = f.st.st_mtim.tv_sec;
  char date[detail::kHttpDateLength];
  detail::format_http_date(mtime, date);
  std::string etag = options.etag ? make_etag(f.st) : std::string();

  // Validators and caching first: a 304 carries them too.
  body_.clear();
  if (!disposition.empty()) set("Content-Disposition", disposition);
  if (options.cache_control) {
    std::string cc = "public, max-age=" + std::to_string(options.max_age_s);
    if (options.immutable) cc += ", immutable";
    set("Cache-Control", cc);
  }
  if (options.last_modified) set("Last-Modified", std::string_view(date, sizeof date));
  if (options.etag) set("ETag", etag);

  // Preconditions (RFC 9110 section 13.2.2): If-Match, If-Unmodified-Since, then
  // If-None-Match, If-Modified-Since.
  std::string_view if_match = req.header("if-match");
  if (!if_match.empty()) {
    if (!options.etag || !etag_listed(if_match, etag, false)) {
      status(412).send("Precondition Failed");
      co_return 0;
    }
  } else if (auto ius = detail::parse_http_date(req.header("if-unmodified-since"));
             ius && options.last_modified && mtime > *ius) {
    status(412).send("Precondition Failed");
    co_return 0;
  }
  bool get_or_head = req.method() == Method::kGet || req.method() == Method::kHead;
  std::string_view if_none = req.header("if-none-match");
  bool not_modified = false;
  if (!if_none.empty()) {
    not_modified = options.etag && etag_listed(if_none, etag, true);
  } else if (auto ims = detail::parse_http_date(req.header("if-modified-since"));
             ims && options.last_modified && get_or_head) {
    not_modified = mtime <= *ims;
  }
  if (not_modified) {
    if (get_or_head) {
      status(304).end();
    } else {
      status(412).send("Precondition Failed");
    }
    co_return 0;
  }

  std::string_view type = has_content_type_ ? std::string_view{} : detail::mime_type_for(path);
  std::vector<detail::ByteRange> ranges;
  detail::RangeAnswer answer = detail::RangeAnswer::kWhole;
  if (options.ranges) {
    set("Accept-Ranges", "bytes");
    std::string_view range = req.header("range");
    std::string_view if_range = syntax::trim_ows(req.header("if-range"));
    bool range_applies = req.method() == Method::kGet && !range.empty();
    if (range_applies && !if_range.empty()) {  // the client's copy must still be this file
      range_applies = if_range.front() == '"'
                          ? options.etag && if_range == etag
                          : options.last_modified && detail::parse_http_date(if_range) == mtime;
    }
    if (range_applies) answer = detail::parse_byte_ranges(range, size, ranges);
    // Several ranges make the body multipart/byteranges: a type the handler set cannot be
    // replaced (headers are kept serialized), so that case is answered whole.
    if (answer == detail::RangeAnswer::kPartial && ranges.size() > 1 && has_content_type_) {
      answer = detail::RangeAnswer::kWhole;
      ranges.clear();
    }
  }
  if (answer == detail::RangeAnswer::kUnsatisfiable) {
    set("Content-Range", "bytes */" + std::to_string(size));
    status(416).send("Range Not Satisfiable");
    co_return 0;
  }

  // The head: the body's exact length is known, so it is never chunked.
  std::vector<std::string> part_heads;  // multipart: what goes before each range
  std::string tail;
  uint64_t length = size;
  if (answer == detail::RangeAnswer::kPartial && ranges.size() == 1) {
    status(206);
    set("Content-Range", content_range(ranges[0].first, ranges[0].last, size));
    length = ranges[0].size();
  } else if (answer == detail::RangeAnswer::kPartial) {
    status(206);
    std::string boundary = random_boundary();
    std::string part_type(type.empty() ? get("Content-Type") : type);
    length = 0;
    for (const detail::ByteRange& r : ranges) {
      std::string h = part_heads.empty() ? "--" : "\r\n--";
      h += boundary;
      if (!part_type.empty()) h += "\r\nContent-Type: " + part_type;
      h += "\r\nContent-Range: " + content_range(r.first, r.last, size) + "\r\n\r\n";
      length += h.size() + r.size();
      part_heads.push_back(std::move(h));
    }
    tail = "\r\n--" + boundary + "--\r\n";
    length += tail.size();
    type = {};
    set("Content-Type", "multipart/byteranges; boundary=" + boundary);
  }
  if (!type.empty()) set("Content-Type", type);
  set("Content-Length", std::to_string(length));

  // The body: streamed, never buffered.
  headers_sent_ = true;
  conn_->start_stream(*this);
  if (part_heads.empty()) {
    uint64_t first = ranges.empty() ? 0 : ranges[0].first;
    streamed_bytes_ += length;
    co_await conn_->write_file(*this, f.file.fd, first, length);
  } else {
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      streamed_bytes_ += part_heads[i].size() + ranges[i].size();
      co_await conn_->write_body(*this, part_heads[i]);
      co_await conn_->write_file(*this, f.file.fd, ranges[i].first, ranges[i].size());
    }
    streamed_bytes_ += tail.size();
    co_await conn_->write_body(*this, tail);
  }
  end();
  co_return 0;
}

Task<void> ServerResponse::send_file(std::string path, SendFileOptions options) {
  Task<void> sending = send_file_as(std::move(path), std::move(options), std::string());
  co_await sending;  // named: g++ 12 may destroy a temporary argument inside co_await twice
}

Task<void> ServerResponse::download(std::string path, std::string filename,
                                    SendFileOptions options) {
  std::string disposition = attachment(filename.empty() ? base_name(path) : filename);
  Task<void> sending = send_file_as(std::move(path), std::move(options), std::move(disposition));
  co_await sending;
}

Task<void> ServerResponse::send_file_as(std::string path, SendFileOptions options,
                                        std::string disposition) {
  int root_fd = AT_FDCWD;
  FileHandle root;
  if (!options.root.empty()) {
    root.fd = ::open(options.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root.fd < 0) throw Error(errno, "send_file root");
    root_fd = root.fd;
    while (!path.empty() && path.front() == '/') path.erase(0, 1);
    if (path.empty()) path = ".";
  }
  Task<int> sending = send_file_at(root_fd, std::move(path), options, std::move(disposition));
  int err = co_await sending;
  if (err == 0 || ended_) co_return;
  if (err == EXDEV || err == EACCES || err == ELOOP || err == EPERM)
    status(403).send("Forbidden");
  else if (err == ENOENT || err == ENOTDIR || err == EISDIR || err == ENAMETOOLONG)
    status(404).send("Not Found");
  else
    status(500).send("Internal Server Error");
}

}  // namespace brigade::http
