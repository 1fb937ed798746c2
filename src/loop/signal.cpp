#include "brigade/loop/signal.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <map>
#include <mutex>
#include <vector>

#include "brigade/error.hpp"

namespace brigade {

namespace {

// The signal's disposition is process-wide: the first watcher of a signal the process inherited
// as ignored (a background job's SIGINT, nohup's SIGHUP) sets it to the default, as Node's
// handler replaces SIG_IGN; with the signal blocked the default action never runs, the signalfd
// takes it. The last watcher puts SIG_IGN back (Node leaves SIG_DFL), so the process ignores it
// again as whoever started it asked.
struct Dispositions {
  std::mutex mu;
  std::array<int, NSIG> watchers{};
  std::array<bool, NSIG> was_ignored{};

  static Dispositions& get() {
    static Dispositions d;
    return d;
  }

  void acquire(int signo) {
    std::lock_guard lock(mu);
    if (watchers[signo]++ > 0) return;
    struct sigaction old {};
    was_ignored[signo] = sigaction(signo, nullptr, &old) == 0 && old.sa_handler == SIG_IGN;
    if (was_ignored[signo]) {
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      sigemptyset(&dfl.sa_mask);
      sigaction(signo, &dfl, nullptr);
    }
  }

  void release(int signo) {
    std::lock_guard lock(mu);
    assert(watchers[signo] > 0);
    if (--watchers[signo] > 0) return;
    if (was_ignored[signo]) {
      struct sigaction ign {};
      ign.sa_handler = SIG_IGN;  // also discards an instance still pending
      sigemptyset(&ign.sa_mask);
      sigaction(signo, &ign, nullptr);
      was_ignored[signo] = false;
    }
  }
};

// Per thread: the signals blocked before any watcher (start_thread's threads block them all:
// never unblock those) and the ones the watchers of this thread's loops have blocked.
struct ThreadSignals {
  bool init = false;
  sigset_t before;
  sigset_t watched;
};
thread_local ThreadSignals t_signals;

}  // namespace

// One signalfd per loop whose mask is the union of the watched signals.
struct SignalRouter {
  Loop* loop;
  int fd = -1;
  IoWatch watch;
  sigset_t mask;
  std::vector<SignalWatcher*> watchers;

  static std::map<Loop*, SignalRouter*>& routers() {
    thread_local std::map<Loop*, SignalRouter*> all;
    return all;
  }

  static SignalRouter& of(Loop& loop) {
    auto& all = routers();
    auto it = all.find(&loop);
    if (it != all.end()) return *it->second;
    auto* r = new SignalRouter;
    r->loop = &loop;
    sigemptyset(&r->mask);
    all[&loop] = r;
    return *r;
  }

  // Blocks, in this thread, what this thread's loops watch; unblocks what none of them watches
  // any more (unless it was blocked before), after consuming an instance still pending: it
  // belongs to the watchers that were there, not to the default action (a second SIGTERM
  // during shutdown would end the process).
  static void update_thread_mask() {
    ThreadSignals& t = t_signals;
    if (!t.init) {
      pthread_sigmask(SIG_BLOCK, nullptr, &t.before);
      sigemptyset(&t.watched);
      t.init = true;
    }
    sigset_t wanted;
    sigemptyset(&wanted);
    for (auto& [loop, r] : routers()) {
      for (SignalWatcher* w : r->watchers) sigaddset(&wanted, w->signo_);
    }
    pthread_sigmask(SIG_BLOCK, &wanted, nullptr);
    sigset_t gone;
    sigemptyset(&gone);
    bool any_gone = false;
    for (int s = 1; s < NSIG; ++s) {
      if (sigismember(&t.watched, s) == 1 && sigismember(&wanted, s) != 1 &&
          sigismember(&t.before, s) != 1) {
        sigaddset(&gone, s);
        any_gone = true;
      }
    }
    if (any_gone) {
      timespec zero{};
      while (sigtimedwait(&gone, nullptr, &zero) > 0) {
      }
      pthread_sigmask(SIG_UNBLOCK, &gone, nullptr);
    }
    t.watched = wanted;
  }

  void update_mask() {
    update_thread_mask();
    sigemptyset(&mask);
    for (SignalWatcher* w : watchers) sigaddset(&mask, w->signo_);
    fd = signalfd(fd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) throw_errno("signalfd");
    if (!watch.active) {
      watch.fd = fd;
      watch.handler = &SignalRouter::on_readable;
      watch.data = this;
      watch.ref = false;
      if (int err = loop->io_start(watch, io::kReadable)) throw Error(err, "epoll_ctl");
    }
    refresh_ref();
  }

  void refresh_ref() {
    bool any = std::any_of(watchers.begin(), watchers.end(), [](auto* w) { return w->ref_; });
    loop->io_set_ref(watch, any);
  }

  static void on_readable(IoWatch& w, uint32_t) {
    auto* r = static_cast<SignalRouter*>(w.data);
    signalfd_siginfo info;
    while (::read(r->fd, &info, sizeof info) == sizeof info) {
      int signo = static_cast<int>(info.ssi_signo);
      std::vector<SignalWatcher*> now = r->watchers;  // a handler may remove watchers
      for (SignalWatcher* sw : now) {
        if (sw->signo_ != signo) continue;
        if (std::find(r->watchers.begin(), r->watchers.end(), sw) == r->watchers.end()) continue;
        sw->handler_(signo);
        r->loop->drain_microtasks();
      }
      if (routers().find(r->loop) == routers().end()) return;
    }
  }

  void remove(SignalWatcher* w) {
    std::erase(watchers, w);
    if (!watchers.empty()) {
      update_mask();
      return;
    }
    loop->io_stop(watch);
    ::close(fd);
    routers().erase(loop);
    update_thread_mask();
    delete this;
  }
};

SignalWatcher::SignalWatcher(Loop& loop, int signo, UniqueFunction<void(int)> handler)
    : loop_(loop), signo_(signo), handler_(std::move(handler)) {
  if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
    throw Error(EINVAL, "SignalWatcher: signal " + std::to_string(signo));
  SignalRouter& r = SignalRouter::of(loop);
  r.watchers.push_back(this);
  try {
    r.update_mask();
  } catch (...) {
    r.remove(this);
    throw;
  }
  Dispositions::get().acquire(signo);
}

SignalWatcher::~SignalWatcher() {
  // The disposition goes back before the thread unblocks: a pending instance is discarded, not
  // handed to SIG_DFL.
  Dispositions::get().release(signo_);
  SignalRouter::of(loop_).remove(this);
}

void SignalWatcher::ref() {
  ref_ = true;
  SignalRouter::of(loop_).refresh_ref();
}

void SignalWatcher::unref() {
  ref_ = false;
  SignalRouter::of(loop_).refresh_ref();
}

}  // namespace brigade
