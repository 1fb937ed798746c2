// MessagePort / MessageChannel / BroadcastChannel: order, transfer, cross-thread delivery, close.
#include "brigade/worker/message_port.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "brigade/loop/loop.hpp"
#include "brigade/worker/broadcast_channel.hpp"
#include "brigade/worker/worker.hpp"

using namespace brigade;

TEST(Message, HoldsAnyMovableValueAndMovesBuffers) {
  std::vector<int> v(1000, 7);
  const int* data = v.data();
  Message m(std::move(v));
  EXPECT_TRUE(v.empty());  // the sender no longer has it
  EXPECT_TRUE(m.is<std::vector<int>>());
  EXPECT_FALSE(m.is<int>());
  EXPECT_THROW(m.get<int>(), std::bad_cast);
  auto back = m.take<std::vector<int>>();
  EXPECT_EQ(back.data(), data);  // no copy: the same buffer
  Message u(std::make_unique<int>(5));
  EXPECT_EQ(*u.get<std::unique_ptr<int>>(), 5);
}

// uint64_t is unsigned long on this platform and unsigned long long on others: an integer of the
// same size and signedness is the same value (the README's Worker snippet aborted with bad_cast).
TEST(Message, IntegersOfOneRepresentationAreOneValue) {
  Message m(uint64_t{12586269025});
  EXPECT_TRUE(m.is<unsigned long long>());
  EXPECT_TRUE(m.is<unsigned long>());
  EXPECT_FALSE(m.is<long long>());  // another signedness
  EXPECT_FALSE(m.is<unsigned>());   // another size
  EXPECT_EQ(m.get<unsigned long long>(), 12586269025ull);
  EXPECT_EQ(m.get<uint64_t>(), 12586269025u);
  const Message c(int64_t{-5});
  EXPECT_EQ(c.get<long long>(), -5);
  EXPECT_EQ(c.get<long>(), -5);
  Message i(int32_t{-7});
  EXPECT_EQ(i.take<int>(), -7);
  EXPECT_FALSE(Message(true).is<unsigned char>());  // bool and characters are not integers here
  EXPECT_FALSE(Message('a').is<signed char>());
}

// Small values live inside the Message, the rest on the heap; either way each is destroyed once.
TEST(Message, InlineAndHeapValuesAreDestroyedOnceThroughMovesAndTakes) {
  auto shared = std::make_shared<int>(1);  // 16 bytes: inline
  {
    Message a(shared);
    EXPECT_EQ(shared.use_count(), 2);
    Message b(std::move(a));
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(shared.use_count(), 2);
    Message c;
    c = std::move(b);
    EXPECT_EQ(*c.get<std::shared_ptr<int>>(), 1);
    c = Message(7);  // the old value goes as the new one comes
    EXPECT_EQ(shared.use_count(), 1);
    Message d(shared);
    auto back = d.take<std::shared_ptr<int>>();
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(shared.use_count(), 2);
  }
  EXPECT_EQ(shared.use_count(), 1);
  struct Big {
    std::shared_ptr<int> p;
    char pad[64];
  };
  {
    Message big(Big{shared, {}});  // too big for inline: held on the heap, so it stays put
    const Big* where = &big.get<Big>();
    Message moved(std::move(big));
    EXPECT_EQ(&moved.get<Big>(), where);
    EXPECT_EQ(shared.use_count(), 2);
  }
  EXPECT_EQ(shared.use_count(), 1);
  struct ThrowingMove {
    ThrowingMove() = default;
    ThrowingMove(ThrowingMove&&) noexcept(false) {}
    int x = 3;
  };
  Message t{ThrowingMove{}};  // small, but a move that may throw cannot be inline: heap
  const ThrowingMove* at = &t.get<ThrowingMove>();
  Message t2(std::move(t));
  EXPECT_EQ(&t2.get<ThrowingMove>(), at);
}

