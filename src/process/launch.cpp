// launch: clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) and the child's path to execve.
#include "launch.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>

namespace brigade::process::detail {

namespace {

constexpr std::size_t kChildStackSize = 64 * 1024;

// The child's stack: one per thread, kept for the thread's life (a spawn is then one clone).
struct ChildStack {
  void* base = nullptr;
  ~ChildStack() {
    if (base) munmap(base, kChildStackSize);
  }
  void* top() {
    if (!base) {
      base = mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (base == MAP_FAILED) base = nullptr;
    }
    return base ? static_cast<char*>(base) + kChildStackSize : nullptr;
  }
};
thread_local ChildStack t_stack;

// The kernel's struct sigaction (rt_sigaction takes this, not glibc's layout).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

// Raw system calls only from here on: the child shares the parent's memory and must not take
// a lock, allocate, or enter a sanitizer runtime. syscall() returns -1 and sets errno.
#if defined(__clang__)
#define BRIGADE_CHILD __attribute__((no_sanitize("address", "undefined"), noinline))
#else
#define BRIGADE_CHILD __attribute__((no_sanitize_address, no_sanitize_undefined, noinline))
#endif

BRIGADE_CHILD int fail(LaunchPlan* plan, const char* step) {
  plan->error = errno;
  plan->step = step;
  syscall(SYS_exit, 127);
  return 127;
}

BRIGADE_CHILD void reset_signals() {
  KernelSigaction dfl{};
  dfl.handler = SIG_DFL;
  for (long s = 1; s < 65; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, s, &dfl, nullptr, 8);  // fails harmlessly for glibc's reserved ones
  }
}

// Moves fds so that fd i of the child is plan.fds[i]; sources that sit in the target range are
// first copied above it so no dup2 clobbers a source still needed.
BRIGADE_CHILD int place_fds(const LaunchPlan* plan) {
  int fds[kMaxChildFds];
  int n = plan->nfds;
  for (int i = 0; i < n; ++i) {
    fds[i] = plan->fds[i];
    if (fds[i] >= 0 && fds[i] < n && fds[i] != i) {
      long moved = syscall(SYS_fcntl, fds[i], F_DUPFD_CLOEXEC, n);
      if (moved < 0) return -1;
      fds[i] = static_cast<int>(moved);
    }
  }
  for (int i = 0; i < n; ++i) {
    if (fds[i] < 0) {
      syscall(SYS_close, i);
    } else if (fds[i] == i) {
      if (syscall(SYS_fcntl, i, F_SETFD, 0) < 0) return -1;  // keep it across execve
    } else if (syscall(SYS_dup3, fds[i], i, 0) < 0) {
      return -1;
    }
  }
  return 0;
}

BRIGADE_CHILD int child_main(void* arg) {
  auto* plan = static_cast<LaunchPlan*>(arg);
  reset_signals();
  if (plan->setsid && syscall(SYS_setsid) < 0) return fail(plan, "setsid");
  if (plan->set_gid || plan->set_uid) syscall(SYS_setgroups, 0, nullptr);  // EPERM is fine
  if (plan->set_gid && syscall(SYS_setgid, plan->gid) < 0) return fail(plan, "setgid");
  if (plan->set_uid && syscall(SYS_setuid, plan->uid) < 0) return fail(plan, "setuid");
  if (place_fds(plan) < 0) return fail(plan, "dup");
  if (plan->cwd && syscall(SYS_chdir, plan->cwd) < 0) return fail(plan, "chdir");
  uint64_t empty = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, 8);
  syscall(SYS_execve, plan->path, plan->argv, plan->envp);
  if (errno == ENOEXEC && plan->sh_argv) {
    syscall(SYS_execve, plan->sh_argv[0], plan->sh_argv, plan->envp);
    errno = ENOEXEC;  // no shell either: the script's own failure is the one to report
  }
  return fail(plan, "exec");
}

}  // namespace

Launched launch(LaunchPlan& plan) noexcept {
  Launched out;
  void* stack = t_stack.top();
  if (!stack) {
    plan.error = ENOMEM;
    plan.step = "stack";
    return out;
  }
  // No signal handler of ours may run in the child while it shares our memory.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  plan.error = 0;
  pid_t pid =
      clone(child_main, stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &plan, &pidfd);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    plan.error = clone_errno;
    plan.step = "clone";
    return out;
  }
  if (plan.error) {  // the child failed before execve and has exited: reap it now
    siginfo_t info;
    waitid(P_PIDFD, pidfd, &info, WEXITED);
    close(pidfd);
    return out;
  }
  out.pid = pid;
  out.pidfd = pidfd;
  return out;
}

}  // namespace brigade::process::detail
