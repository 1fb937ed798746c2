#pragma once
// Loop: one thread's event loop, in libuv's phase order —
//   timers → pending → idle/prepare → poll (the I/O backend) → check (immediates) → close —
// with Node's queues: after every callback the next-tick queue, then the microtask queue
// (coroutine continuations, queue_microtask), drain to empty.
// Only post() and the loop's handle() may be used from another thread (loop_handle.hpp: the one
// way in); everything else belongs to the loop's thread.
//
// Exceptions escaping a callback (Node's rule): an exception that leaves any callback the loop
// runs (timer, immediate, next tick, microtask, I/O, posted, hook) goes to the handler set with
// on_uncaught_exception(), with the callback's origin ("timer", a task's name...), and the loop
// goes on with the next callback, as process.on('uncaughtException'). Without a handler it is
// printed with its origin and the process exits with code 1. A handler that throws stops the
// loop: run()/run_once() finish the iteration and rethrow that exception to their caller, with
// the loop consistent (running() false) and able to run again.
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "brigade/loop/activity.hpp"
#include "brigade/loop/callback_queue.hpp"
#include "brigade/loop/function.hpp"
#include "brigade/loop/io.hpp"
#include "brigade/loop/loop_handle.hpp"
#include "brigade/loop/metrics.hpp"
#include "brigade/loop/timer_queue.hpp"

namespace brigade {

// The message of an exception (what() of a std::exception, else "unknown exception").
std::string describe_exception(std::exception_ptr error);

namespace detail {
// Prints "brigade: <what> in <origin>: <message>" and ends the process with `code`, skipping
// static destructors (other threads may still run), as a crash would.
[[noreturn]] void exit_on_uncaught(const char* what, const char* origin, std::exception_ptr error,
                                   int code = 1);
}  // namespace detail

class Loop;
class Poller;  // the I/O backend (src/loop/poller.hpp)
struct PollEvent;

// An fd watched by the loop. The owner keeps it alive until io_stop(); the handler is a plain
// function pointer so dispatch has no allocation and no virtual call.
struct IoWatch {
  using Handler = void (*)(IoWatch& watch, uint32_t events);
  int fd = -1;
  Handler handler = nullptr;
  void* data = nullptr;  // the owner's object, for the handler
  uint32_t events = 0;   // what is registered (io::kReadable | ...)
  bool active = false;
  bool ref = true;  // keeps the loop alive while active
};

// A send the backend performs itself (io_uring; see Loop::io_send). Staged until the iteration's
// wait: `prepare` runs just before submission and names the bytes (it only sets `bytes` and
// `size`), so every write of the iteration goes in one send. From then until `handler` runs (or
// io_cancel took it back) the owner keeps those bytes alive and unmoved.
struct IoCompletion {
  using Handler = void (*)(IoCompletion& op);
  Handler prepare = nullptr;
  Handler handler = nullptr;
  void* data = nullptr;         // the owner's object, for the handlers
  const char* bytes = nullptr;  // set by prepare
  std::size_t size = 0;
  long result = 0;   // bytes sent, or -errno, when the handler runs
  uint64_t tag = 0;  // the backend's name for it while staged or in flight (0: neither)
};

// A multishot receive the backend performs itself (io_uring's provided buffers; see
// Loop::io_recv): one request, many completions. `handler` runs from a poll phase for each:
// `result` is the byte count (the bytes at `bytes`, the backend's buffer, valid only during the
// handler), 0 at the end of the stream, or -errno; `more` is false on the request's last one.
struct IoRecv {
  using Handler = void (*)(IoRecv& op, long result, const char* bytes, bool more);
  Handler handler = nullptr;
  void* data = nullptr;  // the owner's object, for the handler
  uint64_t tag = 0;      // the backend's name for the request while armed (0: none)
};

// A file operation the backend performs itself (io_uring; see Loop::io_file): open a path
// (relative to the working directory), or read or write at an offset. What it names (the path,
// the buffer) stays alive and unmoved until its IoCompletion's handler runs.
struct IoFileRequest {
  enum Kind : uint8_t { kOpen, kRead, kWrite };
  Kind kind = kOpen;
  int fd = -1;                 // read, write
  const char* path = nullptr;  // open
  int flags = 0;               // open
  unsigned mode = 0;           // open, with O_CREAT
  void* buf = nullptr;         // read into, or write from
  std::size_t size = 0;
  uint64_t offset = 0;
};

enum class Phase : uint8_t { kIdle, kPrepare, kCheck };

// Gets an exception that escaped a callback and where it came from ("timer", "immediate",
// "next tick or microtask", "io callback", a task's name...).
using UncaughtExceptionHandler = std::function<void(std::exception_ptr error, const char* origin)>;

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // The loop of this thread: the one running, else the latest created here (nullptr if none).
  static Loop* current() noexcept;