TEST(Message, AMismatchNamesTheTypeHeldAndTheTypeAsked) {
  Message m(std::string("text"));
  try {
    m.get<int>();
    ADD_FAILURE() << "no throw";
  } catch (const MessageTypeError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("std::__cxx11::basic_string"), std::string::npos) << what;
    EXPECT_NE(what.find("get<int>"), std::string::npos) << what;
  }
  Message u(uint64_t{1});
  EXPECT_THROW(u.get<int64_t>(), std::bad_cast);  // still a std::bad_cast
  EXPECT_EQ(u.get<uint64_t>(), 1u);               // and unharmed
  EXPECT_THROW(Message().get<int>(), MessageTypeError);
}

// The README's Worker snippet, as written: fib returns uint64_t, the receiver asks unsigned long
// long.
TEST(Message, ReadmeWorkerSnippetReceivesTheResult) {
  Loop loop;
  unsigned long long got = 0;
  static constexpr auto fib = [](int n) {
    uint64_t a = 0, b = 1;
    for (int i = 0; i < n; ++i) b = std::exchange(a, b) + b;
    return a;
  };
  Worker w(
      loop,
      [](WorkerContext& ctx) { ctx.parent_port.post_message(fib(ctx.worker_data.get<int>())); },
      Message(40));
  w.on_message([&](Message m) { got = m.get<unsigned long long>(); });
  loop.run();
  EXPECT_EQ(got, 102334155ull);
}

TEST(MessagePort, SameThreadDeliveryIsInOrderOnTheLoop) {
  Loop loop;
  MessageChannel ch;
  std::vector<int> got;
  ch.port2.on_message([&](Message m) {
    got.push_back(m.get<int>());
    if (got.size() == 100) ch.port2.close();
  });
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(ch.port1.post_message(i));
  EXPECT_TRUE(got.empty());  // delivered by the loop, never inside post_message
  loop.run();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
  EXPECT_FALSE(ch.port1.post_message(1));  // the other end closed
}

TEST(MessagePort, MessagesSentBeforeStartWait) {
  Loop loop;
  MessageChannel ch;
  ch.port1.post_message(std::string("early"));
  std::string got;
  ch.port2.on_message([&](Message m) {
    got = m.take<std::string>();
    ch.port2.close();
  });
  loop.run();
  EXPECT_EQ(got, "early");
}

TEST(MessagePort, CloseEventAfterLastMessage) {
  Loop loop;
  MessageChannel ch;
  std::vector<std::string> events;
  ch.port2.on_message([&](Message m) { events.push_back(std::to_string(m.get<int>())); });
  ch.port2.on_close([&] { events.push_back("close"); });
  ch.port1.post_message(1);
  ch.port1.post_message(2);
  ch.port1.close();
  loop.run();  // ends: the closed port no longer keeps the loop alive
  EXPECT_EQ(events, (std::vector<std::string>{"1", "2", "close"}));
}

TEST(MessagePort, UnrefLetsTheLoopEnd) {
  Loop loop;
  MessageChannel ch;
  ch.port2.on_message([](Message) {});
  ch.port2.unref();
  loop.run();  // returns at once
  SUCCEED();
}

TEST(MessagePort, ManyThreadsManyMessagesKeepPerSenderOrder) {
  Loop loop;
  loop.set_blocked_threshold_ms(0);  // big batches are the point here
  constexpr int kSenders = 4, kEach = 20000;
  std::vector<MessageChannel> chans(kSenders);
  std::vector<int> next(kSenders, 0);
  int total = 0;
  bool ordered = true;
  for (int s = 0; s < kSenders; ++s) {
    chans[s].port2.on_message([&, s](Message m) {
      ordered &= m.get<int>() == next[s]++;
      if (++total == kSenders * kEach)
        for (auto& c : chans) c.port2.close();
    });
  }
  std::vector<std::thread> threads;
  for (int s = 0; s < kSenders; ++s)
    threads.emplace_back([&, s] {
      for (int i = 0; i < kEach; ++i) chans[s].port1.post_message(i);
    });
  loop.run();
  for (auto& t : threads) t.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(total, kSenders * kEach);
}

