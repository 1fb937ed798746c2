// Request body parsers: JSON, urlencoded forms, multipart uploads (see body.hpp).
#include "brigade/http/body.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "body_decoding.hpp"
#include "brigade/error.hpp"
#include "brigade/fs/file.hpp"
#include "brigade/http/server_request.hpp"

namespace brigade::http {

namespace {

// The media type of a Content-Type, lower case, without parameters.
std::string media_type(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  std::string out(t);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void unsupported(std::string_view content_type, std::string_view wanted) {
  throw HttpError(
      415, "Unsupported Media Type: expected " + std::string(wanted) + ", got " +
               (content_type.empty() ? std::string("no Content-Type") : std::string(content_type)));
}

std::string too_large_message(uint64_t limit) {
  return "Payload Too Large: the body is over the limit of " + std::to_string(limit) + " bytes";
}

// The whole body, from the buffer or the socket, up to `max_bytes` (413 beyond), its
// Content-Encoding decoded (the limit is the decoded size's, as body-parser's).
Task<std::string> whole_body(ServerRequest& req, const BodyLimits& limits) {
  uint64_t max_bytes = limits.max_bytes;
  Coding coding = detail::request_coding(req, limits.inflate);
  if (coding == Coding::kIdentity && !req.streamed()) {
    if (max_bytes && req.body().size() > max_bytes)
      throw HttpError(413, too_large_message(max_bytes));
    co_return req.body();
  }
  try {
    if (coding == Coding::kIdentity) co_return co_await req.read_all(max_bytes);
    detail::BodyPieces pieces(req, coding, max_bytes);
    std::string all;
    for (;;) {
      std::string_view piece = co_await pieces.next();
      if (piece.empty()) break;
      all += piece;
    }
    co_return all;
  } catch (const Error& e) {
    if (e.code().value() == EFBIG) throw HttpError(413, too_large_message(max_bytes));
    throw;
  }
}

std::string temp_directory(const std::string& wanted) {
  if (!wanted.empty()) return wanted;
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

std::string temp_name(const std::string& dir) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char name[40];
  std::snprintf(name, sizeof name, "/brigade-upload-%016llx",
                static_cast<unsigned long long>(rng()));
  return dir + name;
}

}  // namespace

Task<nlohmann::json> json_body(ServerRequest& req, BodyLimits limits) {
  std::string type = media_type(req.header("content-type"));
  if (type != "application/json" && !(type.size() > 5 && type.ends_with("+json")))
    unsupported(req.header("content-type"), "application/json");
  std::string text = co_await whole_body(req, limits);
  if (text.empty()) throw HttpError(400, "Bad Request: the JSON body is empty");
  try {
    co_return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw HttpError(400, std::string("Bad Request: invalid JSON: ") + e.what());
  }
}

std::string_view form_value(const FormFields& fields, std::string_view name) noexcept {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

Task<FormFields> form_body(ServerRequest& req, BodyLimits limits) {
  if (media_type(req.header("content-type")) != "application/x-www-form-urlencoded")
    unsupported(req.header("content-type"), "application/x-www-form-urlencoded");
  std::string text = co_await whole_body(req, limits);
  FormFields fields;
  std::string error;
  if (int status = parse_form(text, fields, limits.max_fields, error))
    throw HttpError(status, error);
  co_return fields;
}

Task<std::string> text_body(ServerRequest& req, BodyLimits limits) {
  std::string text = co_await whole_body(req, limits);
  co_return text;
}

MultipartForm::MultipartForm(MultipartForm&& o) noexcept
    : fields(std::move(o.fields)), files(std::move(o.files)) {
  o.files.clear();
}

MultipartForm& MultipartForm::operator=(MultipartForm&& o) noexcept {
  if (this != &o) {
    remove_files();
    fields = std::move(o.fields);
    files = std::move(o.files);
    o.files.clear();
  }
  return *this;
}

MultipartForm::~MultipartForm() { remove_files(); }

void MultipartForm::remove_files() noexcept {
  for (const UploadedFile& f : files)
    if (!f.path.empty()) ::unlink(f.path.c_str());  // gone already if the handler renamed it
  files.clear();
}

const UploadedFile* MultipartForm::file(std::string_view field) const noexcept {
  for (const UploadedFile& f : files)
    if (f.field == field) return &f;
  return nullptr;
}

namespace {

// One multipart request being read: the parser, the part being written, what was collected.
struct MultipartReader {
  ServerRequest& req;
  const MultipartOptions& options;
  const FilePartHandler& on_file;
  MultipartParser parser;
  detail::BodyPieces pieces;
  MultipartForm form;
  std::string dir;
  fs::File file;      // the current file part's temporary file
  std::string value;  // the current plain field's value
  uint64_t part_bytes = 0;
  uint64_t body_bytes = 0;
  std::size_t parts = 0;

  MultipartReader(ServerRequest& r, const MultipartOptions& o, const FilePartHandler& h,
                  std::string boundary)
      : req(r),
        options(o),
        on_file(h),
        parser(boundary, o.limits.max_header_bytes),
        pieces(r, detail::request_coding(r, o.inflate), o.limits.max_bytes),
        dir(temp_directory(o.temp_dir)) {}

  // Feeds the parser the next piece of the body (decoded); false at its end.
  Task<bool> feed() {
    std::string_view piece = co_await pieces.next();
    if (piece.empty()) {
      parser.end();
      co_return false;
    }
    body_bytes += piece.size();
    check_body_size();
    parser.push(piece);
    co_return true;
  }

  void check_body_size() const {
    uint64_t max = options.limits.max_bytes;
    if (max && body_bytes > max) throw HttpError(413, too_large_message(max));
  }

  Task<void> begin_part() {
    const MultipartLimits& l = options.limits;
    const MultipartPart& part = parser.part();
    if (++parts > l.max_parts)
      throw HttpError(413,
                      "Payload Too Large: more than " + std::to_string(l.max_parts) + " parts");
    part_bytes = 0;
    value.clear();
    if (!part.is_file) co_return;
    std::size_t files = form.files.size() + 1;
    if (files > l.max_files)
      throw HttpError(413,
                      "Payload Too Large: more than " + std::to_string(l.max_files) + " files");
    UploadedFile f{part.name, part.filename, part.content_type, {}, 0};
    if (!on_file) {
      f.path = temp_name(dir);
      // Listed before the open: if the open fails half way, the destructor still cleans up.
      form.files.push_back(f);
      file = co_await fs::open(f.path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    } else {
      form.files.push_back(std::move(f));
    }
  }

  Task<void> data(std::string_view piece) {
    const MultipartLimits& l = options.limits;
    const MultipartPart& part = parser.part();
    part_bytes += piece.size();
    if (!part.is_file) {
      if (part_bytes > l.max_field_bytes)
        throw HttpError(413, "Payload Too Large: the field '" + part.name + "' is over " +
                                 std::to_string(l.max_field_bytes) + " bytes");
      value.append(piece);
      co_return;
    }
    if (part_bytes > l.max_file_bytes)
      throw HttpError(413, "Payload Too Large: the file '" + part.filename + "' is over " +
                               std::to_string(l.max_file_bytes) + " bytes");
    form.files.back().size = part_bytes;
    if (on_file)
      co_await on_file(part, piece);
    else
      co_await file.write(piece);
  }

  Task<void> end_part() {
    const MultipartPart& part = parser.part();
    if (!part.is_file) {
      form.fields.emplace_back(part.name, std::move(value));
      value.clear();
      co_return;
    }
    if (on_file)
      co_await on_file(part, std::string_view{});
    else
      co_await file.close();
  }

  Task<void> read() {
    for (;;) {
      MultipartEvent e = parser.next();
      switch (e.kind) {
        case MultipartEvent::kNeedMore:
          co_await feed();
          break;
        case MultipartEvent::kPartBegin:
          co_await begin_part();
          break;
        case MultipartEvent::kData:
          co_await data(e.data);
          break;
        case MultipartEvent::kPartEnd:
          co_await end_part();
          break;
        case MultipartEvent::kDone:
          co_return;
        case MultipartEvent::kError:
          throw HttpError(
              parser.too_large() ? 413 : 400,
              (parser.too_large() ? "Payload Too Large: " : "Bad Request: ") + parser.error());
      }
    }
  }
};

}  // namespace

Task<MultipartForm> multipart_body(ServerRequest& req, MultipartOptions options,
                                   FilePartHandler on_file) {
  std::string_view content_type = req.header("content-type");
  if (media_type(content_type) != "multipart/form-data")
    unsupported(content_type, "multipart/form-data");
  std::optional<std::string> boundary = multipart_boundary(content_type);
  if (!boundary) throw HttpError(400, "Bad Request: multipart/form-data without a valid boundary");
  MultipartReader reader(req, options, on_file, std::move(*boundary));
  co_await reader.read();
  co_return std::move(reader.form);
}

Task<nlohmann::json> ServerRequest::json(BodyLimits limits) { return json_body(*this, limits); }

Task<FormFields> ServerRequest::form(BodyLimits limits) { return form_body(*this, limits); }

Task<MultipartForm> ServerRequest::multipart(MultipartOptions options, FilePartHandler on_file) {
  return multipart_body(*this, std::move(options), std::move(on_file));
}

}  // namespace brigade::http
