// libFuzzer target: the Range header and HTTP-date parsers of send_file on arbitrary bytes. The
// first 8 bytes are the file's size; the ranges answered must lie in the file, sorted, apart.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "../../src/http/byte_ranges.hpp"
#include "../../src/http/http_date.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace brigade::http::detail;
  if (size < 8) return 0;
  uint64_t file_size;
  std::memcpy(&file_size, data, 8);
  file_size %= uint64_t{1} << 40;
  std::string_view text(reinterpret_cast<const char*>(data) + 8, size - 8);
  std::vector<ByteRange> ranges;
  RangeAnswer a = parse_byte_ranges(text, file_size, ranges);
  if (a == RangeAnswer::kPartial) {
    if (ranges.empty() || ranges.size() > 16) __builtin_trap();
    uint64_t total = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      if (ranges[i].first > ranges[i].last || ranges[i].last >= file_size) __builtin_trap();
      if (i && ranges[i].first <= ranges[i - 1].last + 1) __builtin_trap();  // merged
      total += ranges[i].size();
    }
    if (total > file_size) __builtin_trap();  // never more than the file
  }
  if (auto t = parse_http_date(text)) {  // what parses formats back to a date that parses the same
    char out[kHttpDateLength];
    format_http_date(*t, out);
    auto again = parse_http_date(std::string_view(out, sizeof out));
    if (*t >= 0 && *t < 253402300800 && (!again || *again != *t)) __builtin_trap();
  }
  return 0;
}
