#include "brigade/ws/handshake.hpp"

#include "brigade/crypto/bytes.hpp"
#include "brigade/crypto/hash.hpp"
#include "brigade/crypto/random.hpp"
#include "text.hpp"

namespace brigade::ws {

using detail::iequals;
using detail::trim;

namespace {

// A valid key is base64 of 16 bytes: 22 characters of the alphabet and "==".
bool valid_key(std::string_view key) noexcept {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22))
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '/'))
      return false;
  return true;
}

}  // namespace

std::string accept_key(std::string_view key) {
  std::string text(trim(key));
  text += kGuid;
  return crypto::to_base64(crypto::hash("sha1", text));
}

std::string make_key() { return crypto::to_base64(crypto::random_bytes(16)); }

bool header_has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

UpgradeCheck check_upgrade(const UpgradeRequest& req) noexcept {
  if (req.method != "GET") return {405, "a WebSocket upgrade must be a GET"};
  if (!req.http11) return {400, "a WebSocket upgrade needs HTTP/1.1"};
  if (!header_has_token(req.upgrade, "websocket")) return {426, "Upgrade: websocket expected"};
  if (!header_has_token(req.connection, "upgrade")) return {400, "Connection: Upgrade expected"};
  if (trim(req.version) != "13") return {426, "Sec-WebSocket-Version 13 expected"};
  if (!valid_key(trim(req.key))) return {400, "invalid Sec-WebSocket-Key"};
  return {};
}

std::string_view choose_protocol(std::string_view offered,
                                 std::span<const std::string> supported) noexcept {
  for (const std::string& p : supported)
    if (header_has_token(offered, p)) return p;
  return {};
}

}  // namespace brigade::ws
