#pragma once
// RoutePattern: an Express-style path pattern, compiled once.
//   "/users/:id"        ":id" matches one non-empty segment, captured as param "id"
//   "/files/*"          "*" matches the rest of the path (possibly empty), captured as "*"
//   "/a/*/b"            "*" in the middle matches exactly one segment
// Literal segments compare exactly (case-sensitive, on the raw path); a trailing slash on the
// request is ignored ("/users/7/" matches "/users/:id").
#include <cstdint>
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
  // Whether the pattern matches the leading segments of `path` (a middleware's mount prefix:
  // "/api" matches "/api" and "/api/x", not "/apix"); captures nothing.
  bool match_prefix(std::string_view path) const {
    return prefix_length(path) != std::string_view::npos;
  }
  // How many bytes of `path` the prefix matched ("/api" in "/api/x": 4), npos if it does not.
  std::size_t prefix_length(std::string_view path) const;
  const std::string& text() const noexcept { return text_; }

 private:
  enum class Kind : unsigned char { kLiteral, kParam, kStar, kRest };
  struct Segment {
    Kind kind;
    uint32_t offset;  // the literal, or the param's name, in text_ (offsets: text_ may move)
    uint32_t length;
  };
  std::string_view text_of(const Segment& s) const noexcept {
    return std::string_view(text_).substr(s.offset, s.length);
  }
  std::string text_;
  std::vector<Segment> segments_;
};

// A mount prefix and a pattern under it: "/v1" + "/users/:id" -> "/v1/users/:id",
// "/v1" + "/" -> "/v1", "" + "/x" -> "/x".
std::string join_paths(std::string_view prefix, std::string_view path);

}  // namespace brigade::http
