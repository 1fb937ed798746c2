#pragma once
// Test support: Debian's python3 (python3-prometheus-client and python3-websockets live there,
// not in a pyenv one) running this folder's scripts.
#include <unistd.h>

#include <string>

namespace brigade::metrics::testing {

inline std::string python_script(const std::string& script) {
  std::string python = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  return python + " " + BRIGADE_SOURCE_DIR + "/tests/metrics/" + script;
}

}  // namespace brigade::metrics::testing
