#pragma once
// serve_static: a folder served as Express's express.static serves it.
//
//   app.use("/assets", http::serve_static("public", {.file = {.max_age_s = 3600}}));
//
// GET and HEAD of "/assets/css/site.css" send public/css/site.css through Res::send_file
// (sendfile(2), ETag / Last-Modified and 304, Range and 206, Cache-Control; see
// SendFileOptions). A folder asked with a trailing slash gets its index file; without one, a
// 301 to the slash. The path is percent-decoded; a NUL or a malformed escape answers 400, a ".."
// segment 403, and the file is opened by the kernel beneath the root (openat2 RESOLVE_BENEATH),
// so no path or symlink can reach a file outside it (403). Dotfiles are ignored by default.
// What is not found (or another method) falls through to the next middleware and routes, as
// express.static does, unless `fallthrough` is off (then 404 / 405 here).
#include <memory>
#include <string>
#include <vector>

#include "brigade/http/router.hpp"
#include "brigade/http/server_response.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

struct StaticOptions {
  SendFileOptions file;              // caching, validators, ranges, symlinks (root is ignored)
  std::string index = "index.html";  // a folder's file; empty: folders are not served
  bool redirect_folders = true;      // "/docs" -> 301 "/docs/" when docs is a folder
  enum class Dotfiles : uint8_t { kIgnore, kDeny, kAllow };
  Dotfiles dotfiles = Dotfiles::kIgnore;  // ".env", ".git/": as missing, 403, or served
  bool fallthrough = true;
  std::vector<std::string> extensions;  // tried in order when the path is missing: {"html"}
};

// A coroutine middleware (use it with app.use, mounted or not). Copies share the open root.
class ServeStatic {
 public:
  Task<void> operator()(Req& req, Res& res) const;

 private:
  friend ServeStatic serve_static(std::string root, StaticOptions options);
  struct State;
  std::shared_ptr<const State> state_;
};

// Opens `root` now (a folder; relative to the working directory): throws brigade::Error if it
// cannot be opened, so a wrong path fails at start-up, not on the first request.
ServeStatic serve_static(std::string root, StaticOptions options = {});

}  // namespace brigade::http
