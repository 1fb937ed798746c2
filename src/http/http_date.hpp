#pragma once
// HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate out; all three historic forms in.
#include <ctime>
#include <optional>
#include <string_view>

namespace brigade::http::detail {

inline constexpr std::size_t kHttpDateLength = 29;  // "Sun, 06 Nov 1994 08:49:37 GMT"

// Writes the IMF-fixdate of `t` (UTC) into `out` (kHttpDateLength bytes, no NUL). By hand:
// strftime's %a and %b follow the locale.
void format_http_date(std::time_t t, char* out) noexcept;

// IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") or asctime ("Sun Nov  6 08:49:37
// 1994"), as a recipient must accept; nullopt for anything else.
std::optional<std::time_t> parse_http_date(std::string_view text) noexcept;

}  // namespace brigade::http::detail
