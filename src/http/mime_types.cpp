#include "mime_types.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>

namespace brigade::http::detail {

namespace {
// What a server without /etc/mime.types still needs to serve a web page.
constexpr std::pair<std::string_view, std::string_view> kBuiltIn[] = {
    {"html", "text/html"},        {"htm", "text/html"},
    {"css", "text/css"},          {"js", "text/javascript"},
    {"mjs", "text/javascript"},   {"json", "application/json"},
    {"txt", "text/plain"},        {"svg", "image/svg+xml"},
    {"png", "image/png"},         {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},       {"gif", "image/gif"},
    {"webp", "image/webp"},       {"ico", "image/vnd.microsoft.icon"},
    {"wasm", "application/wasm"}, {"pdf", "application/pdf"},
    {"xml", "application/xml"},   {"woff2", "font/woff2"},
    {"mp4", "video/mp4"},         {"gz", "application/gzip"},
};

bool is_text(std::string_view type) {
  return type.starts_with("text/") || type == "application/json" ||
         type == "application/javascript" || type == "application/xml" || type == "image/svg+xml";
}

std::string with_charset(std::string_view type) {
  std::string t(type);
  if (is_text(type)) t += "; charset=utf-8";
  return t;
}

using Table = std::unordered_map<std::string, std::string>;

Table load() {
  Table table;
  for (auto [ext, type] : kBuiltIn) table.emplace(ext, with_charset(type));
  std::ifstream in("/etc/mime.types");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string type, ext;
    if (!(words >> type)) continue;
    std::string value = with_charset(type);
    while (words >> ext) table.try_emplace(ext, value);  // the built-in choice wins (js)
  }
  return table;
}
}  // namespace

std::string_view mime_type_for(std::string_view path) {
  static const Table table = load();  // C++ guarantees one initialization across threads
  std::size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size()) return "application/octet-stream";
  std::string ext(name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  auto it = table.find(ext);
  return it == table.end() ? std::string_view("application/octet-stream") : it->second;
}

}  // namespace brigade::http::detail
