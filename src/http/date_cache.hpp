#pragma once
// DateCache: the IMF-fixdate for the Date header, formatted at most once per wall-clock second.
#include <cstdint>
#include <string_view>

#include "brigade/loop/loop.hpp"

namespace brigade::http::detail {

class DateCache {
 public:
  // "Sun, 06 Nov 1994 08:49:37 GMT", valid until the loop's clock passes the next second.
  std::string_view get(const Loop& loop) noexcept {
    if (loop.now() >= valid_until_ms_) refresh(loop.now());
    return {text_, kLength};
  }

 private:
  static constexpr std::size_t kLength = 29;
  void refresh(uint64_t loop_now_ms) noexcept;
  uint64_t valid_until_ms_ = 0;
  char text_[kLength + 1] = {};
};

}  // namespace brigade::http::detail
