#pragma once
// start_thread: every thread brigade starts (thread pool, Worker, WorkerPool, watchdog, reaper)
// starts here, with the asynchronous signals blocked. A process-directed signal (kill -TERM pid)
// goes to any one thread that does not block it; only the loop threads that watch it (through
// their signalfd, see signal.hpp) may take it, or its default action ends the process before
// the loop can drain. The mask is set before the thread exists (it inherits it), so there is no
// window in which a signal lands in the new thread.
//
// Synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) stay unblocked: the
// kernel sends them to the faulting thread, and a crash handler (a sanitizer's) must still run.
// An application that starts its own threads next to a loop should start them here too.
#include <thread>

#include "brigade/loop/function.hpp"

namespace brigade {

// `name` (at most 15 characters) names the thread for ps -L, top -H and debuggers.
std::thread start_thread(const char* name, UniqueFunction<void(), 48> body);

}  // namespace brigade
