#include "byte_ranges.hpp"

#include <algorithm>
#include <charconv>

namespace brigade::http::detail {

namespace {
std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// All digits, no sign, no overflow.
bool whole_number(std::string_view s, uint64_t& v) noexcept {
  if (s.empty() || s.front() < '0' || s.front() > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

RangeAnswer parse_byte_ranges(std::string_view header, uint64_t size, std::vector<ByteRange>& out,
                              std::size_t max_ranges) {
  out.clear();
  header = trim(header);
  std::size_t eq = header.find('=');
  if (eq == std::string_view::npos) return RangeAnswer::kWhole;
  std::string_view unit = trim(header.substr(0, eq));
  if (unit.size() != 5 || (unit[0] | 0x20) != 'b' || (unit[1] | 0x20) != 'y' ||
      (unit[2] | 0x20) != 't' || (unit[3] | 0x20) != 'e' || (unit[4] | 0x20) != 's')
    return RangeAnswer::kWhole;  // an unknown unit is ignored
  std::string_view list = header.substr(eq + 1);
  std::size_t specs = 0;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view spec = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (spec.empty()) continue;  // "a, , b": empty list elements are allowed
    if (++specs > max_ranges) return RangeAnswer::kWhole;
    std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return RangeAnswer::kWhole;
    std::string_view a = trim(spec.substr(0, dash));
    std::string_view b = trim(spec.substr(dash + 1));
    uint64_t first = 0, last = 0;
    if (a.empty()) {  // "-n": the last n bytes
      if (!whole_number(b, last)) return RangeAnswer::kWhole;
      if (last == 0 || size == 0) continue;  // unsatisfiable piece
      out.push_back({size - std::min(last, size), size - 1});
      continue;
    }
    if (!whole_number(a, first)) return RangeAnswer::kWhole;
    if (b.empty()) {
      last = UINT64_MAX;
    } else if (!whole_number(b, last) || last < first) {
      return RangeAnswer::kWhole;  // invalid: the whole header is ignored
    }
    if (first >= size) continue;
    out.push_back({first, std::min(last, size - 1)});
  }
  if (specs == 0) return RangeAnswer::kWhole;
  if (out.empty()) return RangeAnswer::kUnsatisfiable;
  if (out.size() > 1) {
    std::sort(out.begin(), out.end(),
              [](const ByteRange& x, const ByteRange& y) { return x.first < y.first; });
    std::size_t kept = 0;
    for (std::size_t i = 1; i < out.size(); ++i) {
      if (out[i].first <= out[kept].last + 1)
        out[kept].last = std::max(out[kept].last, out[i].last);
      else
        out[++kept] = out[i];
    }
    out.resize(kept + 1);
  }
  return RangeAnswer::kPartial;
}

}  // namespace brigade::http::detail
