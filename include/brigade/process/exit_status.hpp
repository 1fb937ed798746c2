#pragma once
// ExitStatus: how a child process ended (Node's 'exit' event arguments: code, signal).
#include <string>

namespace brigade::process {

struct ExitStatus {
  int code = -1;   // the exit code, or -1 when a signal ended the process
  int signal = 0;  // the signal that ended it, or 0

  bool ok() const noexcept { return code == 0 && signal == 0; }
  // "exit code 3", "killed by SIGKILL".
  std::string describe() const;
};

}  // namespace brigade::process
