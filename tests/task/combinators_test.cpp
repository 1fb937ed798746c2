// when_any and when_all start every task even when one ends at once (issue 16, item 3), and
// when_all rethrows the failure that came first in time, as Promise.all (item 10).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {
Task<int> bump(int& counter, int v) {
  ++counter;
  co_return v;
}

Task<int> bump_later(int& counter, int v, uint64_t ms) {
  co_await brigade::sleep(ms);
  ++counter;
  co_return v;
}

Task<int> fail_after(uint64_t ms, const char* what) {
  co_await brigade::sleep(ms);
  throw std::runtime_error(what);
}

std::string message(auto&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "nothing thrown";
}
}  // namespace

TEST(Combinators, WhenAnyStartsEveryTaskWhenTheFirstEndsAtOnce) {
  Loop loop;
  int counter = 0;
  std::vector<Task<int>> v;
  for (int i = 0; i < 3; ++i) v.push_back(bump(counter, i));
  auto r = run(loop, when_any(std::move(v)));
  EXPECT_EQ(r.index, 0u);
  EXPECT_EQ(r.value, 0);
  EXPECT_EQ(counter, 3);  // Promise.race over three async functions runs all three
}

TEST(Combinators, WhenAnyStartsTheRestAfterAnEarlyWinner) {
  Loop loop;
  int counter = 0;
  std::vector<Task<int>> v;
  v.push_back(bump_later(counter, 10, 20));
  v.push_back(bump(counter, 20));  // wins at once, in the middle
  v.push_back(bump_later(counter, 30, 5));
  v.push_back(bump(counter, 40));
  auto r = run(loop, when_any(std::move(v)));
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(r.value, 20);
  EXPECT_EQ(counter, 2);  // the synchronous ones; the two sleepers started and still wait
  loop.run();             // the losers run to completion
  EXPECT_EQ(counter, 4);
}

TEST(Combinators, WhenAllStartsEveryTaskEvenIfAllEndAtOnce) {
  Loop loop;
  int counter = 0;
  auto [a, b, c] = run(loop, when_all(bump(counter, 1), bump(counter, 2), bump(counter, 3)));
  EXPECT_EQ(a + b + c, 6);
  std::vector<Task<int>> v;
  for (int i = 0; i < 5; ++i) v.push_back(bump(counter, i));
  EXPECT_EQ(run(loop, when_all(std::move(v))).size(), 5u);
  EXPECT_EQ(counter, 8);
}

TEST(Combinators, WhenAllRethrowsTheFirstFailureInTime) {
  Loop loop;
  EXPECT_EQ(message([&] { run(loop, when_all(fail_after(30, "late"), fail_after(5, "early"))); }),
            "early");
  std::vector<Task<int>> v;
  v.push_back(fail_after(40, "third"));
  v.push_back(fail_after(20, "second"));
  v.push_back(fail_after(5, "first"));
  EXPECT_EQ(message([&] { run(loop, when_all(std::move(v))); }), "first");
}

TEST(Combinators, WhenAllWaitsForEveryTaskBeforeRethrowing) {
  Loop loop;
  int counter = 0;
  EXPECT_THROW(run(loop, when_all(fail_after(1, "x"), bump_later(counter, 1, 30))),
               std::runtime_error);
  EXPECT_EQ(counter, 1);  // structured: the slow one ended before when_all did
}
