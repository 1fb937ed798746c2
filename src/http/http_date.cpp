#include "http_date.hpp"

#include <cstdint>

namespace brigade::http::detail {

namespace {
constexpr std::string_view kDays = "SunMonTueWedThuFriSat";
constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";

void two_digits(char* out, int v) noexcept {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (no timegm: it reads TZ
// state under a lock and accepts out-of-range fields).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// A little cursor over the text: each take_* consumes on success only.
struct Cursor {
  std::string_view s;
  bool lit(std::string_view l) noexcept {
    if (s.substr(0, l.size()) != l) return false;
    s.remove_prefix(l.size());
    return true;
  }
  bool number(int digits_min, int digits_max, int& v) noexcept {
    int n = 0;
    v = 0;
    while (n < digits_max && n < static_cast<int>(s.size()) && s[n] >= '0' && s[n] <= '9')
      v = v * 10 + (s[n++] - '0');
    if (n < digits_min) return false;
    s.remove_prefix(n);
    return true;
  }
  bool month(int& m) noexcept {
    if (s.size() < 3) return false;
    for (int i = 0; i < 12; ++i) {
      if (s.substr(0, 3) == kMonths.substr(i * 3, 3)) {
        m = i + 1;
        s.remove_prefix(3);
        return true;
      }
    }
    return false;
  }
  bool clock(int& h, int& mi, int& se) noexcept {
    return number(2, 2, h) && lit(":") && number(2, 2, mi) && lit(":") && number(2, 2, se);
  }
};

std::optional<std::time_t> make_time(int y, int m, int d, int h, int mi, int s) noexcept {
  static constexpr int kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kMonthDays[m - 1] || h > 23 || mi > 59 || s > 60)
    return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return static_cast<std::time_t>(days * 86400 + h * 3600 + mi * 60 + (s == 60 ? 59 : s));
}
}  // namespace

void format_http_date(std::time_t t, char* out) noexcept {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char* p = out;
  for (int i = 0; i < 3; ++i) *p++ = kDays[static_cast<std::size_t>(tm.tm_wday * 3 + i)];
  *p++ = ',';
  *p++ = ' ';
  two_digits(p, tm.tm_mday);
  p += 2;
  *p++ = ' ';
  for (int i = 0; i < 3; ++i) *p++ = kMonths[static_cast<std::size_t>(tm.tm_mon * 3 + i)];
  *p++ = ' ';
  int year = tm.tm_year + 1900;
  two_digits(p, year / 100 % 100);
  two_digits(p + 2, year % 100);
  p += 4;
  *p++ = ' ';
  two_digits(p, tm.tm_hour);
  p[2] = ':';
  two_digits(p + 3, tm.tm_min);
  p[5] = ':';
  two_digits(p + 6, tm.tm_sec);
  p += 8;
  *p++ = ' ';
  *p++ = 'G';
  *p++ = 'M';
  *p = 'T';
}

std::optional<std::time_t> parse_http_date(std::string_view text) noexcept {
  int y = 0, m = 0, d = 0, h = 0, mi = 0, s = 0;
  std::size_t comma = text.find(',');
  Cursor c{text};
  if (comma == 3) {  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    c.s.remove_prefix(4);
    if (c.lit(" ") && c.number(2, 2, d) && c.lit(" ") && c.month(m) && c.lit(" ") &&
        c.number(4, 4, y) && c.lit(" ") && c.clock(h, mi, s) && c.lit(" GMT") && c.s.empty())
      return make_time(y, m, d, h, mi, s);
    return std::nullopt;
  }
  if (comma != std::string_view::npos) {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    c.s.remove_prefix(comma + 1);
    if (!(c.lit(" ") && c.number(2, 2, d) && c.lit("-") && c.month(m) && c.lit("-") &&
          c.number(2, 2, y) && c.lit(" ") && c.clock(h, mi, s) && c.lit(" GMT") && c.s.empty()))
      return std::nullopt;
    y += y < 70 ? 2000 : 1900;  // two-digit years: the nearest past century, per RFC 9110
    return make_time(y, m, d, h, mi, s);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (c.s.size() < 4) return std::nullopt;
  c.s.remove_prefix(4);
  if (!(c.month(m) && c.lit(" "))) return std::nullopt;
  c.lit(" ");  // a one-digit day is padded with a space
  if (c.number(1, 2, d) && c.lit(" ") && c.clock(h, mi, s) && c.lit(" ") && c.number(4, 4, y) &&
      c.s.empty())
    return make_time(y, m, d, h, mi, s);
  return std::nullopt;
}

}  // namespace brigade::http::detail
