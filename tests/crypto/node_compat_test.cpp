// brigade's crypto against Node's, in one `node -e` run: the same inputs give the same digests,
// keys and deterministic signatures; each side verifies the other's randomized signatures.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "brigade/crypto.hpp"
#include "crypto_support.hpp"

using namespace brigade::crypto;

namespace {
const char* kNodeScript = R"JS(
const c = require('crypto');
const e = process.env;
const msg = e.MSG;
const ed = c.createPrivateKey(e.ED_PRIV), ec = c.createPrivateKey(e.EC_PRIV);
const rsa = c.createPrivateKey(e.RSA_PRIV);
const pss = { padding: c.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
const b64 = (s) => Buffer.from(s, 'base64');
const h = c.createHash('sha256'); h.update(msg.slice(0, 7)); h.update(msg.slice(7));
console.log(JSON.stringify({
  sha256: h.digest('hex'),
  sha384: c.createHash('sha384').update(msg).digest('hex'),
  sha512: c.createHash('sha512').update(msg).digest('hex'),
  hmac: c.createHmac('sha256', 'webhook-secret').update(msg).digest('hex'),
  pbkdf2: c.pbkdf2Sync('hunter2', 'salty', 1000, 48, 'sha512').toString('hex'),
  scrypt: c.scryptSync('hunter2', 'salty', 32).toString('hex'),
  b64url: Buffer.from(msg).toString('base64url'),
  ed_pub: c.createPublicKey(ed).export({ type: 'spki', format: 'pem' }),
  ed_sig: c.sign(null, Buffer.from(msg), ed).toString('hex'),
  rsa_sig: c.sign('sha256', Buffer.from(msg), rsa).toString('hex'),
  ours_ec_der: c.verify('sha256', Buffer.from(msg), ec, b64(e.EC_DER)),
  ours_ec_raw: c.verify('sha256', Buffer.from(msg), { key: ec, dsaEncoding: 'ieee-p1363' }, b64(e.EC_RAW)),
  ours_pss: c.verify('sha256', Buffer.from(msg), { key: rsa, ...pss }, b64(e.RSA_PSS)),
  node_ec_raw: c.sign('sha256', Buffer.from(msg), { key: ec, dsaEncoding: 'ieee-p1363' }).toString('base64'),
  node_pss: c.sign('sha256', Buffer.from(msg), { key: rsa, ...pss }).toString('base64'),
  uuid: c.randomUUID(),
}));
)JS";

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}
}  // namespace

TEST(CryptoNodeCompat, SameAnswersAsNodeCrypto) {
  if (!crypto_test::have("node")) GTEST_SKIP() << "node not installed";
  const std::string msg = "The quick brown fox jumps over the lazy dog \xe2\x9c\x93";
  KeyPair ed = generate_key_pair(KeyType::kEd25519);
  KeyPair ec = generate_key_pair(KeyType::kEc);
  KeyPair rsa = generate_key_pair(KeyType::kRsa);
  SignOptions jose;
  jose.dsa_encoding = DsaEncoding::kIeeeP1363;
  SignOptions pss;
  pss.padding = RsaPadding::kPss;
  pss.salt_length = 32;

  setenv("MSG", msg.c_str(), 1);
  setenv("ED_PRIV", ed.private_key.to_pem().c_str(), 1);
  setenv("EC_PRIV", ec.private_key.to_pem().c_str(), 1);
  setenv("RSA_PRIV", rsa.private_key.to_pem().c_str(), 1);
  setenv("EC_DER", to_base64(sign("sha256", msg, ec.private_key)).c_str(), 1);
  setenv("EC_RAW", to_base64(sign("sha256", msg, ec.private_key, jose)).c_str(), 1);
  setenv("RSA_PSS", to_base64(sign("sha256", msg, rsa.private_key, pss)).c_str(), 1);
  int status = 0;
  std::string out = crypto_test::capture("node -e " + shell_quote(kNodeScript), &status);
  ASSERT_EQ(status, 0) << out;
  nlohmann::json node = nlohmann::json::parse(out);

  Hash h("sha256");
  h.update(msg.substr(0, 7)).update(msg.substr(7));  // Node's slice counts UTF-16 units: ASCII here
  EXPECT_EQ(node["sha256"], to_hex(h.digest()));
  EXPECT_EQ(node["sha384"], to_hex(hash("sha384", msg)));
  EXPECT_EQ(node["sha512"], to_hex(hash("sha512", msg)));
  EXPECT_EQ(node["hmac"], to_hex(hmac("sha256", "webhook-secret", msg)));
  EXPECT_EQ(node["pbkdf2"], to_hex(pbkdf2_sync("hunter2", "salty", 1000, 48, "sha512")));
  EXPECT_EQ(node["scrypt"], to_hex(scrypt_sync("hunter2", "salty", 32)));
  EXPECT_EQ(node["b64url"], to_base64url(msg));
  EXPECT_EQ(node["ed_pub"], ed.public_key.to_pem());
  EXPECT_EQ(node["ed_sig"], to_hex(sign("", msg, ed.private_key)));
  EXPECT_EQ(node["rsa_sig"], to_hex(sign("sha256", msg, rsa.private_key)));
  EXPECT_EQ(node["ours_ec_der"], true);
  EXPECT_EQ(node["ours_ec_raw"], true);
  EXPECT_EQ(node["ours_pss"], true);
  EXPECT_TRUE(verify("sha256", msg, ec.public_key,
                     from_base64(node["node_ec_raw"].get<std::string>()), jose));
  EXPECT_TRUE(
      verify("sha256", msg, rsa.public_key, from_base64(node["node_pss"].get<std::string>()), pss));
  EXPECT_EQ(node["uuid"].get<std::string>().size(), random_uuid().size());
}