  // Runs until nothing keeps the loop alive or stop() is called.
  void run();
  // One iteration; waits for I/O only when `may_block` and nothing else is runnable.
  // Returns whether the loop is still alive.
  bool run_once(bool may_block = true);
  void stop() noexcept { stop_ = true; }
  bool alive() const noexcept;
  bool running() const noexcept { return running_; }

  // Loop time: milliseconds and nanoseconds on the monotonic clock, cached once per iteration
  // and refreshed when a timer is set (so a timer set after blocking work counts from the call,
  // as Node's timers do).
  uint64_t now() const noexcept { return now_ms_; }
  uint64_t now_ns() const noexcept { return now_ns_; }
  void update_time() noexcept;
  static uint64_t hrtime() noexcept;

  // Timers. A timeout below 1 ms is 1 ms, as in Node. The delay counts from the call (the clock
  // is read there), so it holds even when the current callback has been busy. Deadlines are
  // kept in ns and the poll sleeps to the exact one, so a timer ends neither early nor a
  // millisecond late.
  TimerId set_timeout(uint64_t ms, Callback cb);
  TimerId set_interval(uint64_t ms, Callback cb);
  bool clear_timer(TimerId id) { return timers_.cancel(id); }
  bool refresh_timer(TimerId id) {
    update_time();
    return timers_.refresh(id, now_ns_);
  }
  bool unref_timer(TimerId id) { return timers_.set_ref(id, false); }
  bool ref_timer(TimerId id) { return timers_.set_ref(id, true); }
  bool timer_active(TimerId id) const { return timers_.active(id); }
  std::size_t timer_count() const noexcept { return timers_.size(); }

  // Queues.
  void set_immediate(Callback cb) { immediates_.push(std::move(cb)); }
  void next_tick(Callback cb) { ticks_.push(std::move(cb)); }
  void queue_microtask(Callback cb) { microtasks_.push(std::move(cb)); }
  void defer(Callback cb) { pending_.push(std::move(cb)); }     // pending phase, next iteration
  void on_close(Callback cb) { closing_.push(std::move(cb)); }  // close phase of this iteration
  // Thread-safe: runs cb on the loop thread; handle()->post(cb), for a caller that knows the loop
  // outlives the call (a thread that may outlive it keeps handle() and posts through that).
  void post(Callback cb) { handle_->post(std::move(cb)); }

  // Persistent phase hooks (libuv's idle, prepare and check handles). Returns an id.
  uint64_t add_hook(Phase phase, UniqueFunction<void()> fn);
  void remove_hook(uint64_t id);

  // Spin hooks: run when the loop is about to block in poll. A hook may busy-wait up to
  // `max_ns` for work from another thread; it returns true once work is ready (queued with
  // set_immediate, or a post: see post_pending()), and the loop then polls without blocking.
  // The spin counts as idle time (ELU, delay histogram). Returns an id for remove_hook.
  uint64_t add_spin_hook(UniqueFunction<bool(uint64_t max_ns)> fn);
  // Thread-safe: a post() is waiting for this loop (a spin hook stops spinning when it is).
  bool post_pending() const noexcept { return handle_->pending(); }

  // I/O watchers.
  int io_start(IoWatch& w, uint32_t events);  // add or modify; returns 0 or errno
  void io_stop(IoWatch& w);
  void io_set_ref(IoWatch& w, bool ref);

  // The backend's name ("io_uring" or "epoll"), chosen when the loop was made.
  const char* backend() const noexcept;
  // Completion-based sends, where the backend has them (io_uring): io_send stages a send on the
  // socket `fd`, prepared and submitted with the iteration's wait (at once outside an
  // iteration); op.handler runs from a poll phase with the result (a short count is possible).
  // Returns 0 or an errno (ENOSYS on epoll; EAGAIN when it cannot now: the caller sends itself).
  // io_cancel: the owner goes; a staged send is submitted first, the kernel keeps what the socket
  // takes now (what a send() would have sent), the rest is cancelled, the handler never runs,
  // and the buffer `release(op)` hands over is freed once the kernel is done with it.
  using ReleaseBuffer = std::unique_ptr<char[]> (*)(IoCompletion& op);
  bool io_sends() const noexcept { return sends_; }
  int io_send(IoCompletion& op, int fd) noexcept;
  void io_cancel(IoCompletion& op, ReleaseBuffer release) noexcept;

