#include "brigade/loop/loop.hpp"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <utility>

#include "brigade/error.hpp"
#include "brigade/loop/fd_limit.hpp"
#include "brigade/loop/log_sink.hpp"
#include "brigade/loop/loop_handle.hpp"
#include "poller.hpp"
#include "watchdog.hpp"

namespace brigade {

namespace {
thread_local Loop* t_current = nullptr;
}

Loop* Loop::current() noexcept { return t_current; }

void Loop::set_current(Loop* loop) noexcept {
  t_current = loop;
  detail::t_task_activity = loop ? &loop->task_activity_ : nullptr;
}

std::string describe_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

void detail::exit_on_uncaught(const char* what, const char* origin, std::exception_ptr error,
                              int code) {
  std::string message = describe_exception(error);
  log::write_now({log::Level::kFatal,
                  log::unix_now_ns(),
                  std::string(what) + " in " + origin + ": " + message,
                  "",
                  {{"origin", origin}, {"error", message}}});
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(code);  // other threads may still run: skip static destructors, as a crash would
}

uint64_t Loop::hrtime() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

Loop::Loop() : poller_(make_poller()), handle_(new LoopHandle(*this)) {
  static const uint64_t open_files = raise_open_file_limit();  // once per process, as Node
  (void)open_files;
  wakeup_.fd = handle_->wake_fd_;
  wakeup_.handler = &Loop::on_wakeup;
  wakeup_.data = this;
  wakeup_.ref = false;
  if (int err = poller_->add(wakeup_.fd, io::kReadable, &wakeup_))
    throw Error(err, std::string(poller_->name()) + ": watching the wakeup eventfd");
  wakeup_.active = true;
  sends_ = poller_->has_sends();
  recvs_ = poller_->has_recvs();
  metrics_.on_blocked = [](const BlockedReport& r) {
    if (!log::enabled(log::Level::kWarn)) return;
    uint64_t ms = r.duration_ns / 1'000'000u;
    log::write({log::Level::kWarn,
                log::unix_now_ns(),
                "event loop blocked for " + std::to_string(ms) + " ms in '" + r.activity + "'",
                "",
                {{"activity", r.activity}, {"blocked_ms", ms}}});
  };
  update_time();
  start_ns_ = now_ns_;
  previous_current_ = t_current;
  set_current(this);
  BlockedLoopWatchdog::instance().add(this);
}

Loop::~Loop() {
  handle_->close();  // posts from now on return false; the eventfd goes with the handle
  BlockedLoopWatchdog::instance().remove(this);
  if (t_current == this) set_current(previous_current_);
  if (detail::t_task_activity == &task_activity_) detail::t_task_activity = nullptr;
}

void Loop::update_time() noexcept {
  now_ns_ = hrtime();
  now_ms_ = now_ns_ / 1'000'000u;
}

// Timers read the clock (one vDSO call): the cached loop time lags by however long the current
// callback has run, and Node's timers count from the call too.
TimerId Loop::set_timeout(uint64_t ms, Callback cb) {
  update_time();
  return timers_.add(now_ns_, ms, false, std::move(cb));
}

TimerId Loop::set_interval(uint64_t ms, Callback cb) {
  update_time();
  return timers_.add(now_ns_, ms, true, std::move(cb));
}

void Loop::report_uncaught_exception() {
  const char* origin = activity();
  dispatch_uncaught_exception(std::current_exception(), origin ? origin : "unknown");
}

void Loop::dispatch_uncaught_exception(std::exception_ptr error, const char* origin) {
  if (!uncaught_) detail::exit_on_uncaught("uncaught exception", origin, error);
  try {
    uncaught_(error, origin);
  } catch (...) {
    // The handler gave up: stop, and let run() rethrow once the iteration is through.
    if (!handler_error_) handler_error_ = std::current_exception();
    stop_ = true;
  }
}

void Loop::rethrow_pending() {
  if (handler_error_) std::rethrow_exception(std::exchange(handler_error_, nullptr));
}

// ---- the cross-thread entry (loop_handle.hpp) ----

namespace {
thread_local LoopHandle* t_running_handle = nullptr;
}

LoopHandle* LoopHandle::current() noexcept { return t_running_handle; }

LoopHandle::LoopHandle(Loop& loop)
    : loop_(&loop), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (wake_fd_ < 0) throw_errno("eventfd");
}

