#include "brigade/loop/thread.hpp"

#include <pthread.h>
#include <signal.h>

namespace brigade {

namespace {

sigset_t async_signals() {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&set, s);
  return set;
}

// Blocks the asynchronous signals for its lifetime, then puts the caller's mask back.
struct MaskedScope {
  sigset_t old;
  MaskedScope() noexcept {
    sigset_t set = async_signals();
    pthread_sigmask(SIG_BLOCK, &set, &old);
  }
  ~MaskedScope() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

}  // namespace

std::thread start_thread(const char* name, UniqueFunction<void(), 48> body) {
  MaskedScope masked;  // the new thread inherits this mask
  return std::thread([name, fn = std::move(body)]() mutable {
    pthread_setname_np(pthread_self(), name);
    fn();
  });
}

}  // namespace brigade
