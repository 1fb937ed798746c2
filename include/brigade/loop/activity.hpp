#pragma once
// The slot where this thread's current loop shows which task runs now, for the blocked-loop
// report. A task switch stores its name here (one relaxed store); the watchdog thread reads it.
#include <atomic>

namespace brigade::detail {

// Points into the loop that is current on this thread (Loop::current()), or null.
inline thread_local std::atomic<const char*>* t_task_activity = nullptr;

// Shows `name` (a string that is never freed, or null for "no task") as the running task.
inline void publish_task_activity(const char* name) noexcept {
  std::atomic<const char*>* slot = t_task_activity;
  // Relaxed: the watchdog only samples it; a load first spares the store on the hot path.
  if (slot && slot->load(std::memory_order_relaxed) != name)
    slot->store(name, std::memory_order_relaxed);
}

}  // namespace brigade::detail