  // Multishot receives into the backend's buffers, where it has them (io_uring on Linux 6.0+):
  // io_recv arms one on the socket `fd` (submitted with the iteration's wait), returns 0 or an
  // errno (ENOSYS without them). io_recv_pause asks the kernel to end it: completions still reach
  // the handler until the last one (more false), so no received byte is lost. io_recv_cancel:
  // the owner goes; the request ends at once (before the fd is closed) and the handler never
  // runs again.
  bool io_recvs() const noexcept { return recvs_; }
  int io_recv(IoRecv& op, int fd) noexcept;
  void io_recv_pause(IoRecv& op) noexcept;
  void io_recv_cancel(IoRecv& op) noexcept;

  // Multishot accepts, where the backend has them (io_uring, unless BRIGADE_URING_ACCEPT=0):
  // io_accept arms one on the listening socket `fd` (submitted with the iteration's wait) and
  // returns 0 or an errno (ENOSYS without them); each completion reaches op.handler with a new
  // fd (non-blocking, close-on-exec; the handler owns it) or -errno, `bytes` null, `more` false
  // on the request's last. io_recv_pause asks the kernel to end it, as for a receive.
  // io_accept_cancel: the owner goes; the request ends at once and the fds it accepted that the
  // handler has not had go to take(op, fd), or are closed when take is null.
  using TakeAccepted = void (*)(IoRecv& op, int fd);
  bool io_accepts() const noexcept;
  int io_accept(IoRecv& op, int fd) noexcept;
  void io_accept_cancel(IoRecv& op, TakeAccepted take) noexcept;

  // File operations, where the backend has them (io_uring): io_file queues one (submitted with
  // the iteration's wait, at once outside an iteration); op.handler runs from a poll phase with
  // op.result (an fd, a byte count, or -errno). It cannot be cancelled: the owner keeps op and
  // what the request names until then. Returns 0 or an errno (ENOSYS on epoll; EAGAIN when it
  // cannot now, e.g. before the loop's first wait: the caller uses the pool).
  bool io_files() const noexcept;
  int io_file(IoCompletion& op, const IoFileRequest& req) noexcept;

  // Anything else that keeps the loop alive: a request in flight on the pool, a server.
  void ref() noexcept { ++refs_; }
  void unref() noexcept {
    assert(refs_ > 0 && "Loop::unref without a matching ref");
    --refs_;
  }

  // What the loop is doing, for the blocked-loop report and the uncaught-exception origin (a
  // string that outlives the callback): the newer of what set_activity() said (the loop's phase:
  // "timer", "immediate"; a route...) and the name of the spawned task that last resumed.
  void set_activity(const char* what) noexcept {
    activity_.store(what, std::memory_order_relaxed);
    task_activity_.store(nullptr, std::memory_order_relaxed);  // until a task resumes
  }
  const char* activity() const noexcept {
    const char* task = task_activity_.load(std::memory_order_relaxed);
    return task ? task : activity_.load(std::memory_order_relaxed);
  }

  // Where exceptions escaping callbacks go (see the top of this file); nullptr restores the
  // default (print the error with its origin, exit code 1).
  void on_uncaught_exception(UncaughtExceptionHandler handler) { uncaught_ = std::move(handler); }
  bool has_uncaught_exception_handler() const noexcept { return bool(uncaught_); }
  // Hands the exception being handled (call it in a catch block) to the handler, as an
  // exception escaping a callback, with the current activity as its origin.
  void report_uncaught_exception();
  // The same with an explicit exception and origin (an unhandled rejection of a task).
  void dispatch_uncaught_exception(std::exception_ptr error, const char* origin);

  // Blocked-loop detector: a loop busy longer than this is reported (0 turns it off; default 100).
  void set_blocked_threshold_ms(uint64_t ms) noexcept { blocked_threshold_ms_.store(ms); }
  uint64_t blocked_threshold_ms() const noexcept { return blocked_threshold_ms_.load(); }

  // The loop's thread-safe weak handle, the one way in from another thread (loop_handle.hpp).
  const std::shared_ptr<LoopHandle>& handle() const noexcept { return handle_; }

  LoopMetrics& metrics() noexcept { return metrics_; }
  const LoopMetrics& metrics() const noexcept { return metrics_; }
  uint64_t iteration() const noexcept { return iteration_; }

  // Runs the next-tick and microtask queues to empty (the loop calls it after every callback).
  void drain_microtasks();

 private:
  friend class BlockedLoopWatchdog;
  struct Hook {
    uint64_t id;
    Phase phase;
    UniqueFunction<void()> fn;
  };

