#pragma once
// TrustProxy: which hops in front of the server may speak for the client (Express's
// `app.set('trust proxy', ...)`). The server believes X-Forwarded-For / -Proto / -Host only
// from a hop it trusts; the default trusts nobody, so a client cannot forge its address.
//
//   app.trust_proxy(http::TrustProxy::addresses({"loopback", "10.0.0.0/8"}));  // by address
//   app.trust_proxy(http::TrustProxy::hops(1));   // exactly one proxy in front (nginx)
//   app.trust_proxy(http::TrustProxy::all());     // everything (only behind a closed network)
//
// Hops are counted from the server: hop 0 is the socket's peer, hop 1 the last address in
// X-Forwarded-For, and so on leftwards. req.ip() is the first hop not trusted (or the leftmost).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::http {

class TrustProxy {
 public:
  TrustProxy() = default;  // trusts no hop (Express's default)
  static TrustProxy all();
  // The n hops nearest the server (n = 1: the socket's peer only).
  static TrustProxy hops(std::size_t n);
  // Addresses, CIDR ranges ("10.0.0.0/8", "fd00::/8") and Express's names "loopback",
  // "linklocal", "uniquelocal". Throws std::invalid_argument naming a malformed entry.
  static TrustProxy addresses(std::initializer_list<std::string_view> list);
  static TrustProxy addresses(const std::vector<std::string>& list);
  // Any rule: fn(address, hop) says whether the hop is trusted.
  static TrustProxy when(std::function<bool(std::string_view address, std::size_t hop)> fn);

  // Whether `address` (numeric IPv4/IPv6, as sent) at `hop` is trusted.
  bool trusts(std::string_view address, std::size_t hop) const;
  bool trusts_nobody() const noexcept { return kind_ == Kind::kNone; }

 private:
  enum class Kind : uint8_t { kNone, kAll, kHops, kRanges, kCustom };
  struct Range {
    uint8_t bytes[16];  // IPv6; IPv4 as ::ffff:a.b.c.d
    unsigned prefix;    // bits that must match
  };
  void add(std::string_view entry);
  Kind kind_ = Kind::kNone;
  std::size_t hops_ = 0;
  std::vector<Range> ranges_;
  std::function<bool(std::string_view, std::size_t)> custom_;
};

}  // namespace brigade::http
