#pragma once
// brigade::crypto: Node's crypto on OpenSSL 3's libcrypto (see crypto/*.hpp).
#include "brigade/crypto/bytes.hpp"
#include "brigade/crypto/error.hpp"
#include "brigade/crypto/hash.hpp"
#include "brigade/crypto/kdf.hpp"
#include "brigade/crypto/keys.hpp"
#include "brigade/crypto/random.hpp"
#include "brigade/crypto/sign.hpp"
