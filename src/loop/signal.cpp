#include "brigade/loop/signal.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <vector>

#include "brigade/error.hpp"

namespace brigade {

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

  void update_mask() {
    sigset_t wanted;
    sigemptyset(&wanted);
    for (SignalWatcher* w : watchers) sigaddset(&wanted, w->signo_);
    // Block what is watched so signalfd sees it; unblock what no one watches any more.
    for (int s = 1; s < NSIG; ++s) {
      if (sigismember(&mask, s) == 1 && sigismember(&wanted, s) != 1) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, s);
        pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
      }
    }
    pthread_sigmask(SIG_BLOCK, &wanted, nullptr);
    mask = wanted;
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
    // A signal that arrived while it was watched belongs to the watchers: consume it here, or
    // unblocking would hand it to the default action (a second SIGTERM during shutdown).
    signalfd_siginfo info;
    while (::read(fd, &info, sizeof info) == sizeof info) {
    }
    sigset_t none;
    sigemptyset(&none);
    for (int s = 1; s < NSIG; ++s) {
      if (sigismember(&mask, s) == 1) sigaddset(&none, s);
    }
    pthread_sigmask(SIG_UNBLOCK, &none, nullptr);
    ::close(fd);
    routers().erase(loop);
    delete this;
  }
};

SignalWatcher::SignalWatcher(Loop& loop, int signo, UniqueFunction<void(int)> handler)
    : loop_(loop), signo_(signo), handler_(std::move(handler)) {
  SignalRouter& r = SignalRouter::of(loop);
  r.watchers.push_back(this);
  r.update_mask();
}

SignalWatcher::~SignalWatcher() { SignalRouter::of(loop_).remove(this); }

void SignalWatcher::ref() {
  ref_ = true;
  SignalRouter::of(loop_).refresh_ref();
}

void SignalWatcher::unref() {
  ref_ = false;
  SignalRouter::of(loop_).refresh_ref();
}

}  // namespace brigade