LoopHandle::~LoopHandle() { ::close(wake_fd_); }

bool LoopHandle::post(Callback cb) {
  {
    std::lock_guard lock(mu_);
    if (!loop_) return false;  // cb is destroyed on return, with mu_ released
    queue_.push_back(std::move(cb));
  }
  // The first post of a batch writes the eventfd, unless the loop is awake: it then sees
  // wake_pending_ before it blocks (seq_cst pairs with the awake_ store in Loop::poll()). The
  // eventfd is this handle's, open as long as the caller's reference, even if the loop just went.
  if (!wake_pending_.exchange(true, std::memory_order_seq_cst) &&
      !awake_.load(std::memory_order_seq_cst)) {
    uint64_t one = 1;
    ssize_t r = ::write(wake_fd_, &one, sizeof one);
    (void)r;  // EAGAIN means the counter is already non-zero: the loop will wake anyway
  }
  return true;
}

bool LoopHandle::alive() {
  std::lock_guard lock(mu_);
  return loop_ != nullptr;
}

void LoopHandle::close() {
  std::vector<Callback> left;
  {
    std::lock_guard lock(mu_);
    loop_ = nullptr;
    left.swap(queue_);
  }
  // Destroyed unlocked: a callback's captures may post (to this handle: refused) as they go.
}

void Loop::on_wakeup(IoWatch& w, uint32_t) {
  uint64_t value;
  ssize_t r = ::read(w.fd, &value, sizeof value);
  (void)r;
  static_cast<Loop*>(w.data)->run_posted();
}

void Loop::run_posted() {
  LoopHandle& h = *handle_;
  // Cleared before the queue is taken: a post after the swap starts a new batch and wakes us.
  h.wake_pending_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(h.mu_);
    h.batch_.swap(h.queue_);
  }
  if (h.batch_.empty()) return;  // a wakeup whose batch ran at the end of an earlier poll
  h.last_batch_ns_ = now_ns_;
  set_activity("posted callback");
  LoopHandle* outer = t_running_handle;
  t_running_handle = &h;
  // An exception is reported and the batch goes on from the next callback (so in all below).
  for (std::size_t i = 0; i < h.batch_.size();) {
    try {
      while (i < h.batch_.size()) {
        Callback cb = std::move(h.batch_[i++]);
        cb();
        drain_microtasks();
      }
    } catch (...) {
      report_uncaught_exception();
      drain_microtasks();
    }
  }
  t_running_handle = outer;
  h.batch_.clear();
}

uint64_t Loop::add_hook(Phase phase, UniqueFunction<void()> fn) {
  hooks_.push_back(Hook{next_hook_id_, phase, std::move(fn)});
  return next_hook_id_++;
}

uint64_t Loop::add_spin_hook(UniqueFunction<bool(uint64_t)> fn) {
  spin_hooks_.push_back(SpinHook{next_hook_id_, std::move(fn)});
  return next_hook_id_++;
}

void Loop::remove_hook(uint64_t id) {
  for (Hook& h : hooks_)
    if (h.id == id) h.fn.reset();  // erased after the phase runs, so a hook may remove itself
  for (SpinHook& h : spin_hooks_)
    if (h.id == id) h.fn.reset();
}

void Loop::run_hooks(Phase phase) {
  if (hooks_.empty()) return;
  set_activity(phase == Phase::kCheck ? "check hook" : "idle or prepare hook");
  for (std::size_t i = 0; i < hooks_.size();) {
    try {
      for (; i < hooks_.size(); ++i) {
        if (hooks_[i].phase != phase || !hooks_[i].fn) continue;
        hooks_[i].fn();
        drain_microtasks();
      }
    } catch (...) {
      ++i;
      report_uncaught_exception();
      drain_microtasks();
    }
  }
  std::erase_if(hooks_, [](const Hook& h) { return !h.fn; });
}

int Loop::io_start(IoWatch& w, uint32_t events) {
  assert(w.fd >= 0 && w.handler && "an IoWatch needs an fd and a handler before io_start");
  int err = w.active ? poller_->modify(w.fd, events, &w) : poller_->add(w.fd, events, &w);
  if (err) return err;
  if (!w.active) {
    w.active = true;
    ++watches_;
    if (w.ref) ++io_refs_;
  }
  w.events = events;
  return 0;
}

