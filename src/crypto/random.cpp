#include "brigade/crypto/random.hpp"

#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

#include "openssl_error.hpp"

namespace brigade::crypto {

void random_fill(std::span<std::byte> out) {
  while (!out.empty()) {
    std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(n)) != 1)
      detail::throw_openssl("random_bytes");
    out = out.subspan(n);
  }
}

Bytes random_bytes(std::size_t size) {
  Bytes out(size);
  random_fill(out);
  return out;
}

std::string random_uuid() {
  std::byte b[16];
  random_fill(b);
  b[6] = (b[6] & std::byte{0x0f}) | std::byte{0x40};  // version 4
  b[8] = (b[8] & std::byte{0x3f}) | std::byte{0x80};  // variant 10xx
  std::string hex = to_hex(BytesView(b, sizeof b));
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20);
}

int64_t random_int(int64_t min, int64_t max) {
  if (min >= max) throw std::invalid_argument("random_int: min must be below max");
  uint64_t range = uint64_t(max) - uint64_t(min);
  // Reject draws from the incomplete last copy of the range, so every value is equally likely.
  uint64_t limit = UINT64_MAX - (UINT64_MAX % range + 1) % range;
  uint64_t v;
  do {
    random_fill(std::as_writable_bytes(std::span(&v, 1)));
  } while (v > limit);
  return int64_t(uint64_t(min) + v % range);
}

}  // namespace brigade::crypto
