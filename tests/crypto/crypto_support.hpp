#pragma once
// Helpers for the crypto suite: running a command (node, openssl) and reading its stdout.
#include <cstdio>
#include <cstdlib>
#include <string>

namespace crypto_test {

inline bool have(const char* tool) {
  std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// stdout of a shell command; `status` gets its exit status.
inline std::string capture(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (status) *status = rc;
  return out;
}

}  // namespace crypto_test