void Loop::io_stop(IoWatch& w) {
  if (!w.active) return;
  // Its error is no news: a library (libpq, curl) may have closed the fd first, which already
  // took it out of the poller.
  poller_->remove(w.fd);
  w.active = false;
  --watches_;
  if (w.ref) --io_refs_;
  assert(watches_ >= 0 && io_refs_ >= 0 && "io_stop of a watch the loop did not count");
  // Events for this watch later in the batch being dispatched must not reach it.
  for (int i = batch_index_; i < batch_size_; ++i)
    if (batch_[i].data == &w) batch_[i].data = nullptr;
}

void Loop::io_set_ref(IoWatch& w, bool ref) {
  if (w.ref == ref) return;
  w.ref = ref;
  if (w.active) ref ? ++io_refs_ : --io_refs_;
  assert(io_refs_ >= 0);
}

const char* Loop::backend() const noexcept { return poller_->name(); }

int Loop::io_send(IoCompletion& op, int fd) noexcept {
  assert(op.prepare && op.handler && !op.tag && "one send at a time per IoCompletion");
  int err = poller_->send(op, fd);
  // Between iterations (a test's or a program's own code) no wait is coming to carry it.
  if (!err && !iterating_) poller_->submit();
  return err;
}

void Loop::io_cancel(IoCompletion& op, ReleaseBuffer release) noexcept {
  // Its completion may be in the batch being dispatched: it must not reach the owner either.
  for (int i = batch_index_; i < batch_size_; ++i)
    if (batch_[i].data == &op && batch_[i].events == kCompletionEvent) batch_[i].data = nullptr;
  poller_->cancel(op, release);
}

int Loop::io_recv(IoRecv& op, int fd) noexcept {
  assert(op.handler && !op.tag && "one receive at a time per IoRecv");
  return poller_->recv(op, fd);
}

void Loop::io_recv_pause(IoRecv& op) noexcept { poller_->recv_pause(op); }

void Loop::io_recv_cancel(IoRecv& op) noexcept {
  // Its completions may be in the batch being dispatched: they must not reach the owner either.
  for (int i = batch_index_; i < batch_size_; ++i) {
    PollEvent& ev = batch_[i];
    if (ev.data != &op || !(ev.events & kRecvEvent)) continue;
    ev.data = nullptr;
    if ((ev.events & kAcceptEvent) && ev.result >= 0) ::close(ev.result);  // nobody else has it
  }
  poller_->recv_cancel(op);
}

bool Loop::io_files() const noexcept { return poller_->has_files(); }

int Loop::io_file(IoCompletion& op, const IoFileRequest& req) noexcept {
  assert(op.handler && !op.tag && "one request at a time per IoCompletion");
  int err = poller_->file(op, req);
  if (err) return err;
  ++watches_;                          // its completion is a reason to wait, as a watch is
  if (!iterating_) poller_->submit();  // no wait is coming to carry it
  return 0;
}

bool Loop::io_accepts() const noexcept { return poller_->has_accepts(); }

int Loop::io_accept(IoRecv& op, int fd) noexcept {
  assert(op.handler && !op.tag && "one request at a time per IoRecv");
  int err = poller_->accept(op, fd);
  if (!err) ++watches_;  // an armed accept is a reason to wait, as a watch is
  return err;
}

void Loop::io_accept_cancel(IoRecv& op, TakeAccepted take) noexcept {
  // Its completions in the batch being dispatched came first: their fds go to `take` first.
  for (int i = batch_index_; i < batch_size_; ++i) {
    PollEvent& ev = batch_[i];
    if (ev.data != &op || !(ev.events & kRecvEvent)) continue;
    ev.data = nullptr;
    if (!(ev.events & kRecvMore)) --watches_;  // that request's last: it is over
    if (ev.result >= 0) take ? take(op, ev.result) : void(::close(ev.result));
  }
  if (op.tag) --watches_;
  poller_->accept_cancel(op, take);
}

bool Loop::alive() const noexcept {
  return refs_ > 0 || io_refs_ > 0 || timers_.ref_count() > 0 || !immediates_.empty() ||
         !pending_.empty() || !closing_.empty() || !ticks_.empty() || !microtasks_.empty();
}

