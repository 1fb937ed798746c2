// TrustProxy: address ranges compared as 16-byte IPv6 (IPv4 mapped into ::ffff:0:0/96).
#include "brigade/http/trust_proxy.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace brigade::http {

namespace {
// `text` as 16 bytes (IPv4 mapped); false if it is not a numeric address.
bool parse_address(std::string_view text, uint8_t out[16], bool* v4 = nullptr) {
  char buf[64];
  if (text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr a4{};
  if (::inet_pton(AF_INET, buf, &a4) == 1) {
    std::memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, &a4, 4);
    if (v4) *v4 = true;
    return true;
  }
  if (v4) *v4 = false;
  return ::inet_pton(AF_INET6, buf, out) == 1;
}

bool in_range(const uint8_t addr[16], const uint8_t net[16], unsigned prefix) noexcept {
  unsigned whole = prefix / 8;
  if (std::memcmp(addr, net, whole) != 0) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[whole] & mask) == (net[whole] & mask);
}
}  // namespace

TrustProxy TrustProxy::all() {
  TrustProxy t;
  t.kind_ = Kind::kAll;
  return t;
}

TrustProxy TrustProxy::hops(std::size_t n) {
  TrustProxy t;
  t.kind_ = n ? Kind::kHops : Kind::kNone;
  t.hops_ = n;
  return t;
}

TrustProxy TrustProxy::addresses(std::initializer_list<std::string_view> list) {
  TrustProxy t;
  t.kind_ = Kind::kRanges;
  for (std::string_view e : list) t.add(e);
  return t;
}

TrustProxy TrustProxy::addresses(const std::vector<std::string>& list) {
  TrustProxy t;
  t.kind_ = Kind::kRanges;
  for (const std::string& e : list) t.add(e);
  return t;
}

TrustProxy TrustProxy::when(std::function<bool(std::string_view, std::size_t)> fn) {
  TrustProxy t;
  t.kind_ = Kind::kCustom;
  t.custom_ = std::move(fn);
  return t;
}

void TrustProxy::add(std::string_view entry) {
  if (entry == "loopback") {
    for (std::string_view e : {"127.0.0.0/8", "::1/128"}) add(e);
    return;
  }
  if (entry == "linklocal") {
    for (std::string_view e : {"169.254.0.0/16", "fe80::/10"}) add(e);
    return;
  }
  if (entry == "uniquelocal") {
    for (std::string_view e : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}) add(e);
    return;
  }
  auto bad = [&] {
    return std::invalid_argument("trust proxy: not an address or CIDR range: '" +
                                 std::string(entry) + "'");
  };
  std::size_t slash = entry.find('/');
  Range r{};
  bool v4 = false;
  if (!parse_address(entry.substr(0, slash), r.bytes, &v4)) throw bad();
  unsigned width = v4 ? 32 : 128;
  unsigned bits = width;
  if (slash != std::string_view::npos) {
    std::string_view p = entry.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || bits > width) throw bad();
  }
  r.prefix = bits + (128 - width);
  ranges_.push_back(r);
}

bool TrustProxy::trusts(std::string_view address, std::size_t hop) const {
  switch (kind_) {
    case Kind::kNone:
      return false;
    case Kind::kAll:
      return true;
    case Kind::kHops:
      return hop < hops_;
    case Kind::kCustom:
      return custom_(address, hop);
    case Kind::kRanges:
      break;
  }
  uint8_t addr[16];
  if (!parse_address(address, addr)) return false;
  for (const Range& r : ranges_)
    if (in_range(addr, r.bytes, r.prefix)) return true;
  return false;
}

}  // namespace brigade::http
