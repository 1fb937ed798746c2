#pragma once
// when_all, when_any and with_timeout over Tasks, and AsyncLocal (task-local storage).
#include <cstddef>
#include <memory>
#include <stop_token>
#include <tuple>
#include <variant>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/task/task.hpp"

namespace brigade {

namespace detail {

struct AllCounter {
  std::size_t left;
  std::coroutine_handle<> waiter;
  std::exception_ptr first_error;  // the first failure in time, as Promise.all rejects with
  void done_one() {
    if (--left == 0) waiter.resume();
  }
};

template <typename T>
Detached run_counted(Task<T>& task, AllCounter& counter) {
  co_await task.completion();  // value or exception stays in the task's promise for when_all
  if (!counter.first_error) counter.first_error = task.handle().promise().error;
  counter.done_one();
  set_context(nullptr);  // this chain ends here (see set_context)
}

// Starts every task and resumes the awaiter when the last one completes.
template <typename... Tasks>
struct StartAll {
  std::tuple<Tasks&...> tasks;
  AllCounter counter{sizeof...(Tasks) + 1, {}, {}};
  bool await_ready() const noexcept { return sizeof...(Tasks) == 0; }
  bool await_suspend(std::coroutine_handle<> h) {
    counter.waiter = h;
    const ContextNode* ctx = t_context;  // each start may leave another task's context behind
    std::apply([&](auto&... t) { ((set_context(ctx), run_counted(t, counter)), ...); }, tasks);
    set_context(ctx);
    return --counter.left != 0;
  }
  void await_resume() const noexcept {}
};

template <typename T>
struct StartAllVec {
  std::vector<Task<T>>& tasks;
  AllCounter counter{0, {}, {}};
  bool await_ready() const noexcept { return tasks.empty(); }
  bool await_suspend(std::coroutine_handle<> h) {
    counter.left = tasks.size() + 1;
    counter.waiter = h;
    const ContextNode* ctx = t_context;
    for (auto& t : tasks) {
      set_context(ctx);
      run_counted(t, counter);
    }
    set_context(ctx);
    return --counter.left != 0;
  }
  void await_resume() const noexcept {}
};

template <typename T>
using NonVoid = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename T>
NonVoid<T> take_result(Task<T>& t) {
  if constexpr (std::is_void_v<T>) {
    t.handle().promise().take();
    return {};
  } else {
    return t.handle().promise().take();
  }
}

}  // namespace detail

// Runs all tasks concurrently (each starts at once, in order, as the promises given to
// Promise.all) and waits for every one (structured: none outlives the call). Returns their
// values in order (std::monostate for void); if any failed, rethrows the failure that came first
// in time, as Promise.all rejects with, once all have ended.
template <typename... T>
Task<std::tuple<detail::NonVoid<T>...>> when_all(Task<T>... tasks) {
  detail::StartAll<Task<T>...> start{std::tie(tasks...)};
  co_await start;
  if (start.counter.first_error) std::rethrow_exception(start.counter.first_error);
  co_return std::tuple<detail::NonVoid<T>...>{detail::take_result(tasks)...};
}

template <typename T>
Task<std::vector<detail::NonVoid<T>>> when_all(std::vector<Task<T>> tasks) {
  detail::StartAllVec<T> start{tasks};
  co_await start;
  if (start.counter.first_error) std::rethrow_exception(start.counter.first_error);
  std::vector<detail::NonVoid<T>> out;
  out.reserve(tasks.size());
  for (auto& t : tasks) out.push_back(detail::take_result(t));
  co_return out;
}

template <typename T>
struct AnyResult {
  std::size_t index;
  detail::NonVoid<T> value;
};

namespace detail {
// The race shared by when_any and its runners; the last of them to finish frees it.
template <typename T>
struct Race {
  std::vector<Task<T>> tasks;
  std::size_t winner = SIZE_MAX;
  std::coroutine_handle<> waiter;
  std::stop_source* cancel = nullptr;
  std::size_t refs = 1;
  void release() {
    if (--refs == 0) delete this;
  }
};

template <typename T>
Detached run_racer(Race<T>* race, std::size_t i) {
  co_await race->tasks[i].completion();
  if (race->winner == SIZE_MAX) {
    race->winner = i;
    if (race->cancel) race->cancel->request_stop();
    if (race->waiter) std::exchange(race->waiter, {}).resume();
  }
  race->release();
  set_context(nullptr);  // this chain ends here (see set_context)
}

template <typename T>
struct StartRace {
  Race<T>* race;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    const ContextNode* ctx = t_context;
    // Every task starts, even when an earlier one has already won (Promise.race's promises
    // all run).
    for (std::size_t i = 0; i < race->tasks.size(); ++i) {
      ++race->refs;
      set_context(ctx);
      run_racer(race, i);
    }
    set_context(ctx);
    if (race->winner != SIZE_MAX) return false;
    race->waiter = h;
    return true;
  }
  void await_resume() const noexcept {}
};
}  // namespace detail

// Resumes with the first task to complete (its index and value, or its exception), as
// Promise.race does. Every task starts, in order, even if one ends at once; the others keep running
// to completion and are then freed; `cancel`, if given, is stopped when the first completes so that
// cancellable losers end early.
template <typename T>
Task<AnyResult<T>> when_any(std::vector<Task<T>> tasks, std::stop_source* cancel = nullptr) {
  if (tasks.empty()) throw std::invalid_argument("when_any: no tasks");
  auto* race = new detail::Race<T>{std::move(tasks), SIZE_MAX, {}, cancel, 1};
  struct Release {
    detail::Race<T>* race;
    ~Release() { race->release(); }
  } guard{race};
  co_await detail::StartRace<T>{race};
  std::size_t i = race->winner;
  co_return AnyResult<T>{i, detail::take_result(race->tasks[i])};
}

// Runs make(token) with a deadline: when `ms` pass first, the token is stopped, the task is
// awaited to its end (brigade's awaitables throw CancelledError when stopped), and
// TimeoutError is thrown. Nothing is left running behind the caller's back.
template <typename F>
auto with_timeout(uint64_t ms, F make)
    -> Task<typename decltype(make(std::declval<std::stop_token>()))::value_type> {
  using T = typename decltype(make(std::declval<std::stop_token>()))::value_type;
  Loop& loop = detail::loop_or_current(nullptr);
  std::stop_source source;
  bool timed_out = false;
  Timer timer(loop);
  timer.start(ms, [&] {
    timed_out = true;
    source.request_stop();
  });
  std::exception_ptr error;
  if constexpr (std::is_void_v<T>) {
    try {
      co_await make(source.get_token());
    } catch (...) {
      error = std::current_exception();
    }
    timer.clear();
    if (timed_out) throw TimeoutError("with_timeout");
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<T> value;
    try {
      value.emplace(co_await make(source.get_token()));
    } catch (...) {
      error = std::current_exception();
    }
    timer.clear();
    if (timed_out) throw TimeoutError("with_timeout");
    if (error) std::rethrow_exception(error);
    co_return std::move(*value);
  }
}

// Task-local storage, Node's AsyncLocalStorage: run(value, task) binds a value that every
// co_await and spawn inside that task sees through get().
template <typename T>
class AsyncLocal {
 public:
  T* get() const noexcept {
    const ContextNode* n = current_context();
    return n ? static_cast<T*>(n->find(this)) : nullptr;
  }
  template <typename U>
  Task<U> run(T value, Task<U> task) const {
    auto* node = new ContextNode(this, std::make_shared<T>(std::move(value)), current_context());
    task.set_context(ContextRef::adopt(node));
    return task;
  }
};

}  // namespace brigade