TEST(MessagePort, PortTransferredToAWorkerAnswersThere) {
  Loop loop;
  MessageChannel ch;
  // The worker gets port2 through its workerData and answers every message on it.
  Worker w(
      loop,
      [](WorkerContext& ctx) {
        auto port = std::make_shared<MessagePort>(ctx.worker_data.take<MessagePort>());
        port->on_message([port, id = ctx.thread_id](Message m) {
          if (m.is<std::string>()) return port->close();
          port->post_message(std::make_pair(m.get<int>() * 2, id));
        });
      },
      Message(std::move(ch.port2)));
  std::vector<int> got;
  int replier = 0;
  ch.port1.on_message([&](Message m) {
    auto [v, id] = m.get<std::pair<int, int>>();
    got.push_back(v);
    replier = id;
    if (got.size() == 3) ch.port1.post_message(std::string("bye"));
  });
  ch.port1.on_close([&] {});
  for (int i = 1; i <= 3; ++i) ch.port1.post_message(i);
  loop.run();
  EXPECT_EQ(got, (std::vector<int>{2, 4, 6}));
  EXPECT_EQ(replier, w.thread_id());
  EXPECT_EQ(w.exit_code(), 0);
}

TEST(MessagePort, PortPassedOnWhileMessagesAreQueuedLosesNone) {
  Loop loop;
  MessageChannel ch;
  // 1000 messages are queued for port2 before it moves to the worker: all arrive, in order.
  for (int i = 0; i < 1000; ++i) ch.port1.post_message(i);
  int count = 0;
  bool ordered = true;
  Worker w(
      loop,
      [](WorkerContext& ctx) {
        auto port = std::make_shared<MessagePort>(ctx.worker_data.take<MessagePort>());
        auto n = std::make_shared<int>(0);
        port->on_message([port, n](Message m) {
          if (m.get<int>() != (*n)++) port->post_message(-1);
          if (*n == 1000) port->close();
        });
      },
      Message(std::move(ch.port2)));
  ch.port1.on_message([&](Message) { ordered = false; });
  ch.port1.on_close([&] { count = 1000; });
  loop.run();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(count, 1000);
}

TEST(BroadcastChannel, EveryOtherChannelOfTheNameReceives) {
  Loop loop;
  BroadcastChannel a("news"), b("news"), c("other");
  std::vector<std::string> got_b;
  int got_a = 0, got_c = 0;
  a.on_message([&](Message) { ++got_a; });
  c.on_message([&](Message) { ++got_c; });
  std::string from_worker;
  Worker w(loop, [](WorkerContext&) {
    BroadcastChannel mine("news");
    mine.post_message(std::string("from worker"));
  });
  b.on_message([&](Message m) {
    got_b.push_back(m.take<std::string>());
    if (got_b.size() == 2) {
      a.close();
      b.close();
      c.close();
    }
  });
  // b, and the worker's channel if its thread has not closed it yet; never a nor c.
  const std::size_t reached = a.post_message(std::string("hello"));
  EXPECT_GE(reached, 1u);
  EXPECT_LE(reached, 2u);
  loop.run();
  ASSERT_EQ(got_b.size(), 2u);
  EXPECT_NE(std::find(got_b.begin(), got_b.end(), "hello"), got_b.end());
  EXPECT_NE(std::find(got_b.begin(), got_b.end(), "from worker"), got_b.end());
  EXPECT_EQ(got_c, 0);
}

