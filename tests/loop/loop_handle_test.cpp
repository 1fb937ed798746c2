// LoopHandle: the one way into a loop from another thread (issue 13, point 3): weak (a post after
// the loop is gone is refused and its callback destroyed on the poster's thread), batching (posts
// made while the loop sleeps run as one batch, in order), and it knows whose batch is running.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "brigade/loop/loop.hpp"

using namespace brigade;

TEST(LoopHandle, RunsPostsInOrderAsOneBatchWithCurrentSet) {
  Loop loop;
  std::shared_ptr<LoopHandle> handle = loop.handle();
  std::vector<int> seen;
  std::vector<LoopHandle*> current;
  std::vector<uint64_t> iterations;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i)
      EXPECT_TRUE(handle->post([&, i] {
        seen.push_back(i);
        current.push_back(LoopHandle::current());
        iterations.push_back(loop.iteration());
      }));
  });
  poster.join();  // all 100 queued before the loop looks: one batch
  EXPECT_TRUE(loop.post_pending());
  loop.run_once(false);
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(seen[i], i);
    EXPECT_EQ(current[i], handle.get());
    EXPECT_EQ(iterations[i], iterations[0]);
  }
  EXPECT_EQ(LoopHandle::current(), nullptr);  // outside a batch
  EXPECT_FALSE(loop.post_pending());
}

TEST(LoopHandle, WakesASleepingLoop) {
  Loop loop;
  loop.ref();  // asleep in its poller until the post comes
  std::atomic<bool> ran{false};
  std::thread poster([h = loop.handle(), &ran, &loop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    h->post([&] {
      ran = true;
      loop.unref();
    });
  });
  loop.run();
  poster.join();
  EXPECT_TRUE(ran);
}

TEST(LoopHandle, APostAfterTheLoopIsGoneIsRefusedAndItsCallbackDestroyedByThePoster) {
  std::shared_ptr<LoopHandle> handle;
  auto queued_flag = std::make_shared<int>(0);
  {
    Loop loop;
    handle = loop.handle();
    EXPECT_TRUE(handle->alive());
    // Queued but never run: destroyed when the loop closes its handle.
    EXPECT_TRUE(handle->post([keep = queued_flag] {}));
    EXPECT_EQ(queued_flag.use_count(), 2);
  }
  EXPECT_EQ(queued_flag.use_count(), 1);
  EXPECT_FALSE(handle->alive());
  auto flag = std::make_shared<int>(0);
  std::thread other([&] {
    bool ran = false;
    EXPECT_FALSE(handle->post([&ran, keep = flag] { ran = true; }));
    EXPECT_EQ(flag.use_count(), 1);  // the refused callback is gone already
    EXPECT_FALSE(ran);
  });
  other.join();
}

TEST(LoopHandle, ManyThreadsPostingWhileTheLoopRunsLoseNothingAndKeepEachThreadsOrder) {
  Loop loop;
  constexpr int kThreads = 4, kPosts = 20'000;
  std::vector<int> last(kThreads, -1);
  std::atomic<int> out_of_order{0};
  int received = 0;
  loop.ref();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t, h = loop.handle()] {
      for (int i = 0; i < kPosts; ++i)
        h->post([&, t, i] {
          if (last[t] != i - 1) ++out_of_order;
          last[t] = i;
          if (++received == kThreads * kPosts) loop.unref();
        });
    });
  loop.run();
  for (auto& t : threads) t.join();
  EXPECT_EQ(received, kThreads * kPosts);
  EXPECT_EQ(out_of_order.load(), 0);
}
