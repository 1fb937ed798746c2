#include "brigade/crypto/kdf.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "brigade/crypto/error.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;
using namespace brigade::crypto;

// RFC 6070 (PBKDF2-HMAC-SHA1) and RFC 7914 section 11 (PBKDF2-HMAC-SHA256).
TEST(CryptoPbkdf2, KnownAnswers) {
  EXPECT_EQ(to_hex(pbkdf2_sync("password", "salt", 1, 20, "sha1")),
            "0c60c80f961f0e71f3a9b524af6012062fe037a6");
  EXPECT_EQ(to_hex(pbkdf2_sync("password", "salt", 4096, 20, "sha1")),
            "4b007901b765489abead49d926f721d065a429c1");
  EXPECT_EQ(to_hex(pbkdf2_sync("passwd", "salt", 1, 64, "sha256")),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664"
            "b39d77ef317c71b845b1e30bd509112041d3a19783");
  EXPECT_EQ(to_hex(pbkdf2_sync("Password", "NaCl", 80000, 64, "sha256")),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb84"
            "1b51c9b3176a272bdebba1d078478f62b397f33c8d");
}

// brigade's PBKDF2 precomputes the HMAC pads: it must agree with OpenSSL's own for every digest
// family (the plain-context and the EVP paths), keys longer than a block, and lengths that end
// inside a block.
TEST(CryptoPbkdf2, MatchesOpenSslForEveryDigest) {
  std::string long_password(300, 'p');
  for (const char* md_name : {"sha1", "sha224", "sha256", "sha384", "sha512", "sha512-256",
                              "sha3-256", "sha3-512", "md5"}) {
    const EVP_MD* md = EVP_get_digestbyname(md_name);
    ASSERT_NE(md, nullptr) << md_name;
    for (std::string password : {std::string(), std::string("pw"), long_password}) {
      for (std::size_t keylen : {1u, 20u, 33u, 100u}) {
        std::string salt = "salt" + std::to_string(keylen);
        Bytes ours = pbkdf2_sync(password, salt, 3, keylen, md_name);
        Bytes theirs(keylen);
        ASSERT_EQ(
            PKCS5_PBKDF2_HMAC(password.data(), int(password.size()),
                              reinterpret_cast<const unsigned char*>(salt.data()), int(salt.size()),
                              3, md, int(keylen), reinterpret_cast<unsigned char*>(theirs.data())),
            1);
        EXPECT_EQ(to_hex(ours), to_hex(theirs))
            << md_name << " " << password.size() << " " << keylen;
      }
    }
  }
}

TEST(CryptoPbkdf2, BadParameters) {
  EXPECT_THROW(pbkdf2_sync("p", "s", 0, 32, "sha256"), std::invalid_argument);
  EXPECT_THROW(pbkdf2_sync("p", "s", 1, 32, "sha999"), CryptoError);
  EXPECT_TRUE(pbkdf2_sync("p", "s", 1, 0, "sha256").empty());
  EXPECT_EQ(pbkdf2_sync("", "", 1, 16, "sha256").size(), 16u);  // empty password and salt are valid
}

TEST(CryptoPbkdf2, RunsOnThePoolAndResumesOnTheLoop) {
  Loop loop;
  ThreadPool pool(2);
  auto loop_thread = std::this_thread::get_id();
  std::atomic<int> ticks{0};
  auto t = [&]() -> Task<std::string> {
    std::string password = "Password";  // the task copies its inputs: this dies before the work
    auto job = pbkdf2(password, "NaCl", 80000, 64, "sha256", pool);
    password.assign(8, 'x');
    Bytes key = co_await job;
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
    co_return to_hex(key);
  };
  TimerId tick = loop.set_interval(1, [&] { ++ticks; });
  std::string key = run(loop, [&]() -> Task<std::string> {
    std::string k = co_await t();
    loop.clear_timer(tick);
    co_return k;
  }());
  EXPECT_EQ(key,
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb84"
            "1b51c9b3176a272bdebba1d078478f62b397f33c8d");
  EXPECT_EQ(pool.stats().completed, 1u);
}

TEST(CryptoPbkdf2, ErrorsComeBackToTheAwaiter) {
  Loop loop;
  ThreadPool pool(1);
  auto t = [&]() -> Task<void> { co_await pbkdf2("p", "s", 1, 32, "md-nope", pool); };
  EXPECT_THROW(run(loop, t()), CryptoError);
}

// RFC 7914 section 12.
TEST(CryptoScrypt, KnownAnswers) {
  ScryptOptions o;
  o.cost = 16;
  o.block_size = 1;
  o.parallelization = 1;
  EXPECT_EQ(to_hex(scrypt_sync("", "", 64, o)),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a"
            "753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  o.cost = 1024;
  o.block_size = 8;
  o.parallelization = 16;
  Loop loop;
  ThreadPool pool(1);
  Bytes key = run(loop, scrypt("password", "NaCl", 64, o, pool));
  EXPECT_EQ(to_hex(key),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff1"
            "09279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(CryptoScrypt, BadParametersAndMaxmem) {
  ScryptOptions o;
  o.cost = 1000;  // not a power of two
  EXPECT_THROW(scrypt_sync("p", "s", 32, o), std::invalid_argument);
  o.cost = 1 << 20;  // 128 * N * r = 1 GiB, above the default 32 MiB
  EXPECT_THROW(scrypt_sync("p", "s", 32, o), CryptoError);
  EXPECT_EQ(scrypt_sync("p", "s", 32).size(), 32u);  // Node's defaults fit their own maxmem
}
