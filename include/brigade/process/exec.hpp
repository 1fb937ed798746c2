#pragma once
// exec / exec_file: run a child to its end and collect its output (Node's child_process.exec
// and execFile). Fails with ExecError — carrying whatever was collected and the exit status —
// when the child exits non-zero or by a signal, outlives the timeout, or writes more than
// max_buffer bytes on stdout or stderr (the child is then killed with kill_signal).
#include <csignal>
#include <cstddef>
#include <string>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/process/exit_status.hpp"
#include "brigade/process/spawn.hpp"
#include "brigade/task/task.hpp"

namespace brigade::process {

struct ExecOptions {
  SpawnOptions spawn;                    // its stdio is ignored: pipes for all three
  std::size_t max_buffer = 1024 * 1024;  // per stream, as Node's maxBuffer
  uint64_t timeout_ms = 0;               // 0: none
  int kill_signal = SIGTERM;             // sent on timeout or overflow
  // Written to the child's stdin, which is then closed, so a child that reads its input to the
  // end (cat, grep) finishes. (Node's execFile leaves stdin open: `cat` would wait forever.)
  std::string input;
};

struct ExecResult {
  std::string out;
  std::string err;
  ExitStatus status;
};

class ExecError : public Error {
 public:
  enum class Reason : uint8_t { kExitStatus, kTimeout, kMaxBuffer };
  ExecError(Reason reason, std::string command, ExecResult result);
  Reason reason() const noexcept { return reason_; }
  const ExecResult& result() const noexcept { return result_; }
  const std::string& command() const noexcept { return command_; }

 private:
  Reason reason_;
  std::string command_;
  ExecResult result_;
};

// Runs `file` with `args` (no shell). Throws SpawnError if it cannot start, ExecError as above.
Task<ExecResult> exec_file(Loop& loop, std::string file, std::vector<std::string> args,
                           ExecOptions options);
Task<ExecResult> exec_file(Loop& loop, std::string file, std::vector<std::string> args = {});
// Runs `command` through /bin/sh -c.
Task<ExecResult> exec(Loop& loop, std::string command, ExecOptions options);
Task<ExecResult> exec(Loop& loop, std::string command);

}  // namespace brigade::process
