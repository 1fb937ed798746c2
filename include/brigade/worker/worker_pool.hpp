#pragma once
// WorkerPool: Piscina's job in C++. Worker threads (each with its own Loop) take tasks from one
// priority queue owned by the pool; `co_await pool.run(fn, args...)` returns fn's value or
// rethrows its exception on the pool's loop.
//
// - Threads: min_threads are started at once; more up to max_threads while work waits; a thread
//   above min that stays idle idle_timeout_ms ends.
// - Queue: only a task that cannot start at once (no idle thread, no thread left to start) waits
//   in the queue, and run() fails with QueueFullError when max_queue tasks wait already
//   (Piscina's maxQueue; 0: nothing may wait). needs_drain() and co_await drain() let a producer
//   wait until there is room (Piscina's needsDrain/drain).
// - Per task (TaskOptions): a stop token (a queued task leaves the queue, a running one has the
//   token it may take as first parameter stopped; either way run() throws CancelledError at
//   once), a timeout (TimeoutError, counted from run()) and a priority (higher first, FIFO within).
// - A task that throws fails only itself. A "dying" worker is modelled as a task calling
//   worker_exit(code) (or throwing WorkerExit): its thread ends, its task fails with
//   WorkerDiedError, and the pool starts a replacement; no other task is lost or run twice.
// - close() stops new work, lets queued and running work finish and joins the threads; destroying
//   a pool fails its queued tasks with PoolClosedError, stops the tokens of running ones and joins.
// A pool belongs to its loop: run(), drain(), close() and stats() are called on that loop's thread.
// run() is eager (the task is queued at once) and costs one allocation; awaiting is optional.
// Async tasks: a function returning Task<T> runs on its worker thread's own Loop (it may await
// timers, files, sockets there); co_await pool.run(fn) gives the T. A worker runs up to
// max_concurrent_per_worker of them at once (Piscina's concurrentTasksPerWorker, default 1);
// a plain function occupies its worker until it returns. Cancelling or timing out a running
// async task stops its token (fn's first parameter, if it takes one): awaiting sleep(ms, token)
// and the like then ends it. A worker that dies fails every task it was running.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/task.hpp"
#include "brigade/worker/pool_stats.hpp"
#include "brigade/worker/worker.hpp"

namespace brigade {

struct PoolOptions {
  std::size_t min_threads = 0;  // 0: max_threads (all pre-warmed)
  std::size_t max_threads = 0;  // 0: the number of cores
  std::size_t max_queue = SIZE_MAX;
  uint64_t idle_timeout_ms = 5000;
  std::size_t max_concurrent_per_worker = 1;  // async tasks a worker runs at once (0: 1)
  std::string name = "pool";
};

struct TaskOptions {
  std::stop_token token;
  uint64_t timeout_ms = 0;  // 0: none
  int priority = 0;
};

class PoolClosedError : public Error {
 public:
  PoolClosedError() : Error(ESHUTDOWN, "worker pool closed") {}
};
class QueueFullError : public Error {
 public:
  QueueFullError() : Error(EAGAIN, "worker pool queue is full") {}
};
class WorkerDiedError : public Error {
 public:
  explicit WorkerDiedError(int code)
      : Error(EOWNERDEAD, "worker exited with code " + std::to_string(code) + " during the task"),
        code_(code) {}
  int exit_code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {
struct PoolCore;

struct CancelPoolTask {
  struct PoolTask* task;
  void operator()() const;
};

// One task, from run() until its awaitable and the pool are both done with it.
struct PoolTask {
  enum State : uint8_t { kQueued, kRunning, kFinished, kRemoved };
  PoolTask* prev = nullptr;  // the queue's links, guarded by the pool's mutex
  PoolTask* next = nullptr;
  void (*invoke)(PoolTask*) = nullptr;  // on a worker thread: runs the function, keeps its result
  Task<void> (*body)(PoolTask*) = nullptr;  // instead of invoke for async tasks: awaits fn's Task
  std::coroutine_handle<> driver;           // the worker's thread only: an async task in flight
  void (*destroy)(PoolTask*) noexcept = nullptr;
  PoolCore* core = nullptr;
  int priority = 0;
  State state = kQueued;  // guarded by the pool's mutex until it is kFinished
  // Written by the worker thread, read on the loop once the completion arrives.
  bool died = false;
  int exit_code = 0;
  std::exception_ptr error;
  uint64_t queued_ns = 0, start_ns = 0, end_ns = 0;
  std::stop_source stop{std::nostopstate};  // only for functions that take a stop_token
  // The loop's thread only.
  bool worker_done = false;    // no worker will touch it again
  bool settled = false;        // the awaiter's outcome is decided
  bool abandoned = false;      // the awaitable is gone
  std::exception_ptr outcome;  // cancelled / timed out / pool closed
  std::coroutine_handle<> waiter;
  TimerId timeout;
  std::optional<StopWatch<CancelPoolTask>> watch;
};

template <typename R>
struct PoolResult : PoolTask {
  using Stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  std::optional<Stored> value;
};

template <typename F, typename... Args>
constexpr bool kTakesToken = std::is_invocable_v<F&, std::stop_token, Args&&...>;

// fn's Task<T> for an async task: the pool's result is the T.
template <typename T>
struct Unwrapped {
  static constexpr bool kAsync = false;
  using type = T;
};
template <typename T>
struct Unwrapped<Task<T>> {
  static constexpr bool kAsync = true;
  using type = T;
};

template <typename F, typename... Args>
using PoolResultOf = typename std::conditional_t<kTakesToken<F, Args...>,
                                                 std::invoke_result<F&, std::stop_token, Args&&...>,
                                                 std::invoke_result<F&, Args&&...>>::type;

// A plain function: run() calls it on the worker thread.
template <typename R, typename F, typename... Args>
struct PoolTaskOf final : PoolResult<R> {
  PoolTaskOf(F f, Args... a) : fn(std::move(f)), args(std::move(a)...) {
    this->invoke = &run;
    this->destroy = [](PoolTask* t) noexcept { delete static_cast<PoolTaskOf*>(t); };
    if constexpr (kTakesToken<F, Args...>) this->stop = std::stop_source();
  }
  static void run(PoolTask* base) {
    auto* self = static_cast<PoolTaskOf*>(base);
    std::apply(
        [self](Args&... a) {
          if constexpr (kTakesToken<F, Args...>) {
            if constexpr (std::is_void_v<R>) {
              std::invoke(self->fn, self->stop.get_token(), std::move(a)...);
              self->value.emplace();
            } else {
              self->value.emplace(std::invoke(self->fn, self->stop.get_token(), std::move(a)...));
            }
          } else if constexpr (std::is_void_v<R>) {
            std::invoke(self->fn, std::move(a)...);
            self->value.emplace();
          } else {
            self->value.emplace(std::invoke(self->fn, std::move(a)...));
          }
        },
        self->args);
  }
  F fn;
  std::tuple<Args...> args;
};

// An async function: body() calls it on the worker thread and awaits its Task there.
template <typename R, typename F, typename... Args>
struct PoolTaskOf<Task<R>, F, Args...> final : PoolResult<R> {
  PoolTaskOf(F f, Args... a) : fn(std::move(f)), args(std::move(a)...) {
    this->body = &run;
    this->destroy = [](PoolTask* t) noexcept { delete static_cast<PoolTaskOf*>(t); };
    if constexpr (kTakesToken<F, Args...>) this->stop = std::stop_source();
  }
  Task<R> start() {
    return std::apply(
        [this](Args&... a) {
          if constexpr (kTakesToken<F, Args...>)
            return std::invoke(fn, this->stop.get_token(), std::move(a)...);
          else
            return std::invoke(fn, std::move(a)...);
        },
        args);
  }
  static Task<void> run(PoolTask* base) {
    auto* self = static_cast<PoolTaskOf*>(base);
    Task<R> task = self->start();
    if constexpr (std::is_void_v<R>) {
      co_await task;
      self->value.emplace();
    } else {
      self->value.emplace(co_await task);
    }
  }
  F fn;
  std::tuple<Args...> args;
};

// The awaitable drops its task: freed now if no worker holds it, else when the worker is done.
void release_task(PoolTask* t) noexcept;
}  // namespace detail

// What run() returns: awaiting it gives the task's value or rethrows its error.
template <typename R>
class [[nodiscard]] PoolRun {
 public:
  explicit PoolRun(detail::PoolResult<R>* t) noexcept : t_(t) {}
  explicit PoolRun(std::exception_ptr e) noexcept : early_(std::move(e)) {}
  PoolRun(PoolRun&& o) noexcept : t_(std::exchange(o.t_, nullptr)), early_(std::move(o.early_)) {}
  PoolRun& operator=(PoolRun&& o) noexcept {
    if (this != &o) {
      reset();
      t_ = std::exchange(o.t_, nullptr);
      early_ = std::move(o.early_);
    }
    return *this;
  }
  ~PoolRun() { reset(); }

