#pragma once
// Certificates for the TLS tests, made once per run with the openssl command: a CA, a server
// certificate for localhost/127.0.0.1 signed by it, and an already expired one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace tls_test {

struct Certs {
  std::string dir, ca, server_cert, server_key, expired_cert;
  std::chrono::steady_clock::time_point made;
};

inline bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

inline const Certs& certs() {
  static Certs c = [] {
    Certs c;
    c.dir = ::testing::TempDir() + "brigade_tls_" + std::to_string(getpid());
    std::string d = c.dir;
    std::string script =
        "set -e; mkdir -p " + d + "; cd " + d + "; " +
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.crt -days 2 -subj /CN=brigade-test-ca; "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key "
        "-out server.csr -subj /CN=localhost; "
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext; "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
        "server.crt -days 2 -extfile san.ext; "
        // -days 0: not after = now, so expired a second later
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out "
        "expired.crt -days 0 -extfile san.ext";
    std::string cmd = "(" + script + ") >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("openssl could not make the certificates");
    c.ca = d + "/ca.crt";
    c.server_cert = d + "/server.crt";
    c.server_key = d + "/server.key";
    c.expired_cert = d + "/expired.crt";
    c.made = std::chrono::steady_clock::now();
    return c;
  }();
  return c;
}

// The expired certificate expires one second after it was made.
inline void wait_until_expired() {
  auto age = std::chrono::steady_clock::now() - certs().made;
  if (age < std::chrono::milliseconds(1500))
    std::this_thread::sleep_for(std::chrono::milliseconds(1500) - age);
}

}  // namespace tls_test