  struct SpinHook {
    uint64_t id;
    UniqueFunction<bool(uint64_t)> fn;
  };

  int64_t poll_timeout(bool may_block, uint64_t now_ns) const noexcept;  // ns, -1: forever
  void poll(bool may_block);
  int poll_failed(int err) noexcept;
  int64_t spin(int64_t timeout_ns, uint64_t start_ns);
  void run_posted();
  void run_hooks(Phase phase);
  void run_timers();
  void run_queue(CallbackQueue& q, const char* activity);
  void finish_busy_period(uint64_t busy_end_ns);
  static void set_current(Loop* loop) noexcept;
  void rethrow_pending();
  static void on_wakeup(IoWatch& w, uint32_t events);

  std::unique_ptr<Poller> poller_;
  TimerQueue timers_;
  CallbackQueue ticks_, microtasks_, immediates_, pending_, closing_;
  std::vector<Hook> hooks_;
  std::vector<SpinHook> spin_hooks_;
  uint64_t next_hook_id_ = 1;

  // Made with the loop, closed by its destructor; holds the posted queue and the wakeup eventfd.
  std::shared_ptr<LoopHandle> handle_;
  IoWatch wakeup_;  // the handle's eventfd

  PollEvent* batch_ = nullptr;  // the poller's batch being dispatched, for io_stop to scrub
  int batch_size_ = 0;
  int batch_index_ = 0;
  int watches_ = 0;         // active watches besides the wakeup eventfd
  bool sends_ = false;      // the backend performs sends (io_send)
  bool recvs_ = false;      // and receives (io_recv)
  bool iterating_ = false;  // inside run_once: a send waits for the iteration's wait

  long refs_ = 0;
  long io_refs_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t now_ns_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t iteration_ = 0;
  bool stop_ = false;
  bool running_ = false;
  bool draining_ = false;

  LoopMetrics metrics_;
  // Read by the watchdog thread, which only samples (relaxed; blocked_flagged_ publishes).
  std::atomic<uint64_t> busy_since_ns_{0};  // 0 while waiting in poll
  std::atomic<const char*> activity_{"idle"};
  std::atomic<const char*> task_activity_{nullptr};  // the running task's name (activity.hpp)
  UncaughtExceptionHandler uncaught_;
  std::exception_ptr handler_error_;  // thrown by the handler: rethrown at the iteration's end
  std::atomic<uint64_t> blocked_flagged_{0};  // busy_since_ns_ of the period the watchdog flagged
  std::atomic<const char*> blocked_activity_{nullptr};
  std::atomic<uint64_t> blocked_threshold_ms_{100};
  Loop* previous_current_ = nullptr;
};

// Keeps a loop alive while it exists (a request in flight, an open server).
class KeepAlive {
 public:
  KeepAlive() noexcept = default;
  explicit KeepAlive(Loop& loop) noexcept : loop_(&loop) { loop.ref(); }
  KeepAlive(KeepAlive&& o) noexcept : loop_(o.loop_) { o.loop_ = nullptr; }
  KeepAlive& operator=(KeepAlive&& o) noexcept {
    if (this != &o) {
      reset();
      loop_ = o.loop_;
      o.loop_ = nullptr;
    }
    return *this;
  }
  ~KeepAlive() { reset(); }
  void reset() noexcept {
    if (loop_) loop_->unref();
    loop_ = nullptr;
  }

 private:
  Loop* loop_ = nullptr;
};

// A timer owned by its maker: destroying it clears it (setTimeout's Timeout object).
class Timer {
 public:
  Timer() = default;
  explicit Timer(Loop& loop) : loop_(&loop) {}
  Timer(Timer&& o) noexcept : loop_(o.loop_), id_(o.id_) { o.id_ = {}; }
  Timer& operator=(Timer&& o) noexcept {
    if (this != &o) {
      clear();
      loop_ = o.loop_;
      id_ = o.id_;
      o.id_ = {};
    }
    return *this;
  }
  ~Timer() { clear(); }

  void start(uint64_t ms, Callback cb, bool repeat = false) {
    clear();
    id_ = repeat ? loop_->set_interval(ms, std::move(cb)) : loop_->set_timeout(ms, std::move(cb));
  }
  void clear() {
    if (id_ && loop_) loop_->clear_timer(id_);
    id_ = {};
  }
  bool refresh() { return loop_->refresh_timer(id_); }
  void unref() { loop_->unref_timer(id_); }
  void ref() { loop_->ref_timer(id_); }
  bool active() const { return loop_ && loop_->timer_active(id_); }

 private:
  Loop* loop_ = nullptr;
  TimerId id_;
};

}  // namespace brigade
