#pragma once
// The opening handshake (RFC 6455 section 4), without I/O.
//   Server: check_upgrade() says whether a request is a valid WebSocket upgrade (and which
//           status to answer if not), accept_key() computes Sec-WebSocket-Accept, and
//           choose_protocol() picks a subprotocol from Sec-WebSocket-Protocol.
//   Client: make_key() draws a Sec-WebSocket-Key; the server's answer must carry its
//           accept_key().
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace brigade::ws {

inline constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view key);
// 16 random bytes, base64 (24 characters).
std::string make_key();

// The request's fields that matter to the handshake.
struct UpgradeRequest {
  std::string_view method;      // "GET"
  bool http11 = true;           // HTTP/1.1 or later
  std::string_view upgrade;     // Upgrade
  std::string_view connection;  // Connection
  std::string_view version;     // Sec-WebSocket-Version
  std::string_view key;         // Sec-WebSocket-Key
};

struct UpgradeCheck {
  int status = 0;        // 0: a valid upgrade; else the HTTP status to answer (400, 405, 426)
  std::string_view why;  // what was wrong (static text)
};
UpgradeCheck check_upgrade(const UpgradeRequest& req) noexcept;

// Whether a comma-separated header value holds `token` (ASCII case-insensitive).
bool header_has_token(std::string_view value, std::string_view token) noexcept;

// The first of the server's protocols (in the server's order of preference) that the client
// offered in Sec-WebSocket-Protocol; empty if none.
std::string_view choose_protocol(std::string_view offered,
                                 std::span<const std::string> supported) noexcept;

}  // namespace brigade::ws
