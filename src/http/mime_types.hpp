#pragma once
// Content-Type by file extension, from /etc/mime.types (Debian's media-types) when present.
#include <string_view>

namespace brigade::http::detail {

// "text/html; charset=utf-8" for "a/index.html"; application/octet-stream when unknown. Text
// types carry charset=utf-8. The table is read once, on first use, from any thread.
std::string_view mime_type_for(std::string_view path);

}  // namespace brigade::http::detail
