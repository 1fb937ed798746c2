#pragma once
// Bytes and BytesView: what crypto takes and returns (Node's Buffer). A BytesView is made from a
// string, a string_view, a literal or a byte vector, so callers pass what they hold without
// copying. Text encodings of bytes (Buffer's 'hex', 'base64', 'base64url') are here too.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::crypto {

using Bytes = std::vector<std::byte>;

class BytesView {
 public:
  BytesView() noexcept = default;
  BytesView(const std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  BytesView(const char* s) noexcept : BytesView(std::string_view(s)) {}
  BytesView(std::string_view s) noexcept
      : data_(reinterpret_cast<const std::byte*>(s.data())), size_(s.size()) {}
  BytesView(const std::string& s) noexcept : BytesView(std::string_view(s)) {}
  BytesView(std::span<const std::byte> s) noexcept : data_(s.data()), size_(s.size()) {}
  BytesView(const Bytes& b) noexcept : data_(b.data()), size_(b.size()) {}
  BytesView(std::span<const uint8_t> s) noexcept
      : data_(reinterpret_cast<const std::byte*>(s.data())), size_(s.size()) {}
  BytesView(const std::vector<uint8_t>& b) noexcept
      : BytesView(std::span<const uint8_t>(b.data(), b.size())) {}

  const std::byte* data() const noexcept { return data_; }
  const unsigned char* udata() const noexcept {
    return reinterpret_cast<const unsigned char*>(data_);
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view str() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
  Bytes copy() const { return Bytes(data_, data_ + size_); }

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Lowercase hex, as digest('hex').
std::string to_hex(BytesView bytes);
// Throws std::invalid_argument on an odd length or a non-hex character.
Bytes from_hex(std::string_view hex);
// Standard alphabet with '=' padding, as toString('base64').
std::string to_base64(BytesView bytes);
// URL-safe alphabet without padding (JWTs), as toString('base64url').
std::string to_base64url(BytesView bytes);
// Either alphabet, padding optional; throws std::invalid_argument on anything else.
Bytes from_base64(std::string_view text);

// The bytes as a std::string (for HTTP bodies, JSON fields).
inline std::string to_string(BytesView bytes) { return std::string(bytes.str()); }

}  // namespace brigade::crypto
