#pragma once
// Range requests (RFC 9110 section 14): the byte ranges a Range header asks of a file.
#include <cstdint>
#include <string_view>
#include <vector>

namespace brigade::http::detail {

struct ByteRange {
  uint64_t first;
  uint64_t last;  // inclusive
  uint64_t size() const noexcept { return last - first + 1; }
};

enum class RangeAnswer : uint8_t {
  kWhole,          // no usable Range header (absent, other unit, malformed, too many): 200
  kPartial,        // `out` holds the ranges, sorted and merged: 206
  kUnsatisfiable,  // well-formed, but no range starts inside the file: 416
};

// Parses `header` (e.g. "bytes=0-99, -500") against a representation of `size` bytes.
// Overlapping and adjacent ranges are merged, as a client asking for many small or overlapping
// pieces must not make the server send more than the file; more than `max_ranges` pieces are
// answered whole.
RangeAnswer parse_byte_ranges(std::string_view header, uint64_t size, std::vector<ByteRange>& out,
                              std::size_t max_ranges = 16);

}  // namespace brigade::http::detail
