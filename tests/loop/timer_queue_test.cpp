#include "brigade/loop/timer_queue.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using brigade::TimerId;
using brigade::TimerQueue;

namespace {
// The queue's clock counts ns, its durations ms.
constexpr uint64_t ms(uint64_t n) { return n * 1'000'000; }
}  // namespace

TEST(TimerQueue, EqualDeadlinesAcrossListsFireInCreationOrder) {
  TimerQueue q;
  std::vector<int> order;
  q.add(ms(1000), 10, false, [&] { order.push_back(1); });  // due 1010
  q.add(ms(1000), 9, false, [&] { order.push_back(0); });   // due 1009
  q.add(ms(1002), 8, false, [&] { order.push_back(2); });   // due 1010, another list
  q.add(ms(1005), 5, false, [&] { order.push_back(3); });   // due 1010, a third list
  q.add(ms(1005), 5, false, [&] { order.push_back(4); });   // due 1010, after it in its list
  EXPECT_EQ(q.next_timeout(ms(1000)), int64_t(ms(9)));
  EXPECT_EQ(q.run_due(ms(1009), [] {}), 1u);
  EXPECT_EQ(q.run_due(ms(1010) - 1, [] {}), 0u);
  EXPECT_EQ(q.run_due(ms(1010), [] {}), 4u);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.next_timeout(ms(1010)), -1);
}

