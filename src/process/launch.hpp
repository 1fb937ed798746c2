#pragma once
// launch: the raw process start under spawn(): clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD), then
// in the child only raw system calls (no allocation, no locks, no sanitizer hooks) up to execve.
#include <sys/types.h>

namespace brigade::process::detail {

inline constexpr int kMaxChildFds = 16;

// Everything the child needs, prepared by the parent. The child shares our memory until execve
// (CLONE_VM) and reports a failure by writing `error` and `step` before it exits.
struct LaunchPlan {
  const char* path = nullptr;  // the program, already resolved against PATH
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  // argv for /bin/sh when execve fails with ENOEXEC (a script without #!), as execvp does:
  // {"/bin/sh", path, args..., nullptr}. nullptr: no fallback.
  char* const* sh_argv = nullptr;
  const char* cwd = nullptr;  // nullptr: ours
  int fds[kMaxChildFds];      // the child's fd i becomes our fds[i]; -1: closed in the child
  int nfds = 0;
  bool setsid = false;
  bool set_uid = false, set_gid = false;
  uid_t uid = 0;
  gid_t gid = 0;
  // Written by the child on failure.
  int error = 0;
  const char* step = nullptr;  // "chdir", "exec", "setuid", ...
};

struct Launched {
  pid_t pid = -1;
  int pidfd = -1;
};

// Starts the child. On failure returns pid -1 and leaves plan.error / plan.step set; a child that
// started and failed before execve has been reaped already.
Launched launch(LaunchPlan& plan) noexcept;

}  // namespace brigade::process::detail
