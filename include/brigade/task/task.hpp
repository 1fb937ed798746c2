#pragma once
// Task<T>: a lazy coroutine. It starts when awaited and resumes its awaiter by symmetric
// transfer, so a chain of awaits uses no stack and allocates nothing beyond each frame.
// Every co_await inside a Task restores the task's context on resumption (see context.hpp).
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "brigade/task/context.hpp"

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

// Wraps an awaiter so that the awaiting task's context is current again when it resumes.
template <typename Awaiter>
struct ContextRestoring {
  Awaiter inner;
  const ContextNode* ctx;
  bool await_ready() { return inner.await_ready(); }
  template <typename P>
  auto await_suspend(std::coroutine_handle<P> h) {
    using R = decltype(inner.await_suspend(h));
    if constexpr (std::is_void_v<R>) {
      inner.await_suspend(h);
      t_context = nullptr;  // while suspended, what runs on this thread is not this task
    } else if constexpr (std::is_same_v<R, bool>) {
      bool suspended = inner.await_suspend(h);
      if (suspended) t_context = nullptr;
      return suspended;
    } else {
      return inner.await_suspend(h);  // a transfer: the awaiter set the next task's context
    }
  }
  decltype(auto) await_resume() {
    t_context = ctx;
    return inner.await_resume();
  }
};

struct PromiseBase {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::exception_ptr error;
  ContextRef ctx;
  bool ctx_fixed = false;  // set by AsyncLocal::run: the awaiter must not replace it

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      return h.promise().continuation;
    }
    void await_resume() noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }

  // Awaiters are kept by value in the awaiting frame (a named awaitable by reference): awaiters
  // must be movable until await_suspend.
  template <typename A>
  auto await_transform(A&& a) {
    using Got = decltype(get_awaiter(std::forward<A>(a)));
    using Stored = std::conditional_t<std::is_reference_v<Got>, std::remove_reference_t<Got>&, Got>;
    return ContextRestoring<Stored>{get_awaiter(std::forward<A>(a)), ctx.get()};
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
    h_.promise().ctx = std::move(ctx);
    h_.promise().ctx_fixed = true;
  }

  struct Awaiter {
    Handle h;
    bool await_ready() const noexcept { return !h || h.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      auto& p = h.promise();
      p.continuation = awaiting;
      if (!p.ctx_fixed) p.ctx = ContextRef::share(detail::t_context);
      detail::t_context = p.ctx.get();
      return h;
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
