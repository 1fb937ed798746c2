#pragma once
// Worker: a thread running its own Loop (Node's worker_threads.Worker). It starts with a function
// (the worker script: void or Task<void>, given a WorkerContext) and its workerData, and talks to
// its parent through a MessagePort. The parent's loop gets the events: message, error (an
// exception escaping the worker), exit (with its code, after every message the worker sent).
// The worker ends when its loop has nothing left to do (a parent_port with a handler keeps it
// going), on worker_exit(code), on an uncaught exception (code 1) or on terminate() (code 1).
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/task/task.hpp"
#include "brigade/worker/mailbox.hpp"
#include "brigade/worker/message_port.hpp"

namespace brigade {

// What the worker function gets: the parentPort, the workerData and a stop token that
// terminate() stops (for code that computes without returning to its loop).
struct WorkerContext {
  Loop& loop;
  MessagePort& parent_port;
  Message& worker_data;
  std::stop_token stop_token;
  int thread_id;
  const std::string& name;
};

// Thrown by worker_exit(); ends the worker (or, in a WorkerPool, the worker thread running the
// task) with `code`. Deliberately not a std::exception, so catch (std::exception&) lets it pass.
struct WorkerExit {
  int code;
};
[[noreturn]] inline void worker_exit(int code = 0) { throw WorkerExit{code}; }

// The worker's id inside a worker thread (as worker_threads.threadId), 0 on other threads.
int current_worker_id() noexcept;

// Reported through on_error when a terminated worker has not stopped within the grace period.
class WorkerUnresponsiveError : public Error {
 public:
  explicit WorkerUnresponsiveError(std::string what) : Error(ETIMEDOUT, std::move(what)) {}
};

struct WorkerOptions {
  std::string name = "worker";
  uint64_t terminate_grace_ms = 1000;  // after terminate(): report a worker still running
};

using WorkerMain = UniqueFunction<Task<void>(WorkerContext&)>;

namespace detail {
struct WorkerShared;
template <typename F>
Task<void> call_worker_sync(F& f, WorkerContext& ctx) {
  f(ctx);
  co_return;
}
template <typename F>
WorkerMain make_worker_main(F fn) {
  if constexpr (std::is_same_v<std::invoke_result_t<F&, WorkerContext&>, Task<void>>)
    return WorkerMain(std::move(fn));
  else
    return WorkerMain(
        [f = std::move(fn)](WorkerContext& c) mutable { return call_worker_sync(f, c); });
}
}  // namespace detail

class Worker {
 public:
  // Starts the thread at once. `fn(WorkerContext&)` returns void or Task<void>.
  template <typename F>
  Worker(Loop& parent, F fn, Message worker_data = {}, WorkerOptions options = {})
      : Worker(parent, detail::make_worker_main(std::move(fn)), std::move(worker_data),
               std::move(options)) {}
  Worker(Loop& parent, WorkerMain main, Message worker_data, WorkerOptions options);
  // Terminates the worker if it still runs and joins its thread (a worker that never returns to
  // its loop nor checks its stop token blocks here: C++ threads cannot be killed).
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool post_message(Message m) { return port_.post_message(std::move(m)); }
  void on_message(MessagePort::Handler handler);
  void on_error(UniqueFunction<void(std::exception_ptr)> handler) {
    on_error_ = std::move(handler);
  }
  void on_exit(UniqueFunction<void(int)> handler) { on_exit_ = std::move(handler); }

  // Stops the worker at its next loop turn and stops its stop token; exit code 1. If it has not
  // exited after terminate_grace_ms, on_error gets a WorkerUnresponsiveError.
  void terminate();
  bool running() const noexcept { return !exit_code_; }
  std::optional<int> exit_code() const noexcept { return exit_code_; }
  int thread_id() const noexcept { return thread_id_; }
  // Lets the parent loop end while the worker still runs (worker.unref()).
  void unref() { keep_.reset(); }

  // co_await worker.exited(): the exit code, once the exit event has run.
  struct ExitAwaiter {
    Worker& w;
    bool await_ready() const noexcept { return bool(w.exit_code_); }
    void await_suspend(std::coroutine_handle<> h) { w.exit_waiter_ = h; }
    int await_resume() const noexcept { return *w.exit_code_; }
  };
  ExitAwaiter exited() { return ExitAwaiter{*this}; }

 private:
  friend struct detail::WorkerShared;
  void handle_exit(int code, std::exception_ptr error);

  Loop& parent_;
  WorkerOptions options_;
  std::shared_ptr<detail::WorkerShared> shared_;
  MessagePort port_;
  MailboxRef mailbox_;
  KeepAlive keep_;
  Timer grace_timer_;
  std::thread thread_;
  int thread_id_;
  std::optional<int> exit_code_;
  bool terminating_ = false;
  UniqueFunction<void(std::exception_ptr)> on_error_;
  UniqueFunction<void(int)> on_exit_;
  std::coroutine_handle<> exit_waiter_;
};

}  // namespace brigade
