#include "brigade/net/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

#include "sockaddr.hpp"

namespace brigade::net {

std::string Endpoint::to_string() const {
  if (family == AF_INET6) return "[" + address + "]:" + std::to_string(port);
  if (family == AF_INET) return address + ":" + std::to_string(port);
  return address;
}

namespace detail {

int parse_ip(std::string_view ip, uint16_t port, SockAddr& out) noexcept {
  char text[INET6_ADDRSTRLEN];
  if (ip.empty() || ip.size() >= sizeof text) return EINVAL;
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  out = SockAddr{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return 0;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return 0;
  }
  return EINVAL;
}

int parse_unix(std::string_view path, SockAddr& out) noexcept {
  out = SockAddr{};
  auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
  if (path.empty()) return EINVAL;
  if (path.size() >= sizeof un->sun_path) return ENAMETOOLONG;
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  // Abstract names are length-delimited; paths are NUL-terminated (the storage is zeroed).
  out.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                   (path[0] == '\0' ? 0 : 1));
  return 0;
}

Endpoint to_endpoint(const sockaddr_storage& sa, socklen_t len) {
  Endpoint e;
  e.family = sa.ss_family;
  char text[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&sa);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    e.address = text;
    e.port = ntohs(v4->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    e.address = text;
    e.port = ntohs(v6->sin6_port);
  } else if (sa.ss_family == AF_UNIX) {
    auto* un = reinterpret_cast<const sockaddr_un*>(&sa);
    std::size_t n =
        len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (n > 0 && un->sun_path[0] != '\0') n = strnlen(un->sun_path, n);
    e.address.assign(un->sun_path, n);
  } else {
    e.family = 0;
  }
  return e;
}

}  // namespace detail

Endpoint local_endpoint_of(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return {};
  return detail::to_endpoint(sa, len);
}

Endpoint remote_endpoint_of(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return {};
  return detail::to_endpoint(sa, len);
}

}  // namespace brigade::net
