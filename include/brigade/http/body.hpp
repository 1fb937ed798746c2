#pragma once
// Request body parsers (Express's express.json(), express.urlencoded() and multer):
//
//   app.post("/users", [](Req& req, Res& res) -> Task<void> {
//     nlohmann::json user = co_await http::json_body(req);        // or req.json() alike
//     ...
//   });
//   http::FormFields f = co_await http::form_body(req);            // a=1&b=x%20y
//   http::MultipartForm up = co_await http::multipart_body(req);  // fields, files on disk
//
// Bad input throws HttpError, which the App answers with its status and message when no error
// handler does: 415 for another Content-Type, 413 past a limit, 400 for malformed bytes. The
// body is read from the buffer (a buffered route) or pulled from the socket as it arrives (a
// streamed route, RouteOptions::stream()): multipart file parts then go to a temporary file (or
// a handler) piece by piece, never whole in memory.
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "brigade/http/multipart.hpp"
#include "brigade/http/query.hpp"
#include "brigade/task/task.hpp"

namespace brigade::http {

class ServerRequest;

// An error that carries the HTTP status to answer (Express's http-errors: err.status).
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

struct BodyLimits {
  uint64_t max_bytes = 1024 * 1024;  // 413 beyond, decoded (body-parser's default is 100 KiB)
  std::size_t max_fields = 1000;     // form: 413 beyond (body-parser's parameterLimit)
  // Decode a Content-Encoding (gzip, deflate, br, zstd) as body-parser's `inflate` does; false:
  // a coded body is 415.
  bool inflate = true;
};
// Trivially destructible, so `co_await req.json({.max_bytes = 4096})` is safe under g++ 12.
static_assert(std::is_trivially_destructible_v<BodyLimits>);

// Every parser decodes a body sent with Content-Encoding (gzip, deflate, br, zstd) as it
// reads it, as Express's body-parser inflates: the limits count decoded bytes, so a small body
// that inflates past them (a zip bomb) is 413 once the limit is passed, with no more than one
// 64 KiB step decoded beyond it; corrupt or truncated data is 400, another coding (or several)
// 415. req.body() itself stays as sent.

// application/json (or any */*+json). Empty body: 400.
Task<nlohmann::json> json_body(ServerRequest& req, BodyLimits limits = {});

// application/x-www-form-urlencoded, in order, %XX and '+' decoded; a malformed escape: 400.
using FormFields = QueryPairs;
Task<FormFields> form_body(ServerRequest& req, BodyLimits limits = {});
// The whole body as sent, any Content-Type, its Content-Encoding decoded (express.text() /
// express.raw() for any type).
Task<std::string> text_body(ServerRequest& req, BodyLimits limits = {});
// The first value of `name` in `fields`, empty if absent.
std::string_view form_value(const FormFields& fields, std::string_view name) noexcept;

struct UploadedFile {
  std::string field;         // the form field's name
  std::string filename;      // the client's file name (base name only; may be empty)
  std::string content_type;  // as the client sent it
  std::string path;          // the temporary file (empty when a FilePartHandler took it)
  uint64_t size = 0;
};

struct MultipartLimits {
  uint64_t max_bytes = 0;                    // the whole body; 0: no limit but the others
  uint64_t max_file_bytes = 64ull << 20;     // one file part: 413 beyond
  uint64_t max_field_bytes = 64 * 1024;      // one plain field's value: 413 beyond
  std::size_t max_parts = 1000;              // 413 beyond
  std::size_t max_files = 16;                // 413 beyond
  std::size_t max_header_bytes = 16 * 1024;  // one part's head: 413 beyond
};

// The plain fields (in memory) and the files (on disk). Removes its temporary files when
// destroyed: rename (or copy) the ones to keep first.
struct MultipartForm {
  FormFields fields;
  std::vector<UploadedFile> files;

  MultipartForm() = default;
  MultipartForm(MultipartForm&& o) noexcept;
  MultipartForm& operator=(MultipartForm&& o) noexcept;
  ~MultipartForm();
  std::string_view field(std::string_view name) const noexcept { return form_value(fields, name); }
  const UploadedFile* file(std::string_view field) const noexcept;

 private:
  void remove_files() noexcept;
};

// Takes a file part's bytes instead of a temporary file: called with each piece in order, then
// once with an empty piece at the part's end. A throw fails the request (its HttpError status,
// or 500).
using FilePartHandler =
    std::function<Task<void>(const MultipartPart& part, std::string_view piece)>;

struct MultipartOptions {
  MultipartLimits limits;  // max_bytes counts decoded bytes
  std::string temp_dir;    // where file parts go; empty: $TMPDIR or /tmp
  bool inflate = true;     // decode a Content-Encoding; false: a coded body is 415
};

// multipart/form-data. Missing boundary: 400; another type: 415.
Task<MultipartForm> multipart_body(ServerRequest& req, MultipartOptions options = {},
                                   FilePartHandler on_file = nullptr);

}  // namespace brigade::http