TEST(TimerQueue, DeadlinesKeepTheNanosecondsOfTheirStart) {
  TimerQueue q;
  int fired = 0;
  q.add(ms(5) + 123'456, 1, false, [&] { ++fired; });
  EXPECT_EQ(q.next_timeout(ms(5) + 200'000), int64_t(ms(1) - 200'000 + 123'456));
  EXPECT_EQ(q.run_due(ms(6) + 123'455, [] {}), 0u);  // never a nanosecond early
  EXPECT_EQ(q.run_due(ms(6) + 123'456, [] {}), 1u);
  EXPECT_EQ(fired, 1);
}

TEST(TimerQueue, CancelHeadMiddleAndTail) {
  TimerQueue q;
  std::vector<int> order;
  TimerId a = q.add(ms(0), 5, false, [&] { order.push_back(1); });
  TimerId b = q.add(ms(1), 5, false, [&] { order.push_back(2); });
  TimerId c = q.add(ms(2), 5, false, [&] { order.push_back(3); });
  TimerId d = q.add(ms(3), 5, false, [&] { order.push_back(4); });
  EXPECT_TRUE(q.cancel(a));
  EXPECT_TRUE(q.cancel(c));
  EXPECT_TRUE(q.cancel(d));
  EXPECT_FALSE(q.cancel(d));
  EXPECT_EQ(q.next_timeout(ms(0)), int64_t(ms(6)));
  q.run_due(ms(100), [] {});
  EXPECT_EQ(order, (std::vector<int>{2}));
  EXPECT_FALSE(q.active(b));
}

TEST(TimerQueue, StaleIdsDoNotTouchReusedSlots) {
  TimerQueue q;
  int fired = 0;
  TimerId a = q.add(0, 5, false, [] {});
  q.cancel(a);
  TimerId b = q.add(0, 5, false, [&] { ++fired; });
  EXPECT_EQ(a.slot, b.slot);
  EXPECT_FALSE(q.cancel(a));
  EXPECT_FALSE(q.refresh(a, 0));
  q.run_due(ms(5), [] {});
  EXPECT_EQ(fired, 1);
}

TEST(TimerQueue, RefreshMovesToTheBackOfItsList) {
  TimerQueue q;
  std::vector<int> order;
  TimerId a = q.add(ms(0), 10, false, [&] { order.push_back(1); });
  q.add(ms(2), 10, false, [&] { order.push_back(2); });
  q.refresh(a, ms(4));  // now due 14, after the second (due 12)
  q.run_due(ms(12), [] {});
  EXPECT_EQ(order, (std::vector<int>{2}));
  q.run_due(ms(14), [] {});
  EXPECT_EQ(order, (std::vector<int>{2, 1}));
}

TEST(TimerQueue, IntervalsRearmAndMayClearThemselves) {
  TimerQueue q;
  int n = 0;
  TimerId id;
  id = q.add(0, 3, true, [&] {
    if (++n == 3) q.cancel(id);
  });
  for (uint64_t t = 0; t <= 30; ++t) q.run_due(ms(t), [] {});
  EXPECT_EQ(n, 3);
  EXPECT_EQ(q.size(), 0u);
}

TEST(TimerQueue, IntervalsDoNotDriftByTheirLateness) {
  TimerQueue q;
  int n = 0;
  q.add(0, 10, true, [&] { ++n; });
  EXPECT_EQ(q.run_due(ms(10) + 300'000, [] {}), 1u);                      // 0.3 ms late
  EXPECT_EQ(q.next_timeout(ms(10) + 300'000), int64_t(ms(9) + 700'000));  // still due at 20
  EXPECT_EQ(q.run_due(ms(20), [] {}), 1u);
  // A loop blocked past a whole period fires once and counts the next period from now.
  EXPECT_EQ(q.run_due(ms(55), [] {}), 1u);
  EXPECT_EQ(q.next_timeout(ms(55)), int64_t(ms(10)));
  EXPECT_EQ(n, 3);
}

TEST(TimerQueue, ARearmedIntervalStaysBehindTimersAddedToItsListSinceItFellDue) {
  TimerQueue q;
  std::vector<int> order;
  q.add(0, 10, true, [&] { order.push_back(1); });                  // due 10, then 20
  q.add(ms(10) + 200'000, 10, false, [&] { order.push_back(2); });  // due 20.2, added late
  q.run_due(ms(10) + 300'000, [] {});
  EXPECT_EQ(q.next_timeout(ms(10) + 300'000), int64_t(ms(9) + 900'000));  // 20.2: list order
  q.run_due(ms(20) + 200'000, [] {});
  EXPECT_EQ(order, (std::vector<int>{1, 2, 1}));
}

TEST(TimerQueue, TimeoutsAreClampedAsInNode) {
  TimerQueue q;
  q.add(0, 0, false, [] {});
  q.add(0, TimerQueue::kMaxTimeoutMs + 1, false, [] {});
  EXPECT_EQ(q.next_timeout(0), int64_t(ms(1)));
  EXPECT_EQ(q.run_due(ms(1), [] {}), 2u);
}

TEST(TimerQueue, TheLongestTimeoutDoesNotOverflow) {
  TimerQueue q;
  q.add(ms(1), TimerQueue::kMaxTimeoutMs, false, [] {});
  EXPECT_EQ(q.next_timeout(ms(1)), int64_t(ms(TimerQueue::kMaxTimeoutMs)));
}

TEST(TimerQueue, RefCountsFollowUnref) {
  TimerQueue q;
  TimerId a = q.add(0, 5, false, [] {});
  q.add(0, 5, false, [] {});
  EXPECT_EQ(q.ref_count(), 2u);
  q.set_ref(a, false);
  EXPECT_EQ(q.ref_count(), 1u);
  EXPECT_FALSE(q.has_ref(a));
  q.cancel(a);
  EXPECT_EQ(q.ref_count(), 1u);
}

// The model: due timers fire by deadline, then by when they were set (added or refreshed).
TEST(TimerQueue, RandomOperationsMatchASortedModel) {
  TimerQueue q;
  std::mt19937 rng(7);
  struct Live {
    TimerId id;
    uint64_t timeout;  // ms
    uint64_t due;      // ns
    uint64_t set_at;   // ns
    uint32_t seq;
  };
  std::vector<Live> live;  // in the order they were set
  std::vector<uint32_t> fired;
  uint32_t seq = 0;
  uint64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    int op = rng() % 12;
    if (op < 6) {
      uint64_t t = 1 + rng() % 50;
      uint32_t s = seq++;
      TimerId id = q.add(now, t, false, [&fired, s] { fired.push_back(s); });
      live.push_back({id, t, now + ms(t), now, s});
    } else if (op < 8 && !live.empty()) {
      size_t k = rng() % live.size();
      ASSERT_TRUE(q.cancel(live[k].id));
      live.erase(live.begin() + k);
    } else if (op < 9 && !live.empty()) {
      size_t k = rng() % live.size();
      ASSERT_TRUE(q.refresh(live[k].id, now));
      Live l = live[k];
      l.due = now + ms(l.timeout);
      l.set_at = now;
      live.erase(live.begin() + k);
      live.push_back(l);
    } else {
      now += rng() % ms(5);                                      // whole and part milliseconds
      if (rng() % 4 == 0) now += (ms(1) - now % ms(1)) % ms(1);  // now and then a whole one
      fired.clear();
      q.run_due(now, [] {});
      std::vector<Live> due;
      for (auto& l : live)
        if (l.due <= now) due.push_back(l);
      std::stable_sort(due.begin(), due.end(), [](const Live& a, const Live& b) {
        return a.due < b.due || (a.due == b.due && a.set_at < b.set_at);
      });
      std::vector<uint32_t> want;
      for (auto& l : due) want.push_back(l.seq);
      ASSERT_EQ(fired, want) << "at step " << step;
      std::erase_if(live, [now](const Live& l) { return l.due <= now; });
    }
    ASSERT_EQ(q.size(), live.size());
  }
}
