// Which Content-Types are worth compressing (the default filter of http::compression).
#include <cctype>

#include "brigade/http/compression.hpp"

namespace brigade::http {

namespace {
// application/* and other types that compress well although not text/* (mime-db's
// "compressible": true), lower case.
constexpr std::string_view kCompressible[] = {
    "application/json",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/xml",
    "application/x-ndjson",
    "application/graphql",
    "application/wasm",
    "application/rtf",
    "application/x-sh",
    "application/sql",
    "application/toml",
    "application/yaml",
    "application/x-yaml",
    "application/x-tar",
    "application/vnd.ms-fontobject",
    "application/x-font-ttf",
    "application/x-font-otf",
    "application/x-www-form-urlencoded",
    "font/ttf",
    "font/otf",
    "image/bmp",
    "image/x-icon",
    "image/vnd.microsoft.icon",
    "image/x-ms-bmp",
};
}  // namespace

bool compressible(std::string_view content_type) noexcept {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  if (t.empty() || t.size() > 127) return false;
  char lower[128];
  for (std::size_t i = 0; i < t.size(); ++i)
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[i])));
  std::string_view type(lower, t.size());
  if (type.starts_with("text/")) return true;
  // Structured syntax suffixes (RFC 6839): JSON and XML compress whatever the base type.
  if (type.ends_with("+json") || type.ends_with("+xml") || type.ends_with("+text")) return true;
  for (std::string_view c : kCompressible)
    if (type == c) return true;
  return false;  // images, audio, video, archives, woff/woff2, octet-stream, unknown types
}

}  // namespace brigade::http
