#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "brigade/loop/timer_queue.hpp"

using brigade::TimerId;
using brigade::TimerQueue;

TEST(TimerQueue, EqualDeadlinesAcrossListsFireInCreationOrder) {
  TimerQueue q(1000);
  std::vector<int> order;
  q.add(1000, 10, false, [&] { order.push_back(1); });  // due 1010
  q.add(1005, 5, false, [&] { order.push_back(2); });   // due 1010, another list
  q.add(1000, 9, false, [&] { order.push_back(0); });   // due 1009
  q.add(1002, 8, false, [&] { order.push_back(3); });   // due 1010, a third list
  EXPECT_EQ(q.next_timeout(1000), 9);
  EXPECT_EQ(q.run_due(1009, [] {}), 1u);
  EXPECT_EQ(q.run_due(1010, [] {}), 3u);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.next_timeout(1010), -1);
}

TEST(TimerQueue, CancelHeadMiddleAndTail) {
  TimerQueue q(0);
  std::vector<int> order;
  TimerId a = q.add(0, 5, false, [&] { order.push_back(1); });
  TimerId b = q.add(1, 5, false, [&] { order.push_back(2); });
  TimerId c = q.add(2, 5, false, [&] { order.push_back(3); });
  TimerId d = q.add(3, 5, false, [&] { order.push_back(4); });
  EXPECT_TRUE(q.cancel(a));
  EXPECT_TRUE(q.cancel(c));
  EXPECT_TRUE(q.cancel(d));
  EXPECT_FALSE(q.cancel(d));
  EXPECT_EQ(q.next_timeout(0), 6);
  q.run_due(100, [] {});
  EXPECT_EQ(order, (std::vector<int>{2}));
  EXPECT_FALSE(q.active(b));
}

TEST(TimerQueue, StaleIdsDoNotTouchReusedSlots) {
  TimerQueue q(0);
  int fired = 0;
  TimerId a = q.add(0, 5, false, [] {});
  q.cancel(a);
  TimerId b = q.add(0, 5, false, [&] { ++fired; });
  EXPECT_EQ(a.slot, b.slot);
  EXPECT_FALSE(q.cancel(a));
  EXPECT_FALSE(q.refresh(a, 0));
  q.run_due(5, [] {});
  EXPECT_EQ(fired, 1);
}

TEST(TimerQueue, RefreshMovesToTheBackOfItsList) {
  TimerQueue q(0);
  std::vector<int> order;
  TimerId a = q.add(0, 10, false, [&] { order.push_back(1); });
  q.add(2, 10, false, [&] { order.push_back(2); });
  q.refresh(a, 4);  // now due 14, after the second (due 12)
  q.run_due(12, [] {});
  EXPECT_EQ(order, (std::vector<int>{2}));
  q.run_due(14, [] {});
  EXPECT_EQ(order, (std::vector<int>{2, 1}));
}

TEST(TimerQueue, IntervalsRearmAndMayClearThemselves) {
  TimerQueue q(0);
  int n = 0;
  TimerId id;
  id = q.add(0, 3, true, [&] {
    if (++n == 3) q.cancel(id);
  });
  for (uint64_t t = 0; t <= 30; ++t) q.run_due(t, [] {});
  EXPECT_EQ(n, 3);
  EXPECT_EQ(q.size(), 0u);
}

TEST(TimerQueue, TimeoutsAreClampedAsInNode) {
  TimerQueue q(0);
  q.add(0, 0, false, [] {});
  q.add(0, TimerQueue::kMaxTimeoutMs + 1, false, [] {});
  EXPECT_EQ(q.next_timeout(0), 1);
  EXPECT_EQ(q.run_due(1, [] {}), 2u);
}

TEST(TimerQueue, RefCountsFollowUnref) {
  TimerQueue q(0);
  TimerId a = q.add(0, 5, false, [] {});
  q.add(0, 5, false, [] {});
  EXPECT_EQ(q.ref_count(), 2u);
  q.set_ref(a, false);
  EXPECT_EQ(q.ref_count(), 1u);
  EXPECT_FALSE(q.has_ref(a));
  q.cancel(a);
  EXPECT_EQ(q.ref_count(), 1u);
}

TEST(TimerQueue, RandomOperationsMatchASortedModel) {
  TimerQueue q(0);
  std::mt19937 rng(7);
  struct Live {
    TimerId id;
    uint64_t due;
    uint32_t seq;
  };
  std::vector<Live> live;
  std::vector<uint32_t> fired;
  uint32_t seq = 0;
  uint64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    int op = rng() % 10;
    if (op < 6) {
      uint64_t t = 1 + rng() % 50;
      uint32_t s = seq++;
      TimerId id = q.add(now, t, false, [&fired, s] { fired.push_back(s); });
      live.push_back({id, now + t, s});
    } else if (op < 8 && !live.empty()) {
      size_t k = rng() % live.size();
      ASSERT_TRUE(q.cancel(live[k].id));
      live.erase(live.begin() + k);
    } else {
      now += rng() % 5;
      fired.clear();
      q.run_due(now, [] {});
      std::vector<Live> due;
      for (auto& l : live)
        if (l.due <= now) due.push_back(l);
      std::sort(due.begin(), due.end(), [](const Live& a, const Live& b) {
        return a.due < b.due || (a.due == b.due && a.seq < b.seq);
      });
      std::vector<uint32_t> want;
      for (auto& l : due) want.push_back(l.seq);
      ASSERT_EQ(fired, want) << "at step " << step;
      std::erase_if(live, [now](const Live& l) { return l.due <= now; });
    }
    ASSERT_EQ(q.size(), live.size());
  }
}
