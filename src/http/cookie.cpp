// Cookie header parsing and Set-Cookie serialization (RFC 6265 sections 4.1 and 5.2).
#include "brigade/http/cookie.hpp"

#include <ctime>
#include <stdexcept>

#include "brigade/http/parser_syntax.hpp"
#include "brigade/http/query.hpp"

namespace brigade::http {

namespace {
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!syntax::is_tchar(c)) return false;
  return true;
}

// cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E; '%' itself is escaped too.
bool cookie_octet(unsigned char c) noexcept {
  return c == 0x21 || (c >= 0x23 && c <= 0x2b && c != 0x25) || (c >= 0x2d && c <= 0x3a) ||
         (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

bool safe_attribute(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f || c == ';') return false;
  return true;
}

void append_http_date(std::string& out, int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  out.append(buf, n);
}
}  // namespace

std::optional<std::string> find_cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    std::size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;  // not a pair: ignored (5.2)
    if (syntax::trim_ows(pair.substr(0, eq)) != name) continue;
    std::string_view value = syntax::trim_ows(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return percent_decode(value);
  }
  return std::nullopt;
}

std::string set_cookie_value(std::string_view name, std::string_view value,
                             const CookieOptions& o) {
  if (!is_token(name))
    throw std::invalid_argument("cookie: the name is not a token: '" + std::string(name) + "'");
  if (!safe_attribute(o.domain) || !safe_attribute(o.path))
    throw std::invalid_argument("cookie: ';' or a control byte in Domain or Path");
  if (o.same_site == SameSite::kNone && !o.secure)
    throw std::invalid_argument("cookie: SameSite=None needs Secure");
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size() + value.size() + 64);
  out.append(name);
  out += '=';
  for (unsigned char c : value) {
    if (cookie_octet(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (o.max_age_s) {
    int64_t age = *o.max_age_s > 0 ? *o.max_age_s : 0;
    out += "; Max-Age=";
    out += std::to_string(age);
    out += "; Expires=";
    append_http_date(out, age > 0 ? static_cast<int64_t>(std::time(nullptr)) + age : 0);
  }
  if (!o.domain.empty()) out.append("; Domain=").append(o.domain);
  if (!o.path.empty()) out.append("; Path=").append(o.path);
  if (o.http_only) out += "; HttpOnly";
  if (o.secure) out += "; Secure";
  switch (o.same_site) {
    case SameSite::kStrict:
      out += "; SameSite=Strict";
      break;
    case SameSite::kLax:
      out += "; SameSite=Lax";
      break;
    case SameSite::kNone:
      out += "; SameSite=None";
      break;
    case SameSite::kUnset:
      break;
  }
  return out;
}

}  // namespace brigade::http