// One delivery carries the whole queue; a handler that moves, closes or hands its port on
// mid-batch decides where the rest of that batch goes.
TEST(MessagePort, PortMovedMidBatchGetsTheRestOfTheBatch) {
  Loop loop;
  MessageChannel ch;
  MessagePort moved;
  std::vector<int> first, second;
  ch.port2.on_message([&](Message m) {
    first.push_back(m.get<int>());
    if (first.size() != 3) return;
    moved = std::move(ch.port2);  // same thread: the new object receives from the next message
    moved.on_message([&](Message m2) {
      second.push_back(m2.get<int>());
      if (second.size() == 7) moved.close();
    });
  });
  for (int i = 0; i < 10; ++i) ch.port1.post_message(i);
  loop.run();
  EXPECT_EQ(first, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(second, (std::vector<int>{3, 4, 5, 6, 7, 8, 9}));
}

TEST(MessagePort, PortClosedMidBatchGetsNoMore) {
  Loop loop;
  MessageChannel ch;
  std::vector<int> got;
  bool closed = false;
  ch.port1.on_message([](Message) {});
  ch.port1.on_close([&] { closed = true; });  // the other end's close reaches a receiving port
  ch.port2.on_message([&](Message m) {
    got.push_back(m.get<int>());
    if (got.size() == 4) ch.port2.close();
  });
  for (int i = 0; i < 10; ++i) ch.port1.post_message(i);
  loop.run();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(closed);
}

TEST(MessagePort, PortHandedToAWorkerMidBatchGetsTheRestThereInOrder) {
  Loop loop;
  MessageChannel ch;
  std::optional<Worker> w;
  std::vector<int> here;
  // The worker echoes what its port receives back to port1; it closes after the last.
  auto worker_main = [](WorkerContext& ctx) {
    auto port = std::make_shared<MessagePort>(ctx.worker_data.take<MessagePort>());
    port->on_message([port](Message m) {
      const int v = m.get<int>();
      port->post_message(v);
      if (v == 99) port->close();
    });
  };
  ch.port2.on_message([&](Message m) {
    here.push_back(m.get<int>());
    if (here.size() == 10) w.emplace(loop, worker_main, Message(std::move(ch.port2)));
  });
  std::vector<int> echoed;
  ch.port1.on_message([&](Message m) { echoed.push_back(m.get<int>()); });
  ch.port1.on_close([] {});
  for (int i = 0; i < 100; ++i) ch.port1.post_message(i);
  loop.run();
  std::vector<int> rest(90);
  for (int i = 0; i < 90; ++i) rest[i] = i + 10;
  ASSERT_EQ(here.size(), 10u);
  EXPECT_EQ(here.back(), 9);
  EXPECT_EQ(echoed, rest);
  EXPECT_EQ(w->exit_code(), 0);
}

// A delivery takes the queue again while it refills, so what a handler sends to its own port
// arrives in order in the same delivery; a stream that never runs dry still lets the loop's
// other work in.
TEST(MessagePort, MessagesSentDuringADeliveryArriveInOrderAndAnEndlessStreamYields) {
  Loop loop;
  MessageChannel ch;
  std::vector<int> got;
  constexpr int kQueued = 20000, kFed = 50000;
  int at_immediate = -1;
  ch.port2.on_message([&](Message m) {
    got.push_back(m.get<int>());
    if (got.size() == kQueued + 10) loop.set_immediate([&] { at_immediate = int(got.size()); });
    // From the last queued one on, each message sends the next: the queue is never found empty.
    if (got.back() >= kQueued - 1 && got.back() < kQueued + kFed)
      ch.port1.post_message(got.back() + 1);
    if (got.back() >= 0 && got.back() < 5)
      ch.port1.post_message(-got.back() - 1);  // sent mid-delivery
    if (got.size() == kQueued + kFed + 6) ch.port2.close();
  });
  for (int i = 0; i < kQueued; ++i) ch.port1.post_message(i);
  loop.run();
  ASSERT_EQ(got.size(), size_t(kQueued + kFed + 6));
  for (int i = 0; i < kQueued; ++i) ASSERT_EQ(got[i], i);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[kQueued + i], -i - 1);
  EXPECT_EQ(got[kQueued + 5], kQueued);
  EXPECT_EQ(got.back(), kQueued + kFed);
  // The immediate ran when the delivery yielded, long before the fed stream's end.
  EXPECT_GT(at_immediate, kQueued + 10);
  EXPECT_LT(at_immediate, kQueued + kFed);
}
