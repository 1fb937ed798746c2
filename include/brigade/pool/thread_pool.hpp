#pragma once
// ThreadPool: blocking work off the loop (libuv's threadpool). `co_await pool.run(fn)` runs fn on
// a pool thread and resumes on the awaiting loop with its value or exception.
// Slow work (DNS lookups) may hold at most half of the threads, so it cannot starve file I/O.
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/loop/histogram.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/loop/loop_handle.hpp"
#include "brigade/task/sleep.hpp"

namespace brigade {

enum class WorkKind : uint8_t { kFast, kSlow };

struct RunOptions {
  WorkKind kind = WorkKind::kFast;
  std::stop_token stop;  // cancels the work while it is still queued
  Loop* loop = nullptr;  // where to resume; the current loop by default
};

struct ThreadPoolStats {
  std::size_t threads = 0;
  std::size_t queued = 0;
  std::size_t running = 0;
  uint64_t completed = 0;
  uint64_t cancelled = 0;
  LatencyHistogram wait_ns;  // enqueue to start
  LatencyHistogram run_ns;   // start to finish
};

namespace detail {
// One piece of work, shared by the pool (until it has run) and the awaiter (until resumed).
struct PoolWork {
  enum class State : uint8_t { kQueued, kRunning, kDone, kCancelled };
  void (*execute)(PoolWork*) = nullptr;  // on a pool thread; stores the result in the subclass
  void (*destroy)(PoolWork*) = nullptr;
  std::atomic<int> refs{2};
  State state = State::kQueued;  // guarded by the pool's mutex
  WorkKind kind = WorkKind::kFast;
  uint64_t enqueued_ns = 0;
  Loop* loop = nullptr;
  std::shared_ptr<LoopHandle> loop_handle;
  std::coroutine_handle<> waiter;  // null once the awaiter is gone
  void release() {
    // acq_rel: whichever side drops last (pool thread or loop) sees the other's writes first.
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(this);
  }
};

// The queues and their lock, shared by the pool's threads and by every awaiter of its work, so
// that an awaiter outliving the ThreadPool object (destroyed while the awaiter waits) never
// touches freed memory.
struct ThreadPoolCore {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<PoolWork*> fast, slow;  // queued work: state kQueued
  std::size_t threads = 0;
  std::size_t running = 0;
  std::size_t running_slow = 0;
  uint64_t completed = 0;
  uint64_t cancelled = 0;
  LatencyHistogram wait_ns, run_ns;
  bool stopping = false;  // the ThreadPool is being destroyed: nothing is queued any more

  void enqueue(PoolWork* w);
  bool cancel(PoolWork* w);  // true if it was still queued (and is now cancelled)
  void worker_main();
  PoolWork* next_locked();
  static void finish(PoolWork* w);  // hands the work back to its loop
  static void complete_on_loop(PoolWork* w);
};

template <typename R, typename F>
struct PoolWorkOf : PoolWork {
  F fn;
  std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;
  std::exception_ptr error;
  explicit PoolWorkOf(F f) : fn(std::move(f)) {
    execute = [](PoolWork* w) {
      auto* self = static_cast<PoolWorkOf*>(w);
      try {
        if constexpr (std::is_void_v<R>) {
          self->fn();
          self->value.emplace(true);
        } else {
          self->value.emplace(self->fn());
        }
      } catch (...) {
        self->error = std::current_exception();
      }
    };
    destroy = [](PoolWork* w) { delete static_cast<PoolWorkOf*>(w); };
  }
};
}  // namespace detail

class ThreadPool {
 public:
  explicit ThreadPool(std::size_t threads = default_size());
  // Running work finishes (this waits for it) and its awaiters get its result; queued work
  // fails with CancelledError. Awaiters resume on their loops afterwards, as usual.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // BRIGADE_THREADPOOL_SIZE (1..1024) or 4, as UV_THREADPOOL_SIZE.
  static std::size_t default_size();
  // The process-wide pool that fs, dns and the database layer use by default.
  static ThreadPool& shared();

