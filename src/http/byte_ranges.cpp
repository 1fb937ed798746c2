#include "byte_ranges.hpp"

#include <algorithm>
#include <charconv>

#include "brigade/http/parser_syntax.hpp"

namespace brigade::http::detail {

namespace {
// All digits, no sign, no overflow.
bool whole_number(std::string_view s, uint64_t& v) noexcept {
  if (s.empty() || s.front() < '0' || s.front() > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// One "a-b", "a-" or "-n" element: false when malformed (the header is then ignored); a piece
// that starts past the end adds nothing (unsatisfiable).
bool add_range(std::string_view spec, uint64_t size, std::vector<ByteRange>& out) {
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return false;
  std::string_view a = syntax::trim_ows(spec.substr(0, dash));
  std::string_view b = syntax::trim_ows(spec.substr(dash + 1));
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // "-n": the last n bytes
    if (!whole_number(b, last)) return false;
    if (last != 0 && size != 0) out.push_back({size - std::min(last, size), size - 1});
    return true;
  }
  if (!whole_number(a, first)) return false;
  if (b.empty())
    last = UINT64_MAX;
  else if (!whole_number(b, last) || last < first)
    return false;
  if (first < size) out.push_back({first, std::min(last, size - 1)});
  return true;
}
}  // namespace

RangeAnswer parse_byte_ranges(std::string_view header, uint64_t size, std::vector<ByteRange>& out,
                              std::size_t max_ranges) {
  out.clear();
  std::size_t eq = header.find('=');
  if (eq == std::string_view::npos) return RangeAnswer::kWhole;
  if (!syntax::equals_ignore_case(syntax::trim_ows(header.substr(0, eq)), "bytes"))
    return RangeAnswer::kWhole;  // an unknown unit is ignored
  std::size_t specs = 0;
  bool malformed = false;
  syntax::for_each_list_element(header.substr(eq + 1), [&](std::string_view spec) {
    if (malformed) return;
    malformed = ++specs > max_ranges || !add_range(spec, size, out);
  });
  if (malformed) return RangeAnswer::kWhole;
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
