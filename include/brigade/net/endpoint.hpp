#pragma once
// Endpoint: the address of one end of a socket (Node's remoteAddress / remotePort).
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace brigade::net {

struct Endpoint {
  std::string address;  // "127.0.0.1", "::1", a Unix socket path, or "" (unnamed / unknown)
  uint16_t port = 0;    // 0 for Unix sockets
  int family = 0;       // AF_INET, AF_INET6, AF_UNIX; 0 when unknown (not a socket)

  // "127.0.0.1:8080", "[::1]:8080", or the Unix path.
  std::string to_string() const;
};

// The local / peer endpoint of a socket fd (an empty Endpoint on failure or for non-sockets).
Endpoint local_endpoint_of(int fd);
Endpoint remote_endpoint_of(int fd);

}  // namespace brigade::net
