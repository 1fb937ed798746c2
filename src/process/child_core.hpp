#pragma once
// ChildCore: the exit watch of one child (its pidfd on the loop) and who waits for the exit.
#include <sys/types.h>

#include <optional>

#include "brigade/loop/function.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/process/exit_status.hpp"
#include "brigade/process/spawn.hpp"

namespace brigade::process::detail {

struct ChildCore {
  Loop* loop = nullptr;
  pid_t pid = -1;
  IoWatch watch;  // watch.fd is the pidfd while the child runs, -1 after reaping
  std::optional<ExitStatus> status;
  UniqueFunction<void(ExitStatus)> on_exit;
  ExitWaiter* waiters = nullptr;

  // Starts watching the pidfd; throws Error on failure (after killing and reaping the child).
  void start(Loop& l, pid_t p, int pidfd);
  // Reaps if exited; returns whether it has.
  bool try_reap() noexcept;
  // The Child is going away: cancel waiters, delete the core; a child that still runs goes to
  // the process-wide reaper (reaper.hpp).
  static void release(ChildCore* core) noexcept;
};

}  // namespace brigade::process::detail
