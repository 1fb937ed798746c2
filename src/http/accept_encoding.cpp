// Content coding names and Accept-Encoding negotiation (RFC 9110 section 12.5.3).
#include <algorithm>
#include <array>

#include "brigade/http/compression.hpp"
#include "brigade/http/parser_syntax.hpp"

namespace brigade::http {

namespace {
using syntax::equals_ignore_case;
using syntax::trim_ows;

constexpr int kNoEntry = -1;
constexpr int kCodings = 5;

// A qvalue in thousandths: "0", "0.5", "1.000" (at most three decimals); -1 if malformed.
int parse_qvalue(std::string_view v) noexcept {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.' || v.size() > 5) return -1;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (c < '0' || c > '9') return -1;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q <= 1000 ? q : -1;
}

// One list element "coding *( OWS ; OWS param )": its coding token and its q (1000 when none).
// False when the element is malformed (it is then ignored, as a recipient may).
bool parse_element(std::string_view element, std::string_view& coding, int& q) noexcept {
  std::size_t semi = element.find(';');
  coding = trim_ows(element.substr(0, semi));
  if (coding.empty()) return false;
  for (char c : coding)
    if (!syntax::is_tchar(c)) return false;
  q = 1000;
  while (semi != std::string_view::npos) {
    element.remove_prefix(semi + 1);
    semi = element.find(';');
    std::string_view param = trim_ows(element.substr(0, semi));
    std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;  // a bare parameter says nothing about q
    if (!equals_ignore_case(trim_ows(param.substr(0, eq)), "q")) continue;
    q = parse_qvalue(trim_ows(param.substr(eq + 1)));
    if (q < 0) return false;
  }
  return true;
}
}  // namespace

std::string_view coding_name(Coding coding) noexcept {
  switch (coding) {
    case Coding::kGzip:
      return "gzip";
    case Coding::kDeflate:
      return "deflate";
    case Coding::kBrotli:
      return "br";
    case Coding::kZstd:
      return "zstd";
    case Coding::kIdentity:
      break;
  }
  return "identity";
}

std::optional<Coding> coding_from_name(std::string_view name) noexcept {
  if (equals_ignore_case(name, "gzip") || equals_ignore_case(name, "x-gzip")) return Coding::kGzip;
  if (equals_ignore_case(name, "deflate")) return Coding::kDeflate;
  if (equals_ignore_case(name, "br")) return Coding::kBrotli;
  if (equals_ignore_case(name, "zstd")) return Coding::kZstd;
  if (equals_ignore_case(name, "identity")) return Coding::kIdentity;
  return std::nullopt;
}

std::optional<Coding> negotiate_encoding(std::string_view accept_encoding,
                                         std::span<const Coding> offered) {
  // The q each coding's own entry gives (the highest, if listed twice), and that of "*".
  std::array<int, kCodings> listed;
  listed.fill(kNoEntry);
  int any = kNoEntry;
  int lowest = 1000;  // the lowest non-zero q listed
  syntax::for_each_list_element(accept_encoding, [&](std::string_view element) {
    std::string_view token;
    int q = 0;
    if (!parse_element(element, token, q)) return;
    if (q > 0) lowest = std::min(lowest, q);
    if (token == "*") {
      any = std::max(any, q);
    } else if (std::optional<Coding> c = coding_from_name(token)) {
      int& slot = listed[static_cast<std::size_t>(*c)];
      slot = std::max(slot, q);
    }
  });
  auto q_of = [&](Coding c) {
    int own = listed[static_cast<std::size_t>(c)];
    if (own != kNoEntry) return own;
    if (any != kNoEntry) return any;
    // Identity is acceptable unless refused, but never above a coding the client named (as
    // Express's negotiator: it takes the lowest q listed).
    return c == Coding::kIdentity ? lowest : 0;
  };
  std::optional<Coding> best;
  int best_q = 0;
  for (Coding c : offered) {  // earlier wins a tie: the server's preference
    int q = c == Coding::kIdentity ? 0 : q_of(c);
    if (q > best_q) {
      best = c;
      best_q = q;
    }
  }
  int identity_q = q_of(Coding::kIdentity);
  if (identity_q > best_q || (!best && identity_q > 0)) return Coding::kIdentity;
  return best;
}

}  // namespace brigade::http
