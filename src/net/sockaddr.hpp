#pragma once
// Numeric socket addresses: parsing "127.0.0.1" / "::1" and Unix paths into sockaddr_storage.
#include <sys/socket.h>

#include <string_view>

#include "brigade/net/endpoint.hpp"

namespace brigade::net::detail {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const noexcept { return storage.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// A numeric IPv4 or IPv6 address (no hostnames); returns 0 or EINVAL.
int parse_ip(std::string_view ip, uint16_t port, SockAddr& out) noexcept;
// A Unix socket path (a leading '\0' makes a Linux abstract name); returns 0 or ENAMETOOLONG.
int parse_unix(std::string_view path, SockAddr& out) noexcept;
Endpoint to_endpoint(const sockaddr_storage& sa, socklen_t len);

}  // namespace brigade::net::detail