  bool ready() const noexcept { return !t_ || t_->settled; }
  bool await_ready() const noexcept { return ready(); }
  void await_suspend(std::coroutine_handle<> h) noexcept { t_->waiter = h; }
  R await_resume() {
    if (!t_) std::rethrow_exception(early_);
    if (t_->outcome) std::rethrow_exception(t_->outcome);
    if (t_->error) std::rethrow_exception(t_->error);
    if constexpr (!std::is_void_v<R>) return std::move(*t_->value);
  }

 private:
  void reset() noexcept {
    if (t_) detail::release_task(std::exchange(t_, nullptr));
  }
  detail::PoolResult<R>* t_ = nullptr;
  std::exception_ptr early_;
};

class WorkerPool {
 public:
  explicit WorkerPool(Loop& loop, PoolOptions options = {});
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues fn(args...) (or fn(stop_token, args...)); fn runs on a worker thread. If fn returns
  // Task<T>, the task runs on that worker's loop and the result is the T.
  template <typename F, typename... Args>
  auto run(F fn, Args... args) {
    return run_with(TaskOptions{}, std::move(fn), std::move(args)...);
  }
  template <typename F, typename... Args>
  auto run_with(TaskOptions options, F fn, Args... args) {
    using Raw = detail::PoolResultOf<F, Args...>;
    using R = typename detail::Unwrapped<Raw>::type;
    auto* t = new detail::PoolTaskOf<Raw, F, Args...>(std::move(fn), std::move(args)...);
    if (std::exception_ptr e = submit(t, options)) {
      t->destroy(t);
      return PoolRun<R>(e);
    }
    return PoolRun<R>(t);
  }

  bool needs_drain() const;  // run() would refuse a task now (no thread free, max_queue waiting)
  struct DrainAwaiter {
    WorkerPool& pool;
    bool await_ready() const { return !pool.needs_drain(); }
    bool await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}
  };
  // co_await pool.drain(): resumes once run() would take a task again (at once if it would).
  DrainAwaiter drain() { return DrainAwaiter{*this}; }

  // Takes no more work, waits for queued and running tasks to finish, joins the threads.
  Task<void> close();

  PoolStats stats() const;
  std::size_t queue_size() const;
  std::size_t threads() const;

 private:
  std::exception_ptr submit(detail::PoolTask* t, const TaskOptions& options);
  std::shared_ptr<detail::PoolCore> core_;
};

}  // namespace brigade
