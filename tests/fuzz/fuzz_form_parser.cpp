// libFuzzer target: the urlencoded form parser on arbitrary bytes. What it accepts must survive
// a round trip: the pairs, encoded again, parse to the same pairs.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "brigade/http/query.hpp"

namespace {
std::string encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  brigade::http::QueryPairs pairs;
  std::string error;
  if (int status = brigade::http::parse_form(body, pairs, 64, error)) {
    if (error.empty() || (status != 400 && status != 413)) __builtin_trap();
    return 0;
  }
  if (pairs.size() > 64) __builtin_trap();
  std::string again;
  for (const auto& [k, v] : pairs) {
    if (!again.empty()) again += '&';
    again += encode(k) + "=" + encode(v);
  }
  brigade::http::QueryPairs reparsed;
  if (brigade::http::parse_form(again, reparsed, 64, error) != 0) __builtin_trap();
  if (reparsed != pairs) __builtin_trap();
  return 0;
}