  template <typename F>
  class [[nodiscard]] RunAwaiter;

  // co_await pool.run(fn): fn runs on a pool thread; the awaiting coroutine resumes on its loop.
  // g++ 12 destroys a braced aggregate temporary inside a co_await expression twice: pass a named
  // RunOptions, or use the overloads that take a token or a kind.
  template <typename F>
  RunAwaiter<F> run(F fn, RunOptions options = RunOptions()) {
    return RunAwaiter<F>(*this, std::move(fn), std::move(options));
  }
  template <typename F>
  RunAwaiter<F> run(F fn, std::stop_token stop) {
    RunOptions options;
    options.stop = std::move(stop);
    return RunAwaiter<F>(*this, std::move(fn), std::move(options));
  }
  template <typename F>
  RunAwaiter<F> run(F fn, WorkKind kind, std::stop_token stop = {}) {
    RunOptions options;
    options.kind = kind;
    options.stop = std::move(stop);
    return RunAwaiter<F>(*this, std::move(fn), std::move(options));
  }

  std::size_t size() const noexcept { return threads_.size(); }
  std::size_t queue_depth() const;
  ThreadPoolStats stats() const;

  // Internal: the awaiter's side.
  void enqueue(detail::PoolWork* w) { core_->enqueue(w); }
  bool cancel(detail::PoolWork* w) { return core_->cancel(w); }

 private:
  std::shared_ptr<detail::ThreadPoolCore> core_;
  std::vector<std::thread> threads_;
};

template <typename F>
class [[nodiscard]] ThreadPool::RunAwaiter {
  using R = std::invoke_result_t<F&>;
  using Work = detail::PoolWorkOf<R, F>;

 public:
  RunAwaiter(ThreadPool& pool, F fn, RunOptions options)
      : core_(pool.core_), work_(new Work(std::move(fn))), options_(std::move(options)) {}
  RunAwaiter(RunAwaiter&& o) noexcept
      : core_(std::move(o.core_)),
        work_(std::exchange(o.work_, nullptr)),
        options_(std::move(o.options_)) {}
  RunAwaiter(const RunAwaiter&) = delete;
  ~RunAwaiter() {
    if (!work_) return;
    stop_.reset();
    if (!started_) {
      work_->refs.store(1);
    } else if (!resumed_ && core_->cancel(work_)) {
      // The awaiting frame is destroyed while its work waits in the queue: it never runs now.
      work_->release();  // the pool's reference
    }
    work_->waiter = nullptr;  // a completion still in flight finds no one (same thread)
    work_->release();
  }

  bool await_ready() const noexcept { return options_.stop.stop_requested(); }
  void await_suspend(std::coroutine_handle<> h) {
    Loop& loop = detail::loop_or_current(options_.loop);
    work_->waiter = h;
    work_->kind = options_.kind;
    work_->loop = &loop;
    work_->loop_handle = loop.handle();
    started_ = true;
    loop.ref();
    core_->enqueue(work_);
    if (options_.stop.stop_possible()) stop_.emplace(loop, options_.stop, OnStop{this});
  }
  R await_resume() {
    resumed_ = true;  // the pool is through with the work: completed, cancelled or never queued
    stop_.reset();
    if (!started_ || work_->state == detail::PoolWork::State::kCancelled)
      throw CancelledError("threadpool work");
    if (work_->error) std::rethrow_exception(work_->error);
    if constexpr (!std::is_void_v<R>) return std::move(*work_->value);
  }

 private:
  struct OnStop {
    RunAwaiter* self;
    void operator()() const {
      detail::PoolWork* w = self->work_;
      if (!self->core_->cancel(w)) return;  // already running: it will complete normally
      w->release();
      w->loop->unref();
      std::exchange(w->waiter, nullptr).resume();
    }
  };
  std::shared_ptr<detail::ThreadPoolCore> core_;  // outlives the ThreadPool if need be
  Work* work_;
  RunOptions options_;
  bool started_ = false;
  bool resumed_ = false;
  std::optional<detail::StopWatch<OnStop>> stop_;
};

}  // namespace brigade
