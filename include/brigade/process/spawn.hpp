#pragma once
// spawn: start a child process (Node's child_process.spawn).
//
// The child is started by clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): no page tables are
// copied, the parent sleeps only until the child calls execve, and the kernel hands back a
// pidfd. The child's exit is seen on the loop when that pidfd becomes readable, and the child
// is reaped there with waitid(P_PIDFD) — the loop never blocks in waitpid and installs no
// SIGCHLD handler. Signal handlers and the signal mask are reset to the defaults in the child.
//
// A file execve refuses with ENOEXEC (an executable script without #!) is run by /bin/sh, as
// execvp (and so libuv and Node) does.
//
// Failures before or at execve (missing program, not executable, bad cwd, setuid refused) throw
// SpawnError with the errno, the step that failed and the path; no process is left behind.
//
// Ownership: a Child owns its pipes and its exit watch. Destroying a Child that is still running
// neither kills nor waits for it: a process-wide reaper thread reaps it when it exits, so no
// zombie is left, even if the loop is destroyed first. Suspended wait()s fail with CancelledError.
#include <sys/types.h>

#include <array>
#include <coroutine>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/loop/function.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/process/channel.hpp"
#include "brigade/process/exit_status.hpp"

namespace brigade::process {

// What one of the child's stdin / stdout / stderr is.
struct Stdio {
  enum class Kind : uint8_t { kPipe, kInherit, kIgnore, kFile, kFd };
  Kind kind = Kind::kPipe;
  std::string path;  // kFile
  int flags = -1;    // kFile: open(2) flags; -1: O_RDONLY for stdin, else O_WRONLY|O_CREAT|O_TRUNC
  int fd = -1;       // kFd: an fd of ours the child gets (dup'ed; we keep ours)

  static Stdio pipe() { return {}; }
  static Stdio inherit() { return make(Kind::kInherit); }
  static Stdio ignore() { return make(Kind::kIgnore); }  // /dev/null
  static Stdio file(std::string path, int flags = -1) {
    Stdio s = make(Kind::kFile);
    s.path = std::move(path);
    s.flags = flags;
    return s;
  }
  static Stdio from_fd(int fd) {
    Stdio s = make(Kind::kFd);
    s.fd = fd;
    return s;
  }

 private:
  static Stdio make(Kind k) {
    Stdio s;
    s.kind = k;
    return s;
  }
};

struct SpawnOptions {
  std::string cwd;                              // empty: ours
  std::optional<std::vector<std::string>> env;  // "KEY=VALUE" entries; nullopt: our environ
  std::vector<std::string> env_add;             // entries set on top of env (override)
  std::array<Stdio, 3> stdio{};                 // default: three pipes
  std::vector<int> extra_fds;                   // our fds the child gets as 3, 4, ... (after ipc)
  std::string argv0;                            // empty: the file as given
  bool detached = false;                        // new session (setsid); Node's `detached`
  bool ipc = false;                             // a Channel to the child (see channel.hpp)
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// A failure to start the child: errno, the step ("exec", "chdir", "open", "setuid"...) and
// the path concerned. what(): "spawn 'prog': chdir '/nope': No such file or directory".
class SpawnError : public Error {
 public:
  SpawnError(int err, std::string file, std::string step, std::string path);
  const std::string& file() const noexcept { return file_; }
  const std::string& step() const noexcept { return step_; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string file_, step_, path_;
};

namespace detail {
struct ChildCore;
struct ExitWaiter {
  std::coroutine_handle<> handle;
  ExitStatus status;
  bool cancelled = false;
  bool linked = false;  // on its core's list
  ExitWaiter* next = nullptr;
};
void wait_suspend(ChildCore& core, ExitWaiter& w) noexcept;
void wait_abandon(ChildCore& core, ExitWaiter& w) noexcept;
}  // namespace detail

class Child {
 public:
  Child() noexcept;
  ~Child();
  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;

  pid_t pid() const noexcept;
  // The parent's ends of the pipes (closed Streams for stdio that is not a pipe).
  net::Stream& in() noexcept { return stdio_[0]; }
  net::Stream& out() noexcept { return stdio_[1]; }
  net::Stream& err() noexcept { return stdio_[2]; }
  // The IPC channel (SpawnOptions::ipc), else a closed Channel.
  Channel& channel() noexcept { return channel_; }

  // Sends a signal through the pidfd (no pid-reuse race). Returns 0, or an errno: ESRCH once
  // the child has exited, EINVAL for a bad signal.
  int kill(int signo = SIGTERM) noexcept;

  // Whether and how it ended.
  bool exited() const noexcept;
  std::optional<ExitStatus> status() const noexcept;

  // co_await child.wait(): the exit status (at once if it already ended).
  struct WaitAwaiter {
    detail::ChildCore* core;
    detail::ExitWaiter w{};
    WaitAwaiter(detail::ChildCore* c) noexcept : core(c) {}
    WaitAwaiter(WaitAwaiter&& o) noexcept : core(o.core) {}
    ~WaitAwaiter();
    bool await_ready() noexcept;
    void await_suspend(std::coroutine_handle<> h) noexcept;
    ExitStatus await_resume();
  };
  WaitAwaiter wait() noexcept { return WaitAwaiter(core_.get()); }

  // Called once on the loop when the child exits (Node's 'exit' event), before wait()ers resume.
  void on_exit(UniqueFunction<void(ExitStatus)> fn);

  // A running child keeps the loop alive; unref() lets the loop exit without it.
  void ref() noexcept;
  void unref() noexcept;

 private:
  friend Child spawn(Loop&, const std::string&, const std::vector<std::string>&,
                     const SpawnOptions&);
  std::unique_ptr<detail::ChildCore> core_;
  std::array<net::Stream, 3> stdio_;
  Channel channel_;
};

// Starts `file` (searched in PATH when it has no '/') with `args` (argv[1...]). Throws
// SpawnError (see the header comment).
Child spawn(Loop& loop, const std::string& file, const std::vector<std::string>& args,
            const SpawnOptions& options);
Child spawn(Loop& loop, const std::string& file, const std::vector<std::string>& args = {});

}  // namespace brigade::process
