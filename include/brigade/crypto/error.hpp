#pragma once
// CryptoError: what crypto throws when OpenSSL refuses (an unknown digest, a bad key, bad scrypt
// parameters). what() is "operation: OpenSSL's reason".
#include <stdexcept>
#include <string>

namespace brigade::crypto {

class CryptoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace brigade::crypto
