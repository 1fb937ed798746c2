// Child: exit watching through the pidfd, reaping with waitid(P_PIDFD), kill, wait().
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <cstring>
#include <string>

#include "brigade/process/spawn.hpp"
#include "child_core.hpp"
#include "reaper.hpp"

namespace brigade::process {

std::string ExitStatus::describe() const {
  if (signal) {
    const char* name = sigabbrev_np(signal);
    return std::string("killed by SIG") + (name ? name : std::to_string(signal));
  }
  return "exit code " + std::to_string(code);
}

namespace detail {

namespace {
void on_pidfd(IoWatch& w, uint32_t) {
  auto* core = static_cast<ChildCore*>(w.data);
  if (!core->try_reap()) return;
  ExitStatus st = *core->status;
  // Whoever we call may destroy the Child (and this core): take the waiters first.
  ExitWaiter* list = std::exchange(core->waiters, nullptr);
  for (ExitWaiter* x = list; x; x = x->next) {
    x->status = st;
    x->linked = false;
  }
  if (auto fn = std::move(core->on_exit)) fn(st);
  while (list) {
    ExitWaiter* next = list->next;
    list->handle.resume();
    list = next;
  }
}
}  // namespace

void ChildCore::start(Loop& l, pid_t p, int pidfd) {
  assert(!loop && watch.fd < 0 && "a core watches one child");
  loop = &l;
  pid = p;
  watch.fd = pidfd;
  watch.handler = on_pidfd;
  watch.data = this;
  if (int err = loop->io_start(watch, io::kReadable)) {
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    siginfo_t info;
    waitid(P_PIDFD, pidfd, &info, WEXITED);
    ::close(pidfd);
    watch.fd = -1;
    throw Error(err, "spawn: watch pidfd");
  }
}

bool ChildCore::try_reap() noexcept {
  if (status) return true;
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  int rc = waitid(P_PIDFD, watch.fd, &info, WEXITED | WNOHANG);
  if (rc == 0 && info.si_pid == 0) return false;  // not yet
  assert(watch.fd >= 0 && "reaped once: the pidfd closes with the status");
  ExitStatus st;
  if (rc == 0 && info.si_code == CLD_EXITED) {
    st.code = info.si_status;
  } else if (rc == 0) {
    st.signal = info.si_status;  // CLD_KILLED or CLD_DUMPED
  }  // rc < 0 (ECHILD: someone set SIGCHLD to SIG_IGN and the kernel reaped it): unknown, -1
  status = st;
  loop->io_stop(watch);
  ::close(watch.fd);
  watch.fd = -1;
  return true;
}

void ChildCore::release(ChildCore* core) noexcept {
  if (!core) return;
  ExitWaiter* list = std::exchange(core->waiters, nullptr);
  for (; list; list = list->next) {
    list->cancelled = true;
    list->linked = false;
    auto h = list->handle;
    core->loop->queue_microtask([h] { h.resume(); });
  }
  core->on_exit = nullptr;
  if (!core->status && core->watch.fd >= 0 && !core->try_reap()) {
    // Still running: the process-wide reaper takes it, so neither a zombie nor the core waits
    // for this loop (which may be destroyed before the child exits).
    core->loop->io_stop(core->watch);
    reap_later(core->watch.fd);
    core->watch.fd = -1;
  }
  delete core;
}

void wait_suspend(ChildCore& core, ExitWaiter& w) noexcept {
  assert(!core.status && !w.linked && "an exited child's wait completes without suspending");
  w.next = core.waiters;
  w.linked = true;
  core.waiters = &w;
}

void wait_abandon(ChildCore& core, ExitWaiter& w) noexcept {
  for (ExitWaiter** p = &core.waiters; *p; p = &(*p)->next) {
    if (*p == &w) {
      *p = w.next;
      w.linked = false;
      return;
    }
  }
}

}  // namespace detail

Child::Child() noexcept = default;
Child::~Child() {
  channel_.close();
  detail::ChildCore::release(core_.release());
}
Child::Child(Child&&) noexcept = default;
Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    detail::ChildCore::release(core_.release());
    core_ = std::move(o.core_);
    stdio_ = std::move(o.stdio_);
    channel_ = std::move(o.channel_);
  }
  return *this;
}

pid_t Child::pid() const noexcept { return core_ ? core_->pid : -1; }

int Child::kill(int signo) noexcept {
  if (!core_ || core_->status || core_->watch.fd < 0) return ESRCH;
  if (syscall(SYS_pidfd_send_signal, core_->watch.fd, signo, nullptr, 0) < 0) return errno;
  return 0;
}

bool Child::exited() const noexcept { return core_ && core_->status.has_value(); }
std::optional<ExitStatus> Child::status() const noexcept {
  return core_ ? core_->status : std::nullopt;
}

void Child::on_exit(UniqueFunction<void(ExitStatus)> fn) {
  if (!core_) return;
  if (core_->status) {
    fn(*core_->status);
    return;
  }
  core_->on_exit = std::move(fn);
}

void Child::ref() noexcept {
  if (core_ && core_->watch.active) core_->loop->io_set_ref(core_->watch, true);
}
void Child::unref() noexcept {
  if (core_ && core_->watch.active) core_->loop->io_set_ref(core_->watch, false);
}

Child::WaitAwaiter::~WaitAwaiter() {
  if (w.linked) detail::wait_abandon(*core, w);  // the awaiting frame was destroyed
}

bool Child::WaitAwaiter::await_ready() noexcept {
  if (!core) {
    w.cancelled = true;
    return true;
  }
  if (core->status) w.status = *core->status;
  return core->status.has_value();
}

void Child::WaitAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  w.handle = h;
  detail::wait_suspend(*core, w);
}

ExitStatus Child::WaitAwaiter::await_resume() {
  if (w.cancelled) throw CancelledError("wait");
  return w.status;
}

}  // namespace brigade::process
