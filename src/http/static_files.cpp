// serve_static: the URL path checked and mapped under the root, then Res::send_file.
#include "brigade/http/static_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "access.hpp"
#include "brigade/error.hpp"
#include "brigade/http/query.hpp"

namespace brigade::http {

struct ServeStatic::State {
  int root_fd = -1;
  StaticOptions options;
  ~State() {
    if (root_fd >= 0) ::close(root_fd);
  }
};

namespace {

enum class PathCheck : uint8_t { kOk, kBad, kForbidden, kHidden };

// Decodes the URL path (relative to the mount) into a path under the root, without its
// leading slash; says why not when it cannot be one.
PathCheck to_file_path(std::string_view url_path, StaticOptions::Dotfiles dotfiles,
                       std::string& out) {
  if (!escapes_well_formed(url_path)) return PathCheck::kBad;
  out = percent_decode(url_path);
  if (out.find('\0') != std::string::npos) return PathCheck::kBad;
  std::string_view rest = out;
  PathCheck verdict = PathCheck::kOk;
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg == "..") return PathCheck::kForbidden;  // never resolved, even if it stays inside
    if (seg.size() > 1 && seg.front() == '.' && dotfiles != StaticOptions::Dotfiles::kAllow)
      verdict =
          dotfiles == StaticOptions::Dotfiles::kDeny ? PathCheck::kForbidden : PathCheck::kHidden;
  }
  if (verdict != PathCheck::kOk) return verdict;
  std::size_t start = out.find_first_not_of('/');
  out.erase(0, start == std::string::npos ? out.size() : start);
  return PathCheck::kOk;
}

}  // namespace

ServeStatic serve_static(std::string root, StaticOptions options) {
  auto state = std::make_shared<ServeStatic::State>();
  state->root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (state->root_fd < 0) throw Error(errno, "serve_static: " + root);
  state->options = std::move(options);
  state->options.file.root.clear();
  ServeStatic s;
  s.state_ = std::move(state);
  return s;
}

Task<void> ServeStatic::operator()(Req& req, Res& res) const {
  const State& st = *state_;  // the App (and so this middleware) outlives its requests
  const StaticOptions& o = st.options;
  if (req.method() != Method::kGet && req.method() != Method::kHead) {
    if (!o.fallthrough) res.status(405).set("Allow", "GET, HEAD").send("Method Not Allowed");
    co_return;
  }
  std::string_view url_path = req.relative_path();
  std::string path;
  switch (to_file_path(url_path, o.dotfiles, path)) {
    case PathCheck::kOk:
      break;
    case PathCheck::kBad:
      res.status(400).send("Bad Request");
      co_return;
    case PathCheck::kForbidden:
      res.status(403).send("Forbidden");
      co_return;
    case PathCheck::kHidden:
      if (!o.fallthrough) res.status(404).send("Not Found");
      co_return;
  }
  bool folder_url = url_path.ends_with('/');
  if (folder_url) {
    if (o.index.empty()) {
      if (!o.fallthrough) res.status(404).send("Not Found");
      co_return;
    }
    path += path.empty() ? o.index : (path.ends_with('/') ? "" : "/") + o.index;
  }
  if (path.empty()) path = ".";
  // Tasks named before co_await: g++ 12 may destroy a temporary argument inside it twice.
  Task<int> sending = detail::ResponseAccess::send_file_at(res, st.root_fd, path, o.file);
  int err = co_await sending;
  for (std::size_t i = 0; err == ENOENT && !folder_url && i < o.extensions.size(); ++i) {
    std::string with_extension = path + "." + o.extensions[i];
    Task<int> next = detail::ResponseAccess::send_file_at(res, st.root_fd, with_extension, o.file);
    err = co_await next;
  }
  if (err == 0 || res.ended()) co_return;
  if (err == EISDIR && !folder_url && o.redirect_folders) {
    // Express's redirect: the same URL with a slash, the query kept.
    std::string location(req.path());
    location += '/';
    if (!req.query_string().empty()) {
      location += '?';
      location += req.query_string();
    }
    res.status(301).set("Location", location);
    res.type("text/html; charset=utf-8").send("Redirecting");
    co_return;
  }
  if (err == EXDEV || err == EACCES || err == ELOOP || err == EPERM) {
    res.status(403).send("Forbidden");
    co_return;
  }
  bool missing = err == ENOENT || err == ENOTDIR || err == EISDIR || err == ENAMETOOLONG;
  if (!missing) {
    res.status(500).send("Internal Server Error");
  } else if (!o.fallthrough) {
    res.status(404).send("Not Found");
  }
}

}  // namespace brigade::http