void Loop::drain_microtasks() {
  if (draining_ || (ticks_.empty() && microtasks_.empty())) return;
  draining_ = true;
  const char* outer = activity_.load(std::memory_order_relaxed);  // no task runs between callbacks
  set_activity("next tick or microtask");
  for (;;) {
    try {
      do {
        while (!ticks_.empty()) ticks_.pop()();
        while (!microtasks_.empty()) microtasks_.pop()();
      } while (!ticks_.empty());
      break;
    } catch (...) {
      report_uncaught_exception();  // never throws: a throwing handler's error waits in
                                    // handler_error_
    }
  }
  set_activity(outer);
  draining_ = false;
}

void Loop::run_queue(CallbackQueue& q, const char* activity) {
  if (q.empty()) return;
  set_activity(activity);
  std::size_t n = q.size();  // what is queued now: callbacks queued meanwhile wait a turn
  while (n > 0) {
    try {
      while (n > 0) {
        --n;
        Callback cb = q.pop();
        cb();
        drain_microtasks();
      }
    } catch (...) {
      report_uncaught_exception();
      drain_microtasks();
    }
  }
}

void Loop::run_timers() {
  set_activity("timer");
  for (;;) {
    try {
      timers_.run_due(now_ns_, [this] { drain_microtasks(); });
      return;
    } catch (...) {
      report_uncaught_exception();
      drain_microtasks();
    }
  }
}

// Measured from `now_ns`, a fresh clock read, so the wait ends at the timer's exact deadline
// however long this iteration's callbacks ran since the loop's time was cached.
int64_t Loop::poll_timeout(bool may_block, uint64_t now_ns) const noexcept {
  if (!may_block || stop_ || !immediates_.empty() || !pending_.empty() || !closing_.empty())
    return 0;
  for (const Hook& h : hooks_)
    if (h.phase == Phase::kIdle && h.fn) return 0;
  if (!alive()) return 0;
  return timers_.next_timeout(now_ns);
}

void Loop::poll(bool may_block) {
  uint64_t before = hrtime();
  finish_busy_period(before);
  int64_t timeout_ns = poll_timeout(may_block, before);
  if (timeout_ns != 0 && !spin_hooks_.empty()) timeout_ns = spin(timeout_ns, before);
  LoopHandle& h = *handle_;
  if (timeout_ns != 0) {
    h.awake_.store(false, std::memory_order_seq_cst);
    if (h.wake_pending_.load(std::memory_order_seq_cst)) timeout_ns = 0;
  }
  PollEvent events[256];
  // The receive buffers this wait lends go back once its batch is dispatched.
  std::size_t lent = recvs_ ? poller_->lent_mark() : 0;
  // With nothing watched but our own eventfd and nothing to wait for, skip the syscall.
  int n = timeout_ns == 0 && watches_ == 0 ? 0 : poller_->wait(events, 256, timeout_ns);
  if (n < 0) n = poll_failed(-n);
  h.awake_.store(true, std::memory_order_seq_cst);
  update_time();
  metrics_.elu.idle_ns += now_ns_ - before;
  busy_since_ns_.store(now_ns_, std::memory_order_relaxed);
  batch_ = events;
  batch_size_ = n;
  set_activity("io callback");
  for (batch_index_ = 0; batch_index_ < n;) {
    try {
      while (batch_index_ < n) {
        PollEvent ev = events[batch_index_++];
        if (!ev.data) continue;
        if (ev.events & kCompletionEvent) {
          IoCompletion& op = *static_cast<IoCompletion*>(ev.data);
          if (ev.events & kFileEvent) --watches_;
          op.handler(op);
        } else if (ev.events & kRecvEvent) {
          IoRecv& op = *static_cast<IoRecv*>(ev.data);
          if ((ev.events & (kAcceptEvent | kRecvMore)) == kAcceptEvent) --watches_;
          op.handler(op, ev.result, ev.bytes, ev.events & kRecvMore);
        } else {
          IoWatch& w = *static_cast<IoWatch*>(ev.data);
          w.handler(w, ev.events);
        }
        drain_microtasks();
      }
    } catch (...) {
      report_uncaught_exception();
      drain_microtasks();
    }
  }
  batch_ = nullptr;
  batch_size_ = batch_index_ = 0;
  if (recvs_) poller_->give_back(lent);
  if (h.wake_pending_.load(std::memory_order_acquire)) run_posted();  // posted while awake
}

