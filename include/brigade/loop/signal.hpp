#pragma once
// SignalWatcher: a signal (SIGINT, SIGTERM, SIGHUP...) delivered as a callback on the loop,
// through signalfd. Like process.on('SIGINT'), a watcher does not keep the loop alive unless ref()'d.
// Several watchers of one signal on one loop all run, in the order they were made.
// The watched signal is blocked in the loop's thread (every thread brigade starts has it blocked
// already: see thread.hpp). A signal the process inherited as ignored (SIG_IGN: a background
// job's SIGINT) is set to the default while watched, as Node's handler replaces SIG_IGN, and
// ignored again once its last watcher is gone. A signal no watcher of the thread watches any more
// is unblocked (unless it was blocked before), after an instance still pending is consumed.
#include "brigade/loop/function.hpp"
#include "brigade/loop/loop.hpp"

namespace brigade {

class SignalWatcher {
 public:
  SignalWatcher(Loop& loop, int signo, UniqueFunction<void(int)> handler);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  void ref();
  void unref();
  int signo() const noexcept { return signo_; }

 private:
  friend struct SignalRouter;
  Loop& loop_;
  int signo_;
  UniqueFunction<void(int)> handler_;
  bool ref_ = false;
};

}  // namespace brigade
