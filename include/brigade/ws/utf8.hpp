#pragma once
// Utf8Validator: checks UTF-8 as it arrives in pieces (a text message's fragments), so a
// message is rejected at the first bad byte, before the rest of it is buffered (RFC 6455 8.1).
// Overlong forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF are invalid.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brigade::ws {

class Utf8Validator {
 public:
  // False at the first invalid byte (the validator then stays failed until reset()).
  bool feed(std::string_view bytes) noexcept;
  // Whether everything fed so far ends on a character boundary (the message may end here).
  bool complete() const noexcept { return need_ == 0 && !failed_; }
  void reset() noexcept { *this = Utf8Validator(); }

 private:
  uint8_t need_ = 0;   // continuation bytes still expected
  uint8_t lo_ = 0x80;  // the range the next continuation byte must fall in
  uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

// One-shot check of a whole string.
bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace brigade::ws
