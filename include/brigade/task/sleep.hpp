#pragma once
// Awaitables on the loop's own queues: sleep (a timer), yield_now (an immediate), and the
// cancellation glue that turns a std::stop_token into CancelledError.
#include <coroutine>
#include <optional>
#include <stop_token>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"

namespace brigade {

namespace detail {
inline Loop& loop_or_current(Loop* loop) {
  if (loop) return *loop;
  if (Loop* l = Loop::current()) return *l;
  throw std::logic_error("brigade: no loop on this thread");
}

// Runs `on_stop` on the loop thread when the token is stopped (request_stop may come from any
// thread). Must be destroyed on the loop thread before the awaiting frame goes away.
template <typename F>
class StopWatch {
 public:
  StopWatch(Loop& loop, std::stop_token token, F on_stop) : loop_(loop), on_stop_(on_stop) {
    if (token.stop_possible()) cb_.emplace(std::move(token), Fire{this});
  }
  ~StopWatch() {
    cb_.reset();
    if (state_) state_->owner = nullptr;  // a post in flight finds no one
  }

 private:
  struct Shared {
    StopWatch* owner;
  };
  struct Fire {
    StopWatch* self;
    void operator()() noexcept {
      // Never run on_stop inside request_stop: hop to the loop (a microtask on its own thread,
      // a post from another); the watch may be gone by the time it runs.
      auto* st = new Shared{self};
      self->state_ = st;
      auto run = [st] {
        if (st->owner) {
          st->owner->state_ = nullptr;
          st->owner->on_stop_();
        }
        delete st;
      };
      if (Loop::current() == &self->loop_)
        self->loop_.queue_microtask(run);
      else
        self->loop_.post(run);
    }
  };
  Loop& loop_;
  F on_stop_;
  Shared* state_ = nullptr;
  std::optional<std::stop_callback<Fire>> cb_;
};
}  // namespace detail

class SleepAwaiter {
 public:
  SleepAwaiter(Loop& loop, uint64_t ms, std::stop_token token)
      : loop_(loop), ms_(ms), token_(std::move(token)) {}
  // Movable until await_suspend (the timer and stop watch are made there).
  SleepAwaiter(SleepAwaiter&& o) noexcept
      : loop_(o.loop_), ms_(o.ms_), token_(std::move(o.token_)) {}
  ~SleepAwaiter() {
    stop_.reset();
    if (timer_) loop_.clear_timer(timer_);  // the awaiting frame was destroyed while asleep
  }
  bool await_ready() const noexcept { return token_.stop_requested(); }
  void await_suspend(std::coroutine_handle<> h) {
    h_ = h;
    timer_ = loop_.set_timeout(ms_, [this] {
      timer_ = {};
      stop_.reset();
      h_.resume();
    });
    if (token_.stop_possible()) stop_.emplace(loop_, token_, OnStop{this});
  }
  void await_resume() {
    if (cancelled_ || (!h_ && token_.stop_requested())) throw CancelledError("sleep");
  }

 private:
  struct OnStop {
    SleepAwaiter* self;
    void operator()() const {
      if (!self->timer_) return;
      self->loop_.clear_timer(self->timer_);
      self->timer_ = {};
      self->cancelled_ = true;
      self->h_.resume();
    }
  };
  Loop& loop_;
  uint64_t ms_;
  std::stop_token token_;
  std::coroutine_handle<> h_;
  TimerId timer_;
  bool cancelled_ = false;
  std::optional<detail::StopWatch<OnStop>> stop_;
};

// co_await sleep(ms): resumes after ms on the current loop; with a token, throws CancelledError
// as soon as the token is stopped.
inline SleepAwaiter sleep(uint64_t ms, std::stop_token token = {}, Loop* loop = nullptr) {
  return SleepAwaiter(detail::loop_or_current(loop), ms, std::move(token));
}

// co_await yield_now(): resumes in the next check phase (setImmediate), letting I/O run first.
struct YieldAwaiter {
  Loop& loop;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    loop.set_immediate([h] { h.resume(); });
  }
  void await_resume() const noexcept {}
};
inline YieldAwaiter yield_now(Loop* loop = nullptr) { return {detail::loop_or_current(loop)}; }

// co_await next_microtask(): resumes after the current callback, before any timer or I/O.
struct MicrotaskAwaiter {
  Loop& loop;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    loop.queue_microtask([h] { h.resume(); });
  }
  void await_resume() const noexcept {}
};
inline MicrotaskAwaiter next_microtask(Loop* loop = nullptr) {
  return {detail::loop_or_current(loop)};
}

}  // namespace brigade
