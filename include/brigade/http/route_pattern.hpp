#pragma once
// RoutePattern: an Express-style path pattern, compiled once.
//   "/users/:id"        ":id" matches one non-empty segment, captured as param "id"
//   "/files/*"          "*" matches the rest of the path (possibly empty), captured as "*"
//   "/a/*/b"            "*" in the middle matches exactly one segment
// Literal segments compare exactly (case-sensitive, on the raw path); a trailing slash on the
// request is ignored ("/users/7/" matches "/users/:id").
#include <string>
#include <string_view>
#include <vector>

namespace brigade::http {

class ServerRequest;

class RoutePattern {
 public:
  explicit RoutePattern(std::string pattern);

  // Whether `path` matches; with `req`, the captures are added to it as params.
  bool match(std::string_view path, ServerRequest* req = nullptr) const;
  const std::string& text() const noexcept { return text_; }

 private:
  enum class Kind : unsigned char { kLiteral, kParam, kStar, kRest };
  struct Segment {
    Kind kind;
    std::string_view text;  // the literal, or the param's name (views into text_)
  };
  std::string text_;
  std::vector<Segment> segments_;
};

}  // namespace brigade::http
