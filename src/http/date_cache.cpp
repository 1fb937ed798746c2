#include "date_cache.hpp"

#include <time.h>

#include "http_date.hpp"

namespace brigade::http::detail {

void DateCache::refresh(uint64_t loop_now_ms) noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  format_http_date(ts.tv_sec, text_);
  text_[kLength] = '\0';
  // Valid until the next wall-clock second begins.
  valid_until_ms_ = loop_now_ms + 1000 - static_cast<uint64_t>(ts.tv_nsec / 1'000'000);
}

}  // namespace brigade::http::detail