// EINTR (a signal) only ends the wait early: no events, the loop goes round. Any other error
// means the poller itself is broken (a closed or foreign fd: EBADF, EINVAL); the loop could only
// spin without ever blocking or seeing I/O again, so it stops the process with the reason.
int Loop::poll_failed(int err) noexcept {
  if (err == EINTR) return 0;
  std::fprintf(stderr, "brigade: the event loop cannot wait for I/O: %s wait failed: %s\n",
               poller_->name(), std::strerror(err));
  std::fflush(stderr);
  std::abort();
}

// Lends the time the loop would sleep to the spin hooks; returns the poll timeout left.
int64_t Loop::spin(int64_t timeout_ns, uint64_t start_ns) {
  const uint64_t max_ns = timeout_ns < 0 ? UINT64_MAX : uint64_t(timeout_ns);
  bool ready = false;
  for (std::size_t i = 0; i < spin_hooks_.size() && !ready; ++i) {
    if (!spin_hooks_[i].fn) continue;
    uint64_t spent = hrtime() - start_ns;
    try {
      ready = spent >= max_ns || spin_hooks_[i].fn(max_ns - spent);
    } catch (...) {
      set_activity("spin hook");
      report_uncaught_exception();
      ready = true;  // whatever it queued runs now
    }
  }
  std::erase_if(spin_hooks_, [](const SpinHook& h) { return !h.fn; });
  if (ready) return 0;
  if (timeout_ns < 0) return -1;
  uint64_t spent = hrtime() - start_ns;
  return spent >= max_ns ? 0 : int64_t(max_ns - spent);
}

// Closes the busy period that ends now: records it, and reports it if the watchdog flagged it.
void Loop::finish_busy_period(uint64_t busy_end_ns) {
  uint64_t since = busy_since_ns_.load(std::memory_order_relaxed);
  if (since == 0) return;
  uint64_t busy = busy_end_ns > since ? busy_end_ns - since : 0;
  metrics_.delay.record(busy);
  metrics_.elu.active_ns += busy;
  busy_since_ns_.store(0, std::memory_order_relaxed);
  if (blocked_flagged_.load(std::memory_order_acquire) == since) {
    const char* what = blocked_activity_.load(std::memory_order_relaxed);
    BlockedReport report{what ? what : "unknown", busy};
    ++metrics_.blocked_count;
    if (metrics_.blocked_recent.size() == 16)
      metrics_.blocked_recent.erase(metrics_.blocked_recent.begin());
    metrics_.blocked_recent.push_back(report);
    if (metrics_.on_blocked) metrics_.on_blocked(report);
  }
}

bool Loop::run_once(bool may_block) {
  struct Iterating {  // restored however the iteration ends (a nested run_once, a rethrow)
    bool& flag;
    bool outer = std::exchange(flag, true);
    ~Iterating() { flag = outer; }
  } iterating{iterating_};
  ++iteration_;
  update_time();
  if (busy_since_ns_.load(std::memory_order_relaxed) == 0)
    busy_since_ns_.store(now_ns_, std::memory_order_relaxed);
  drain_microtasks();  // work queued before the loop started, or between run() calls
  if (timers_.size()) run_timers();
  run_queue(pending_, "pending callback");
  run_hooks(Phase::kIdle);
  run_hooks(Phase::kPrepare);
  poll(may_block);
  run_hooks(Phase::kCheck);
  run_queue(immediates_, "immediate");
  run_queue(closing_, "close callback");
  set_activity("idle");
  bool still_alive = alive();
  // A loop that may not wait again would leave the sends staged in this iteration unsent.
  if (sends_ && (stop_ || !still_alive)) poller_->submit();
  rethrow_pending();
  return still_alive;
}

void Loop::run() {
  // Whatever ends run() (an uncaught-exception handler may throw), the loop is left consistent.
  struct Exit {
    Loop* self;
    Loop* outer;
    ~Exit() {
      self->finish_busy_period(hrtime());
      self->running_ = false;
      self->set_activity("idle");
      set_current(outer ? outer : self);
    }
  } exit{this, t_current};
  set_current(this);
  running_ = true;
  stop_ = false;
  drain_microtasks();
  rethrow_pending();
  while (!stop_ && run_once(true)) {
  }
}

}  // namespace brigade
