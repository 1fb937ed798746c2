#pragma once
// Cookies (RFC 6265): reading a request's Cookie header and writing Set-Cookie lines, as
// Express's req.cookies (cookie-parser) and res.cookie(name, value, options).
//
//   res.cookie("sid", token, {.max_age_s = 3600, .http_only = true, .secure = true,
//                             .same_site = http::SameSite::kLax});
//   std::string sid = req.cookie("sid");
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace brigade::http {

enum class SameSite : uint8_t { kUnset, kStrict, kLax, kNone };

struct CookieOptions {
  std::optional<int64_t> max_age_s;  // Max-Age (and Expires for old clients); 0 or less: expire
  std::string domain;                // Domain; empty: host-only
  std::string path = "/";            // Path
  bool http_only = false;            // HttpOnly: not readable from scripts
  bool secure = false;               // Secure: sent over HTTPS only
  SameSite same_site = SameSite::kUnset;  // kNone needs secure (browsers drop it otherwise)
};

// The value of cookie `name` in a Cookie header value ("a=1; b=2"), double quotes removed and
// %XX escapes decoded; nullopt if absent. Malformed pairs are skipped; the first `name` wins.
std::optional<std::string> find_cookie(std::string_view header, std::string_view name);

// A Set-Cookie header value. The value is percent-encoded where RFC 6265 forbids its bytes
// (Express's encodeURIComponent). Throws std::invalid_argument for a name that is not a token,
// a domain or path with ';' or control bytes, or SameSite=None without Secure.
std::string set_cookie_value(std::string_view name, std::string_view value,
                             const CookieOptions& options);

}  // namespace brigade::http
