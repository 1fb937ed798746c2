// Deep co_await chains use no stack in any build (issue 16, item 7): 100,000-deep recursion and
// 100,000 awaits in a row, finishing at once or after a suspension, in Debug and sanitizer builds
// as in Release (g++ makes no tail call of symmetric transfer without optimization).
#include <gtest/gtest.h>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

namespace deep_chain_test {

using namespace brigade;

namespace {
constexpr int kDepth = 100'000;

Task<int> ready(int v) { co_return v; }

Task<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}

// The bottom waits for a timer: the way back up starts from a loop callback.
Task<int> deep_then_sleep(int n) {
  if (n == 0) {
    co_await brigade::sleep(1);
    co_return 0;
  }
  co_return 1 + co_await deep_then_sleep(n - 1);
}

Task<long> sum_ready(int n) {
  long s = 0;
  for (int i = 0; i < n; ++i) s += co_await ready(1);
  co_return s;
}

Task<int> one_after_microtask() {
  co_await next_microtask();
  co_return 1;
}

Task<long> sum_suspending(int n) {
  long s = 0;
  for (int i = 0; i < n; ++i) s += co_await one_after_microtask();
  co_return s;
}

Task<void> throw_at_bottom(int n) {
  if (n == 0) throw std::runtime_error("bottom");
  co_await throw_at_bottom(n - 1);
}
}  // namespace

TEST(DeepChain, RecursionOfOneHundredThousandAwaits) {
  Loop loop;
  EXPECT_EQ(run(loop, deep(kDepth)), kDepth);
}

TEST(DeepChain, RecursionResumedFromATimerAtTheBottom) {
  Loop loop;
  EXPECT_EQ(run(loop, deep_then_sleep(kDepth)), kDepth);
}

TEST(DeepChain, OneHundredThousandReadyTasksInARow) {
  Loop loop;
  EXPECT_EQ(run(loop, sum_ready(kDepth)), kDepth);
}

TEST(DeepChain, OneHundredThousandSuspendingTasksInARow) {
  Loop loop;
  EXPECT_EQ(run(loop, sum_suspending(kDepth)), kDepth);
}

TEST(DeepChain, AnExceptionUnwindsADeepChain) {
  Loop loop;
  EXPECT_THROW(run(loop, throw_at_bottom(kDepth)), std::runtime_error);
}

TEST(DeepChain, SpawnedDeepChainsFromCallbacks) {
  Loop loop;
  int done = 0;
  for (int i = 0; i < 3; ++i)
    loop.set_immediate([&] {
      spawn([](int& d) -> Task<void> {
        int v = co_await deep_then_sleep(kDepth / 4);
        d += v == kDepth / 4;
      }(done));
    });
  loop.run();
  EXPECT_EQ(done, 3);
}

}  // namespace deep_chain_test
