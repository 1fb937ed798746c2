#include "brigade/worker/worker_pool.hpp"

#include "large_blocks.hpp"

// Locks: PoolCore::mu (queue, idle list, thread counts) and PoolCore::done_mu (completions on
// their way to the loop) are never held together, and nothing is posted under either: a wake-up
// or a completion takes what it needs under the lock and posts after releasing it.

#include <algorithm>
#include <cassert>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "brigade/loop/thread.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/worker/mailbox.hpp"

namespace brigade {

namespace detail {

namespace {
// A FIFO of tasks through their own links: no allocation to queue or to remove one.
struct TaskList {
  PoolTask* head = nullptr;
  PoolTask* tail = nullptr;
  void push(PoolTask* t) {
    t->next = nullptr;
    t->prev = tail;
    (tail ? tail->next : head) = t;
    tail = t;
  }
  void unlink(PoolTask* t) {
    (t->prev ? t->prev->next : head) = t->next;
    (t->next ? t->next->prev : tail) = t->prev;
    t->prev = t->next = nullptr;
  }
};
}  // namespace

struct PoolWorker;

// What runs on a worker thread: its loop, and pulling tasks from the pool's queue.
struct WorkerRuntime {
  PoolCore& core;
  PoolWorker& self;
  Loop loop;
  MailboxRef box;
  KeepAlive keep;
  Timer idle_timer;
  WorkerRuntime(PoolCore& c, PoolWorker& w)
      : core(c), self(w), box(loop), keep(loop), idle_timer(loop) {}
  void pull();
  bool run_one(PoolTask* t);  // false: the worker dies
  void start_async(PoolTask* t);
  void async_done(PoolTask* t);
  bool settle_run(PoolTask* t);  // the worker is done with t; false: the worker dies
  void abandon_async();
  void on_idle_timeout();
  void finish() {  // stop() alone is forgotten if run() has not started yet
    done = true;
    loop.stop();
  }
  bool done = false;
  std::size_t active = 0;  // tasks started and not finished (async ones wait on the loop)
  int died_code = 0;       // the exit code that ended this worker, for its other async tasks
};

struct PoolWorker {
  std::thread thread;
  std::shared_ptr<LoopHandle> box;  // guarded by PoolCore::mu; set once the thread's loop runs
  WorkerRuntime* rt = nullptr;      // the worker's thread only
  TaskList running;                 // guarded by PoolCore::mu (through the tasks' queue links)
  bool idle = false;                // guarded by PoolCore::mu: listed in PoolCore::idle
  bool ended = false;               // guarded by PoolCore::mu: counted out of PoolCore::threads
};

struct PoolCore : std::enable_shared_from_this<PoolCore> {
  PoolCore(Loop& l, PoolOptions o)
      : loop(l), opts(std::move(o)), mailbox(l), inbox(mailbox.handle()) {}

  Loop& loop;
  PoolOptions opts;
  WorkerPool* owner = nullptr;  // the loop's thread only; nullptr once the pool is gone
  MailboxRef mailbox;
  const std::shared_ptr<LoopHandle> inbox;  // the pool's loop: where completions go

  mutable std::mutex mu;  // the queue, the idle list, thread counts
  std::map<int, TaskList, std::greater<int>> queue;
  std::size_t queued = 0;
  // Of the queued, those a worker was woken or started for: they start at once and do not count
  // against max_queue (Piscina's rule: only a task that cannot start now waits in the queue).
  std::size_t starting = 0;
  // A drain() waits: a worker that goes idle has the loop look again (room may be a free thread).
  bool drain_wanted = false;
  std::size_t running = 0;
  std::vector<PoolWorker*> idle;
  std::size_t threads = 0;
  bool closed = false;    // no new work
  bool stopping = false;  // workers end as soon as they can

  std::mutex done_mu;  // completions and ended threads, on their way to the loop
  std::vector<PoolTask*> finished;
  std::vector<PoolWorker*> exited;
  bool finish_scheduled = false;

