#include "brigade/http/route_pattern.hpp"

#include "access.hpp"
#include "brigade/http/server_request.hpp"

namespace brigade::http {

using detail::RequestAccess;

namespace {
// The next segment of `path` (which starts after a '/'), and what follows it.
std::string_view next_segment(std::string_view& rest) noexcept {
  std::size_t slash = rest.find('/');
  std::string_view seg = rest.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  return seg;
}
}  // namespace

RoutePattern::RoutePattern(std::string pattern) : text_(std::move(pattern)) {
  std::string_view rest = text_;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  while (!rest.empty()) {
    bool last = rest.find('/') == std::string_view::npos;
    std::string_view seg = next_segment(rest);
    if (seg.empty()) continue;
    auto offset = static_cast<uint32_t>(seg.data() - text_.data());
    auto length = static_cast<uint32_t>(seg.size());
    if (seg == "*")
      segments_.push_back({last ? Kind::kRest : Kind::kStar, offset, 1});
    else if (seg.front() == ':')
      segments_.push_back({Kind::kParam, offset + 1, length - 1});
    else
      segments_.push_back({Kind::kLiteral, offset, length});
  }
}

bool RoutePattern::match(std::string_view path, ServerRequest* req) const {
  if (path.empty() || path.front() != '/') return false;
  std::string_view rest = path.substr(1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  for (const Segment& s : segments_) {
    if (s.kind == Kind::kRest) {
      if (req) RequestAccess::add_param(*req, "*", rest);
      return true;
    }
    if (rest.empty() && s.kind != Kind::kRest) return false;
    std::string_view seg = next_segment(rest);
    switch (s.kind) {
      case Kind::kLiteral:
        if (seg != text_of(s)) return false;
        break;
      case Kind::kParam:
      case Kind::kStar:
        if (seg.empty()) return false;
        if (req) RequestAccess::add_param(*req, text_of(s), seg);
        break;
      case Kind::kRest:
        break;
    }
  }
  return rest.empty();
}

std::size_t RoutePattern::prefix_length(std::string_view path) const {
  if (path.empty() || path.front() != '/') return std::string_view::npos;
  std::string_view rest = path.substr(1);
  std::size_t end = 0;  // the end of the last matched segment: the slash after it stays out
  for (const Segment& s : segments_) {
    if (s.kind == Kind::kRest) return path.size();
    if (rest.empty()) return std::string_view::npos;
    std::string_view seg = next_segment(rest);
    if (seg.empty()) return std::string_view::npos;
    if (s.kind == Kind::kLiteral && seg != text_of(s)) return std::string_view::npos;
    end = static_cast<std::size_t>(seg.data() + seg.size() - path.data());
  }
  return end;
}

std::string join_paths(std::string_view prefix, std::string_view path) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (path.empty() || path == "/") return prefix.empty() ? std::string("/") : std::string(prefix);
  std::string joined(prefix);
  if (path.front() != '/') joined += '/';
  joined += path;
  return joined;
}

}  // namespace brigade::http
