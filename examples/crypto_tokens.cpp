// Node's crypto in brigade: a webhook signature checked in constant time, a password hashed
// with scrypt on the thread pool (the loop keeps serving meanwhile), and an ES256 JWT signed
// and verified.
//
//   const sig = crypto.createHmac('sha256', secret).update(body).digest('hex');
//   crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(header));
//   const hash = await promisify(crypto.scrypt)(password, salt, 32);
//   crypto.sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
#include <cstdio>
#include <string>

#include "brigade/crypto.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;
namespace crypto = brigade::crypto;

static bool webhook_ok(const std::string& secret, const std::string& body,
                       const std::string& signature_header) {
  std::string expected = crypto::to_hex(crypto::hmac("sha256", secret, body));
  return expected.size() == signature_header.size() &&
         crypto::timing_safe_equal(expected, signature_header);
}

static Task<void> hash_password(const std::string& password, const int& ticks) {
  crypto::Bytes salt = crypto::random_bytes(16);
  int before = ticks;
  crypto::Bytes key = co_await crypto::scrypt(password, salt, 32);  // on the pool
  std::printf("scrypt: %s (salt %s); the loop ticked %d times meanwhile\n",
              crypto::to_hex(key).c_str(), crypto::to_hex(salt).c_str(), ticks - before);
}

static std::string jwt_es256(const crypto::PrivateKey& key, const std::string& payload_json) {
  std::string header = crypto::to_base64url(R"({"alg":"ES256","typ":"JWT"})");
  std::string signing_input = header + "." + crypto::to_base64url(payload_json);
  crypto::SignOptions jose;
  jose.dsa_encoding = crypto::DsaEncoding::kIeeeP1363;  // JWS wants r || s, not DER
  return signing_input + "." +
         crypto::to_base64url(crypto::sign("sha256", signing_input, key, jose));
}

static bool jwt_verify(const crypto::PublicKey& key, const std::string& token) {
  std::size_t dot = token.rfind('.');
  crypto::SignOptions jose;
  jose.dsa_encoding = crypto::DsaEncoding::kIeeeP1363;
  return crypto::verify("sha256", token.substr(0, dot), key,
                        crypto::from_base64(token.substr(dot + 1)), jose);
}

int main() {
  std::string body = R"({"event":"payment.succeeded","id":42})";
  std::string header = crypto::to_hex(crypto::hmac("sha256", "whsec_demo", body));
  std::printf("webhook with the right signature: %s\n",
              webhook_ok("whsec_demo", body, header) ? "accepted" : "rejected");
  std::printf("webhook with a forged signature:  %s\n",
              webhook_ok("whsec_demo", body + " ", header) ? "accepted" : "rejected");

  Loop loop;
  int ticks = 0;
  TimerId tick = loop.set_interval(5, [&] { ++ticks; });
  run(loop, [&]() -> Task<void> {
    co_await hash_password("correct horse battery staple", ticks);
    loop.clear_timer(tick);
  }());

  crypto::KeyPair kp = crypto::generate_key_pair(crypto::KeyType::kEc);  // P-256
  std::string token = jwt_es256(kp.private_key, R"({"sub":"user-1","iat":1700000000})");
  std::printf("jwt: %s\n", token.c_str());
  std::printf("jwt verifies: %s; tampered: %s\n", jwt_verify(kp.public_key, token) ? "yes" : "no",
              jwt_verify(kp.public_key, token.substr(0, token.size() - 2) + "AA") ? "yes" : "no");
  std::printf("request id: %s\n", crypto::random_uuid().c_str());
  return 0;
}
