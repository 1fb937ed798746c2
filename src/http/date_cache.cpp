#include "date_cache.hpp"

#include <time.h>

namespace brigade::http::detail {

namespace {
constexpr const char kDays[] = "SunMonTueWedThuFriSat";
constexpr const char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

void two_digits(char* out, int v) noexcept {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}
}  // namespace

void DateCache::refresh(uint64_t loop_now_ms) noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char* p = text_;  // formatted by hand: strftime's %a and %b follow the locale
  for (int i = 0; i < 3; ++i) *p++ = kDays[t.tm_wday * 3 + i];
  *p++ = ',';
  *p++ = ' ';
  two_digits(p, t.tm_mday);
  p += 2;
  *p++ = ' ';
  for (int i = 0; i < 3; ++i) *p++ = kMonths[t.tm_mon * 3 + i];
  *p++ = ' ';
  int year = t.tm_year + 1900;
  two_digits(p, year / 100);
  two_digits(p + 2, year % 100);
  p += 4;
  *p++ = ' ';
  two_digits(p, t.tm_hour);
  p[2] = ':';
  two_digits(p + 3, t.tm_min);
  p[5] = ':';
  two_digits(p + 6, t.tm_sec);
  p += 8;
  *p++ = ' ';
  *p++ = 'G';
  *p++ = 'M';
  *p++ = 'T';
  *p = '\0';
  // Valid until the next wall-clock second begins.
  valid_until_ms_ = loop_now_ms + 1000 - static_cast<uint64_t>(ts.tv_nsec / 1'000'000);
}

}  // namespace brigade::http::detail
