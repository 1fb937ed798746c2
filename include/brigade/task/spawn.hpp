#pragma once
// spawn: start a task now and let it run on its own (calling an async function without await).
// run: drive a loop until one task completes, and return its value.
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "brigade/loop/loop.hpp"
#include "brigade/task/task.hpp"

namespace brigade {

// Called with the task's name and the exception that escaped a spawned task (an unhandled
// rejection). The default prints "brigade: unhandled rejection in task '<name>': <what>" and
// ends the process with exit code 1, as Node does.
using UnhandledRejectionHandler = std::function<void(const std::string& name, std::exception_ptr)>;
void set_unhandled_rejection_handler(UnhandledRejectionHandler handler);
void report_unhandled_rejection(const std::string& name, std::exception_ptr error);

namespace detail {
// The final awaiter of a coroutine that owns itself: its frame is freed as it ends.
struct FreeSelf {
  bool await_ready() noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { h.destroy(); }
  void await_resume() noexcept {}
};

// A coroutine that starts at once and frees itself at the end: the owner of a spawned task.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    FreeSelf final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

inline Detached run_detached(Task<void> task, std::string name) {
  try {
    co_await task;
  } catch (...) {
    report_unhandled_rejection(name, std::current_exception());
  }
  set_context(nullptr);
}

// The same characters for as long as the process lives, so that a blocked-loop report may name
// a task that has ended since. Up to 4,096 distinct names; later new names read "task".
const char* intern_task_name(const std::string& name);

// Binds the task's name to its context (inside any context bound to it, else the spawner's).
inline void name_task(Task<void>& task, const std::string& name) {
  if (!task.valid()) return;
  auto& p = task.handle().promise();
  const ContextNode* parent = p.ctx_fixed ? p.ctx : t_context;
  static const char kKey = 0;  // a key no AsyncLocal uses: the node only names the task
  task.set_context(
      ContextRef::adopt(new ContextNode(&kKey, nullptr, parent, intern_task_name(name))));
}
}  // namespace detail

// Starts `task` at once; it runs until its first suspension before spawn returns. The name is
// how reports call it: an unhandled rejection, the blocked-loop report, an uncaught exception.
inline void spawn(Task<void> task, std::string name = "task") {
  const ContextNode* mine = detail::t_context;  // the spawner keeps its own context
  detail::name_task(task, name);
  detail::run_detached(std::move(task), std::move(name));
  detail::set_context(mine);
}

// Runs `loop` until `task` completes; returns its value or rethrows its exception.
// Throws std::logic_error if the loop runs out of work while the task is still waiting.
template <typename T>
T run(Loop& loop, Task<T> task) {
  bool finished = false;
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
  auto watcher = [](Task<T>& t, bool& done, std::exception_ptr& err, auto& out) -> Task<void> {
    try {
      if constexpr (std::is_void_v<T>) {
        co_await t;
        out.emplace(true);
      } else {
        out.emplace(co_await t);
      }
    } catch (...) {
      err = std::current_exception();
    }
    done = true;
    // Finishing in the timer phase must not let this same turn block in poll.
    Loop::current()->set_immediate([] {});
  }(task, finished, error, result);
  spawn(std::move(watcher), "run");
  while (!finished) {
    if (!loop.run_once(true) && !finished) {
      throw std::logic_error("brigade::run: the loop ran out of work before the task completed");
    }
  }
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// Runs the loop until it has nothing left to do (Node's process lifetime) after starting `task`.
inline void run_main(Loop& loop, Task<void> task, std::string name = "main") {
  spawn(std::move(task), std::move(name));
  loop.run();
}

}  // namespace brigade
