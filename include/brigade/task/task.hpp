#pragma once
// Task<T>: a lazy coroutine. It starts when awaited and resumes its awaiter when it ends,
// allocating nothing beyond each frame. A chain of awaits uses no stack in any build: tasks are
// handed on to a trampoline (detail::drive) instead of resumed on the stack, since g++ only
// turns symmetric transfer into a tail call when optimizing (-O0 and ASan builds overflowed at
// ~20k-80k nested awaits). tests/task checks 100,000-deep recursion and 100,000 awaits in a row.
// Every co_await inside a Task restores the task's context on resumption (see context.hpp).
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "brigade/task/context.hpp"
#include "brigade/task/frame_cache.hpp"

namespace brigade {

template <typename T = void>
class Task;

namespace detail {

template <typename A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); })
    return std::forward<A>(a).operator co_await();
  else if constexpr (requires { operator co_await(std::forward<A>(a)); })
    return operator co_await(std::forward<A>(a));
  else if constexpr (std::is_lvalue_reference_v<A>)
    return static_cast<A>(a);  // a named awaitable outlives the co_await
  else
    return std::remove_cvref_t<A>(std::move(a));  // a temporary is moved into the awaiting frame
}

// The trampoline. t_driven is the coroutine that the innermost drive() loop on this thread
// resumed last, while it has not suspended since: when it suspends on a task (or ends), control
// returns straight to that loop, so it leaves the next coroutine in t_next for the loop to
// resume instead of resuming it on the stack.
inline thread_local void* t_driven = nullptr;
inline thread_local void* t_next = nullptr;

// Resumes `h` and every coroutine handed on after it, one after another, until one suspends for
// real; returns true, without resuming it, if `stop_at` is handed on (the caller continues it).
inline bool drive(std::coroutine_handle<> h, std::coroutine_handle<> stop_at) {
  struct Restore {  // a drive() may run inside another one's coroutine: leave its state as found
    void* driven = t_driven;
    void* next = t_next;
    ~Restore() {
      t_driven = driven;
      t_next = next;
    }
  } restore;
  for (;;) {
    t_driven = h.address();
    t_next = nullptr;
    h.resume();
    if (!t_next) return false;
    h = std::coroutine_handle<>::from_address(t_next);
    if (h == stop_at) return true;
  }
}

// Hands `next` on to the loop that drives `h` (true), or false if `h` was not resumed by one.
inline bool hand_on(void* h, std::coroutine_handle<> next) noexcept {
  if (t_driven != h) return false;
  t_next = next.address();
  return true;
}

// Wraps an awaiter so that the awaiting task's context is current again when it resumes.
template <typename Awaiter>
struct ContextRestoring {
  Awaiter inner;
  const ContextNode* ctx;
  bool await_ready() { return inner.await_ready(); }
  template <typename P>
  auto await_suspend(std::coroutine_handle<P> h) {
    using R = decltype(inner.await_suspend(h));
    if constexpr (requires { std::remove_reference_t<Awaiter>::kStartsTask; }) {
      return inner.await_suspend(h);  // a task: it sets the context and drives itself
    } else {
      // h suspends for real: whoever resumes it later is not the loop that drove it.
      bool driven = t_driven == h.address();
      if (driven) t_driven = nullptr;
      if constexpr (std::is_void_v<R>) {
        inner.await_suspend(h);
        set_context(nullptr);  // while suspended, what runs on this thread is not this task
      } else if constexpr (std::is_same_v<R, bool>) {
        bool suspended = inner.await_suspend(h);
        if (suspended)
          set_context(nullptr);
        else if (driven)
          t_driven = h.address();  // it goes on as it was
        return suspended;
      } else {
        return inner.await_suspend(h);  // a transfer: the awaiter set the next task's context
      }
    }
  }
  decltype(auto) await_resume() {
    if (t_context != ctx) set_context(ctx);  // equal: it never changed (the activity neither)
    return inner.await_resume();
  }
};

struct PromiseBase {
  std::coroutine_handle<> continuation;  // the awaiter; none if the task was resumed by hand
  std::exception_ptr error;
  // The context the task runs in. Borrowed, uncounted, from an awaiting Task (which is suspended
  // on this one, so outlives its run); else counted in `owned` (bound by AsyncLocal::run or
  // spawn, or awaited from a coroutine that may outlive the context, as when_any's racers).
  const ContextNode* ctx = nullptr;
  ContextRef owned;
  bool ctx_fixed = false;  // set by AsyncLocal::run and spawn: the awaiter must not replace it

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
      std::coroutine_handle<> next = h.promise().continuation;
      if (!next) return set_context(nullptr);  // resumed by hand: the chain ends here
      if (hand_on(h.address(), next)) return;
      drive(next, {});  // h was resumed by an awaiter's callback: drive its awaiter from here
    }
    void await_resume() noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }

  static void* operator new(std::size_t n) { return allocate_frame(n); }
  static void operator delete(void* p, std::size_t n) noexcept { free_frame(p, n); }

  // Awaiters are kept by value in the awaiting frame (a named awaitable by reference): awaiters
  // must be movable until await_suspend.
  template <typename A>
  auto await_transform(A&& a) {
    using Got = decltype(get_awaiter(std::forward<A>(a)));
    using Stored = std::conditional_t<std::is_reference_v<Got>, std::remove_reference_t<Got>&, Got>;
    return ContextRestoring<Stored>{get_awaiter(std::forward<A>(a)), ctx};
  }
};

template <typename T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;
  using Handle = std::coroutine_handle<promise_type>;

  Task() noexcept = default;
  explicit Task(Handle h) noexcept : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool valid() const noexcept { return bool(h_); }
  bool done() const noexcept { return h_ && h_.done(); }
  Handle handle() const noexcept { return h_; }
  Handle release() noexcept { return std::exchange(h_, {}); }
  // Binds the context the task runs in (AsyncLocal::run); otherwise it inherits its awaiter's.
  void set_context(ContextRef ctx) noexcept {
    auto& p = h_.promise();
    p.ctx = ctx.get();
    p.owned = std::move(ctx);
    p.ctx_fixed = true;
  }

  struct Awaiter {
    static constexpr bool kStartsTask = true;  // ContextRestoring leaves the context to us
    Handle h;
    bool await_ready() const noexcept { return !h || h.done(); }
    // Starts the task: on the driving loop if `awaiting` runs on one, else on a loop of its own
    // here; a task that ends without suspending continues `awaiting` without a suspension.
    template <typename P>
    bool await_suspend(std::coroutine_handle<P> awaiting) {
      auto& p = h.promise();
      p.continuation = awaiting;
      if (p.ctx_fixed) {
        detail::set_context(p.ctx);
      } else if constexpr (std::is_base_of_v<detail::PromiseBase, P>) {
        p.ctx = detail::t_context;  // borrowed (see PromiseBase::ctx); already the current one
      } else {
        p.owned = ContextRef::share(detail::t_context);
        p.ctx = p.owned.get();
      }
      if (detail::hand_on(awaiting.address(), h)) return true;
      return !detail::drive(h, awaiting);
    }
    T await_resume() { return h.promise().take(); }
  };
  // Waits for the task to finish without taking its result (when_all reads it afterwards).
  struct CompletionAwaiter : Awaiter {
    void await_resume() const noexcept {}
  };
  CompletionAwaiter completion() const noexcept { return CompletionAwaiter{{h_}}; }

  Awaiter operator co_await() const& noexcept { return Awaiter{h_}; }
  Awaiter operator co_await() const&& noexcept { return Awaiter{h_}; }

 private:
  Handle h_;
};

namespace detail {
template <typename T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace brigade