  // The loop's thread only.
  std::vector<std::unique_ptr<PoolWorker>> workers;
  std::vector<PoolTask*> finished_batch;
  std::vector<PoolWorker*> exited_batch;
  std::vector<std::coroutine_handle<>> to_resume;
  std::vector<std::coroutine_handle<>> drain_waiters;
  std::coroutine_handle<> close_waiter;
  std::size_t in_flight = 0;  // tasks a worker has or may still take; they keep the loop alive
  PoolStats stats;
  uint64_t run_ns_total = 0;
  uint64_t start_ns = Loop::hrtime();

  PoolTask* pop_locked();
  std::size_t waiting_locked() const { return queued - starting; }
  // Whether run() would refuse a task now: no thread can start it and max_queue tasks wait.
  bool full_locked() const {
    bool at_once = !idle.empty() || threads < opts.max_threads;
    return !at_once && waiting_locked() >= opts.max_queue;
  }
  void push_locked(PoolTask* t);
  void start_worker(bool for_a_task);
  void ensure_workers();
  void post_finished(PoolTask* t, PoolWorker* exited_worker);
  void on_finished();
  void complete(PoolTask* t);
  void settle(PoolTask* t, std::exception_ptr outcome);
  void cancel(PoolTask* t, bool timed_out);
  void resume_all();
  void add_in_flight() {
    if (in_flight++ == 0) loop.ref();
  }
  void drop_in_flight() {
    if (--in_flight == 0) loop.unref();
  }
  void wake_drain_waiters();
  void stop_workers();
};

PoolTask* PoolCore::pop_locked() {
  for (auto& [prio, list] : queue) {
    if (!list.head) continue;
    PoolTask* t = list.head;
    list.unlink(t);
    --queued;
    if (starting > 0) --starting;  // the task a worker was woken for, or one like it
    return t;
  }
  return nullptr;
}

void PoolCore::push_locked(PoolTask* t) {
  queue[t->priority].push(t);
  ++queued;
}

// ---- worker threads ----

void WorkerRuntime::pull() {
  idle_timer.clear();
  const std::size_t slots = core.opts.max_concurrent_per_worker;
  for (int n = 0; n < 64; ++n) {
    PoolTask* t = nullptr;
    bool wake_drain = false;
    {
      std::lock_guard lock(core.mu);
      if (core.stopping) return finish();
      if (active >= slots) return;  // full: a task that finishes pulls again
      t = core.pop_locked();
      if (!t && !self.idle) {
        self.idle = true;
        core.idle.push_back(&self);
        wake_drain = std::exchange(core.drain_wanted, false);
      } else if (t) {
        assert(t->state == PoolTask::kQueued);
        t->state = PoolTask::kRunning;
        self.running.push(t);
        ++core.running;
        if (++active == slots && self.idle) {  // a worker that is full takes no wake-up
          std::erase(core.idle, &self);
          self.idle = false;
        }
      }
    }
    if (wake_drain) core.post_finished(nullptr, nullptr);  // a drain() may proceed: look again
    if (!t) {
      if (active == 0 && core.opts.idle_timeout_ms)
        idle_timer.start(core.opts.idle_timeout_ms, [this] { on_idle_timeout(); });
      return;
    }
    if (!run_one(t)) return finish();
  }
  loop.set_immediate([this] { pull(); });  // a long queue: let the loop turn now and then
}

bool WorkerRuntime::run_one(PoolTask* t) {
  t->start_ns = Loop::hrtime();
  if (t->body) {
    start_async(t);
    return !done;
  }
  try {
    t->invoke(t);
  } catch (const WorkerExit& e) {
    t->died = true;
    t->exit_code = e.code;
  } catch (...) {
    t->error = std::current_exception();
  }
  t->end_ns = Loop::hrtime();
  return settle_run(t);
}

// The worker is done with t: it goes to the pool's loop. Returns false if the worker dies.
bool WorkerRuntime::settle_run(PoolTask* t) {
  bool died = t->died;
  {
    std::lock_guard lock(core.mu);
    assert(t->state == PoolTask::kRunning);
    t->state = PoolTask::kFinished;
    self.running.unlink(t);
    --core.running;
    --active;
    if (died && !self.ended) {
      self.ended = true;
      --core.threads;
      if (self.idle) std::erase(core.idle, &self);
      self.idle = false;
    } else if (!died && !self.idle && !core.stopping) {
      // Free again from now on (it pulls next): listed before the loop hears of the end, so a
      // task submitted in answer to it is never refused as if every thread were busy.
      self.idle = true;
      core.idle.push_back(&self);
    }
  }
  if (died) died_code = t->exit_code;
  core.post_finished(t, nullptr);  // t belongs to the loop from here on
  return !died;
}

namespace {
// Drives one async task on its worker's loop; the frame frees itself at the end, or is destroyed
// by abandon_async() if the worker's loop stops first.
struct AsyncDriver {
  struct promise_type {
    AsyncDriver get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    brigade::detail::FreeSelf final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<> handle;
};

AsyncDriver drive(WorkerRuntime& rt, PoolTask* t) {
  try {
    Task<void> body = t->body(t);
    co_await body;
  } catch (const WorkerExit& e) {
    t->died = true;
    t->exit_code = e.code;
  } catch (...) {
    t->error = std::current_exception();
  }
  detail::set_context(nullptr);  // this chain ends here (see set_context)
  rt.async_done(t);
}
}  // namespace

void WorkerRuntime::start_async(PoolTask* t) {
  const ContextNode* mine = detail::t_context;
  std::coroutine_handle<> h = drive(*this, t).handle;
  t->driver = h;
  h.resume();  // runs until the task first waits, or to its end (t may be gone after it)
  detail::set_context(mine);
}

void WorkerRuntime::async_done(PoolTask* t) {
  t->driver = {};
  t->end_ns = Loop::hrtime();
  if (!settle_run(t)) return finish();                // the other tasks of this worker fail with it
  if (!done) loop.set_immediate([this] { pull(); });  // a slot is free again
}

// The loop stopped (the pool stops, or a task ended the worker) with async tasks in flight: their
// frames go now, on this thread, and the tasks fail.
void WorkerRuntime::abandon_async() {
  for (;;) {
    PoolTask* t;
    {
      std::lock_guard lock(core.mu);
      t = self.running.head;
    }
    if (!t) return;
    std::exchange(t->driver, {}).destroy();
    t->end_ns = Loop::hrtime();
    if (!core.stopping) {
      t->died = true;
      t->exit_code = died_code;
    } else {
      t->error = std::make_exception_ptr(PoolClosedError());
    }
    settle_run(t);
  }
}

void WorkerRuntime::on_idle_timeout() {
  {
    std::lock_guard lock(core.mu);
    if (!self.idle || active > 0 || core.threads <= core.opts.min_threads) return;
    std::erase(core.idle, &self);
    self.idle = false;
    self.ended = true;
    --core.threads;
  }
  finish();
}

void worker_thread(std::shared_ptr<PoolCore> core, PoolWorker* w) {
  {
    WorkerRuntime rt(*core, *w);
    rt.loop.set_blocked_threshold_ms(0);  // tasks are long computations by design
    w->rt = &rt;
    {
      std::lock_guard lock(core->mu);
      w->box = rt.box.handle();
    }
    rt.pull();
    if (!rt.done) rt.loop.run();
    rt.abandon_async();
    std::lock_guard lock(core->mu);
    w->box.reset();
    if (w->idle) std::erase(core->idle, w);
    w->idle = false;
    if (!w->ended) {  // stopped by the pool
      w->ended = true;
      --core->threads;
    }
  }
  core->post_finished(nullptr, w);
}

void PoolCore::post_finished(PoolTask* t, PoolWorker* exited_worker) {
  bool post;
  {
    std::lock_guard lock(done_mu);
    if (t) finished.push_back(t);
    if (exited_worker) exited.push_back(exited_worker);
    post = !finish_scheduled;
    finish_scheduled = true;
  }
  // on_finished returns at once if the pool is gone by then.
  if (post) inbox->post([c = shared_from_this()] { c->on_finished(); });
}

// ---- the pool's loop ----

// Called with threads already counted. A thread not started for one task is free at once: its
// first pull takes whatever waits, so a task submitted before it runs is not refused.
void PoolCore::start_worker(bool for_a_task) {
  auto w = std::make_unique<PoolWorker>();
  if (!for_a_task) {
    std::lock_guard lock(mu);
    w->idle = true;
    idle.push_back(w.get());
  }
  w->thread =
      start_thread("brigade-wpool", [c = shared_from_this(), p = w.get()] { worker_thread(c, p); });
  workers.push_back(std::move(w));
}

void PoolCore::ensure_workers() {
  std::size_t to_start = 0;
  {
    std::lock_guard lock(mu);
    if (stopping) return;
    std::size_t busy = threads - idle.size();
    std::size_t want = std::max(opts.min_threads, std::min(opts.max_threads, busy + queued));
    if (want > threads) to_start = want - threads;
    threads += to_start;
  }
  while (to_start--) start_worker(false);
}

void PoolCore::on_finished() {
  if (!owner) return;  // the pool is gone: its destructor took care of everything
  {
    std::lock_guard lock(done_mu);
    finished_batch.swap(finished);
    exited_batch.swap(exited);
    finish_scheduled = false;
  }
  for (PoolTask* t : finished_batch) complete(t);
  finished_batch.clear();
  for (PoolWorker* w : exited_batch) {
    w->thread.join();
    std::erase_if(workers, [w](const std::unique_ptr<PoolWorker>& p) { return p.get() == w; });
  }
  if (!exited_batch.empty()) ensure_workers();
  exited_batch.clear();
  wake_drain_waiters();
  if (in_flight == 0 && close_waiter) to_resume.push_back(std::exchange(close_waiter, {}));
  resume_all();
}

void PoolCore::complete(PoolTask* t) {
  assert(!t->worker_done && t->state == PoolTask::kFinished);
  t->worker_done = true;
  drop_in_flight();
  stats.wait_time.record(t->start_ns - t->queued_ns);
  stats.run_time.record(t->end_ns - t->start_ns);
  run_ns_total += t->end_ns - t->start_ns;
  if (t->died) ++stats.workers_died;
  if (t->settled) {  // cancelled or timed out while it ran
    if (t->abandoned) t->destroy(t);
    return;
  }
  if (t->died || t->error)
    ++stats.failed;
  else
    ++stats.completed;
  settle(t, t->died ? std::make_exception_ptr(WorkerDiedError(t->exit_code)) : nullptr);
}

// Decides the awaiter's outcome; the awaiter is resumed by resume_all().
void PoolCore::settle(PoolTask* t, std::exception_ptr outcome) {
  assert(!t->settled && "a pool task's outcome is decided once");
  t->settled = true;
  t->outcome = std::move(outcome);
  if (t->timeout) loop.clear_timer(t->timeout);
  t->timeout = {};
  t->watch.reset();
  if (t->abandoned) {
    if (t->worker_done) t->destroy(t);
    return;
  }
  if (t->waiter) to_resume.push_back(std::exchange(t->waiter, {}));
}

void PoolCore::cancel(PoolTask* t, bool timed_out) {
  if (t->settled) return;
  bool removed = false;
  {
    std::lock_guard lock(mu);
    if (t->state == PoolTask::kQueued) {
      queue[t->priority].unlink(t);
      --queued;
      starting = std::min(starting, queued);
      t->state = PoolTask::kRemoved;
      removed = true;
    }
  }
  if (removed) {
    t->worker_done = true;
    drop_in_flight();
  } else if (t->stop.stop_possible()) {
    t->stop.request_stop();  // it runs: ask it to stop; its result will be dropped
  }
  ++(timed_out ? stats.timed_out : stats.cancelled);
  settle(t, timed_out ? std::make_exception_ptr(TimeoutError("worker pool task"))
                      : std::make_exception_ptr(CancelledError("worker pool task")));
  wake_drain_waiters();
  if (in_flight == 0 && close_waiter) to_resume.push_back(std::exchange(close_waiter, {}));
  resume_all();
}

void PoolCore::resume_all() {
  if (to_resume.empty()) return;
  std::vector<std::coroutine_handle<>> now;
  now.swap(to_resume);
  for (auto h : now) h.resume();  // may destroy the pool: touch nothing of it after this
}

void PoolCore::wake_drain_waiters() {
  if (drain_waiters.empty()) return;
  {
    std::lock_guard lock(mu);
    drain_wanted = full_locked();  // still full: the next thread that goes idle tells us
    if (drain_wanted) return;
  }
  for (auto h : drain_waiters) to_resume.push_back(h);
  drain_waiters.clear();
}

void PoolCore::stop_workers() {
  std::vector<std::shared_ptr<LoopHandle>> boxes;
  {
    std::lock_guard lock(mu);
    closed = stopping = true;
    for (auto& w : workers)
      if (w->box) boxes.push_back(w->box);
  }
  for (auto& b : boxes) b->post([] { Loop::current()->stop(); });
  for (auto& w : workers) w->thread.join();
  workers.clear();
  std::lock_guard lock(done_mu);
  exited.clear();
}

void CancelPoolTask::operator()() const { task->core->cancel(task, false); }

void release_task(PoolTask* t) noexcept {
  t->waiter = {};
  if (t->settled && t->worker_done) return t->destroy(t);
  t->abandoned = true;  // the pool frees it when its worker is done with it
}

}  // namespace detail

using detail::PoolCore;
using detail::PoolTask;

WorkerPool::WorkerPool(Loop& loop, PoolOptions options) {
  detail::keep_large_blocks_in_heap();
  if (options.max_threads == 0)
    options.max_threads = std::max(1u, std::thread::hardware_concurrency());
  if (options.min_threads == 0 || options.min_threads > options.max_threads)
    options.min_threads = options.max_threads;
  if (options.max_concurrent_per_worker == 0) options.max_concurrent_per_worker = 1;
  core_ = std::make_shared<PoolCore>(loop, std::move(options));
  core_->owner = this;
  core_->ensure_workers();
}

WorkerPool::~WorkerPool() {
  PoolCore& c = *core_;
  std::vector<PoolTask*> queued;
  {
    std::lock_guard lock(c.mu);
    c.closed = true;
    while (PoolTask* t = c.pop_locked()) {
      assert(t->state == PoolTask::kQueued);
      t->state = PoolTask::kRemoved;
      queued.push_back(t);
    }
    for (auto& w : c.workers)
      for (PoolTask* t = w->running.head; t; t = t->next)
        if (t->stop.stop_possible()) t->stop.request_stop();
  }
  c.stop_workers();
  {
    std::lock_guard lock(c.done_mu);
    c.finished_batch.swap(c.finished);
  }
  for (PoolTask* t : c.finished_batch) c.complete(t);  // work that finished still counts
  c.finished_batch.clear();
  for (PoolTask* t : queued) {
    t->worker_done = true;
    c.drop_in_flight();
    ++c.stats.failed;
    c.settle(t, std::make_exception_ptr(PoolClosedError()));
  }
  for (auto h : c.drain_waiters) c.to_resume.push_back(h);
  c.drain_waiters.clear();
  if (c.close_waiter) c.to_resume.push_back(std::exchange(c.close_waiter, {}));
  c.owner = nullptr;
  c.mailbox.reset();
  auto keep = core_;
  keep->resume_all();
}

std::exception_ptr WorkerPool::submit(PoolTask* t, const TaskOptions& o) {
  PoolCore& c = *core_;
  t->core = &c;
  t->priority = o.priority;
  t->queued_ns = Loop::hrtime();
  detail::PoolWorker* wake = nullptr;
  std::shared_ptr<LoopHandle> wake_box;  // posted to once the pool lock is released
  bool grow = false;
  {
    std::lock_guard lock(c.mu);
    if (c.closed) return std::make_exception_ptr(PoolClosedError());
    if (c.full_locked()) return std::make_exception_ptr(QueueFullError());
    bool at_once = !c.idle.empty() || c.threads < c.opts.max_threads;
    c.push_locked(t);
    if (!c.idle.empty()) {
      wake = c.idle.back();  // the latest to go idle is the likeliest to be spinning still
      c.idle.pop_back();
      wake->idle = false;
    } else if (c.threads < c.opts.max_threads) {
      ++c.threads;
      grow = true;
    }
    if (at_once) ++c.starting;
    // No box yet: the thread has not made its first pull, which will take this task.
    if (wake) wake_box = wake->box;
  }
  // Unlocked: a woken thread is off the idle list, so it neither ends nor is freed meanwhile (only
  // this loop frees a PoolWorker); should it pull the task first, this pull finds nothing.
  if (wake_box) wake_box->post([w = wake] { w->rt->pull(); });
  ++c.stats.submitted;
  c.add_in_flight();
  if (grow) c.start_worker(true);
  if (o.timeout_ms)
    t->timeout = c.loop.set_timeout(o.timeout_ms, [t] {
      t->timeout = {};
      t->core->cancel(t, true);
    });
  if (o.token.stop_possible()) {
    if (o.token.stop_requested()) {
      c.cancel(t, false);
    } else {
      t->watch.emplace(c.loop, o.token, detail::CancelPoolTask{t});
    }
  }
  return nullptr;
}

bool WorkerPool::needs_drain() const {
  std::lock_guard lock(core_->mu);
  return core_->full_locked();
}

bool WorkerPool::DrainAwaiter::await_suspend(std::coroutine_handle<> h) {
  PoolCore& c = *pool.core_;
  {
    std::lock_guard lock(c.mu);
    if (!c.full_locked()) return false;  // a thread went idle since await_ready
    c.drain_wanted = true;
  }
  c.drain_waiters.push_back(h);
  return true;
}

Task<void> WorkerPool::close() {
  {
    std::lock_guard lock(core_->mu);
    core_->closed = true;
  }
  struct AllDone {
    detail::PoolCore& c;
    bool await_ready() const noexcept { return c.in_flight == 0; }
    void await_suspend(std::coroutine_handle<> h) { c.close_waiter = h; }
    void await_resume() const noexcept {}
  };
  auto core = core_;
  co_await AllDone{*core};
  if (core->owner) core->stop_workers();
}

PoolStats WorkerPool::stats() const {
  PoolCore& c = *core_;
  PoolStats s = c.stats;
  {
    std::lock_guard lock(c.mu);
    s.threads = c.threads;
    s.idle_threads = c.idle.size();
    s.queue_size = c.queued;
    s.running = c.running;
  }
  s.min_threads = c.opts.min_threads;
  s.max_threads = c.opts.max_threads;
  s.max_queue = c.opts.max_queue;
  uint64_t alive = Loop::hrtime() - c.start_ns;
  s.utilization = alive ? double(c.run_ns_total) / (double(alive) * double(c.opts.max_threads)) : 0;
  return s;
}

std::size_t WorkerPool::queue_size() const {
  std::lock_guard lock(core_->mu);
  return core_->queued;
}

std::size_t WorkerPool::threads() const {
  std::lock_guard lock(core_->mu);
  return core_->threads;
}

}  // namespace brigade
