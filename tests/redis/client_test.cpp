// Client, Connection, Lease and Subscriber against a real redis-server of the test's own.
#include <gtest/gtest.h>

#include <memory>

#include "brigade/error.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/redis.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "redis_server.hpp"

using namespace brigade;
using namespace brigade::redis;

namespace {

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::redis_server_installed()) GTEST_SKIP() << "redis-server is not installed";
    server_ = std::make_unique<test::RedisServer>();
    ASSERT_TRUE(server_->running()) << "redis-server did not start";
  }
  Options options() {
    Options o = parse_url(server_->url());
    o.loop = &loop_;
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 200;
    o.offline_wait_ms = 3000;
    return o;
  }
  Loop loop_;
  std::unique_ptr<test::RedisServer> server_;
};

TEST_F(RedisTest, SetGetAndGenericCommands) {
  Client redis(options());
  run(loop_, [](Client& redis) -> Task<void> {
    co_await redis.set("greeting", "hello");
    EXPECT_EQ(co_await redis.get("greeting"), "hello");
    EXPECT_EQ(co_await redis.get("missing"), std::nullopt);
    EXPECT_EQ(co_await redis.incr("n"), 1);
    EXPECT_EQ(co_await redis.incr("n"), 2);
    Reply r = co_await redis.command("HSET", "h", "a", "1", "b", "2");
    EXPECT_EQ(r.integer, 2);
    std::vector<std::string> args = {"HGETALL", "h"};
    Reply all = co_await redis.command(args);
    EXPECT_EQ(all.elements.size(), 4u);
    EXPECT_EQ(co_await redis.del("greeting"), 1);
    co_await redis.set("short", "x", 50);
    co_await brigade::sleep(120);
    EXPECT_EQ(co_await redis.get("short"), std::nullopt);
  }(redis));
}

TEST_F(RedisTest, AServerErrorFailsOnlyItsCommand) {
  Client redis(options());
  run(loop_, [](Client& redis) -> Task<void> {
    co_await redis.set("s", "text");
    try {
      co_await redis.command("LPUSH", "s", "x");
      ADD_FAILURE() << "no error";
    } catch (const ServerError& e) {
      EXPECT_EQ(e.code(), "WRONGTYPE");
      EXPECT_NE(std::string(e.what()).find("wrong kind of value"), std::string::npos) << e.what();
    }
    try {
      co_await redis.command("NOSUCHCOMMAND");
      ADD_FAILURE() << "no error";
    } catch (const ServerError& e) {
      EXPECT_EQ(e.code(), "ERR");
    }
    EXPECT_EQ(co_await redis.get("s"), "text");  // the connection is still fine
  }(redis));
  EXPECT_EQ(redis.stats().connects, 1u);
}

TEST_F(RedisTest, ConcurrentCommandsArePipelinedOnOneConnectionInOrder) {
  Client redis(options());
  run(loop_, [](Client& redis) -> Task<void> {
    std::vector<Task<void>> sets;
    for (int i = 0; i < 2000; ++i)
      sets.push_back(redis.set("k" + std::to_string(i), "v" + std::to_string(i)));
    co_await when_all(std::move(sets));
    std::vector<Task<std::optional<std::string>>> gets;
    for (int i = 0; i < 2000; ++i) gets.push_back(redis.get("k" + std::to_string(i)));
    std::vector<std::optional<std::string>> values = co_await when_all(std::move(gets));
    for (int i = 0; i < 2000; ++i) EXPECT_EQ(values[i], "v" + std::to_string(i));
    // The server saw few round trips: its command count grew by 4000 over few reads. A
    // pipelined batch shows as one connection with no commands queued behind the client.
    Reply info = co_await redis.command("CLIENT", "LIST");
    EXPECT_EQ(std::count(info.str.begin(), info.str.end(), '\n'), 1) << info.str;
  }(redis));
  EXPECT_EQ(redis.stats().connects, 1u);
}

TEST_F(RedisTest, ALostConnectionFailsOnlyInFlightCommandsAndReconnects) {
  Client redis(options());
  Client admin(options());
  run(loop_, [](Client& redis, Client& admin) -> Task<void> {
    co_await redis.set("before", "1");
    // BLPOP holds the shared connection's reply; killing the connection fails it.
    auto blocked = [](Client& redis) -> Task<std::string> {
      try {
        co_await redis.command("BLPOP", "never", "10");
        co_return "answered";
      } catch (const ConnectionError& e) {
        co_return std::string("lost: ") + e.what();
      }
    }(redis);
    auto kill = [](Client& admin) -> Task<std::string> {
      co_await brigade::sleep(50);
      Reply n = co_await admin.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      co_return std::to_string(n.integer);
    }(admin);
    auto [outcome, killed] = co_await when_all(std::move(blocked), std::move(kill));
    EXPECT_EQ(outcome.rfind("lost: ", 0), 0u) << outcome;
    EXPECT_EQ(killed, "1");
    EXPECT_EQ(co_await redis.get("before"), "1");  // reconnected on its own
  }(redis, admin));
  EXPECT_EQ(redis.stats().connects, 2u);
}

TEST_F(RedisTest, CommandsWaitForARestartedServer) {
  Client redis(options());
  run(loop_, [](Client& redis) -> Task<void> { co_await redis.set("kept", "yes"); }(redis));
  server_->stop();
  ASSERT_TRUE(server_->start());
  run(loop_, [](Client& redis) -> Task<void> {
    // The loop sees the old connection's end while it runs (a command caught in flight on it
    // would fail with ConnectionError); the next command waits for the reconnect.
    co_await brigade::sleep(50);
    EXPECT_EQ(co_await redis.get("kept"), "yes");  // append-only file: the data survived
  }(redis));
  EXPECT_GE(redis.stats().connects, 2u);
}

TEST_F(RedisTest, NoServerFailsWithConnectionErrorAfterTheOfflineWait) {
  Options o = options();
  o.port = test::free_tcp_port();  // nobody listens there
  o.offline_wait_ms = 300;
  Client redis(o);
  uint64_t start = loop_.now();
  run(loop_, [](Client& redis) -> Task<void> {
    try {
      co_await redis.get("x");
      ADD_FAILURE() << "no error";
    } catch (const ConnectionError& e) {
      EXPECT_NE(std::string(e.what()).find("not connected"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
    }
  }(redis));
  EXPECT_GE(loop_.now() - start, 250u);
  EXPECT_GE(redis.stats().failed_connects, 1u);
}

TEST_F(RedisTest, LeasesGiveDedicatedConnections) {
  Client redis(options());
  run(loop_, [](Client& redis) -> Task<void> {
    Lease a = co_await redis.acquire();
    // A blocking pop on the lease does not hold up the shared connection.
    auto pop = [](Connection& c) -> Task<Reply> {
      auto cmd = c.command("BLPOP", "jobs", "5");
      co_return co_await cmd;
    }(*a);
    auto push = [](Client& redis) -> Task<Reply> {
      co_await redis.set("other", "fine");
      co_return co_await redis.command("RPUSH", "jobs", "j1");
    }(redis);
    auto [popped, pushed] = co_await when_all(std::move(pop), std::move(push));
    EXPECT_EQ(popped.elements.at(1).str, "j1");
    // MULTI/EXEC on the lease.
    auto multi = a->command("MULTI");
    co_await multi;
    auto q1 = a->command("INCR", "tx");
    EXPECT_EQ((co_await q1).str, "QUEUED");
    auto q2 = a->command("INCR", "tx");
    co_await q2;
    auto exec = a->command("EXEC");
    Reply done = co_await exec;
    EXPECT_EQ(done.elements.at(1).integer, 2);
    a.release();
    Lease b = co_await redis.acquire();  // the same connection, reused
    EXPECT_EQ(redis.stats().dedicated_open, 1u);
  }(redis));
}

TEST_F(RedisTest, ScriptsAreReloadedAfterTheServerForgetsThem) {
  Client redis(options());
  Script script{"return redis.call('INCRBY', KEYS[1], ARGV[1])", {}};
  run(loop_, [](Client& redis, Script& script) -> Task<void> {
    std::vector<std::string> keys = {"c"}, five = {"5"}, two = {"2"};
    EXPECT_EQ((co_await redis.eval(script, keys, five)).integer, 5);
    co_await redis.command("SCRIPT", "FLUSH");
    EXPECT_EQ((co_await redis.eval(script, keys, two)).integer, 7);
    try {
      Script bad{"return redis.call('NOPE')", {}};
      co_await redis.eval(bad, std::vector<std::string>(), std::vector<std::string>());
      ADD_FAILURE() << "no error";
    } catch (const ServerError& e) {
      EXPECT_NE(std::string(e.what()).find("Unknown Redis command"), std::string::npos) << e.what();
    }
  }(redis, script));
}

TEST_F(RedisTest, PubSubDeliversAndResubscribesAfterAReconnect) {
  Client redis(options());
  Subscriber sub(options());
  run(loop_, [](Client& redis, Subscriber& sub) -> Task<void> {
    co_await sub.subscribe("news");
    co_await sub.psubscribe("logs.*");
    EXPECT_EQ(co_await redis.publish("news", "one"), 1);
    co_await redis.publish("logs.web", "two");
    Message a = co_await sub.next(2000);
    EXPECT_EQ(a.channel, "news");
    EXPECT_EQ(a.payload, "one");
    Message b = co_await sub.next(2000);
    EXPECT_EQ(b.channel, "logs.web");
    EXPECT_EQ(b.pattern, "logs.*");
    EXPECT_THROW(co_await sub.next(50), TimeoutError);
    // Kill the subscriber's connection: it comes back subscribed to both.
    co_await redis.command("CLIENT", "KILL", "TYPE", "pubsub");
    for (int i = 0; i < 200; ++i) {
      Reply n = co_await redis.command("PUBSUB", "NUMSUB", "news");
      if (sub.reconnects() > 0 && n.elements.at(1).integer == 1) break;
      co_await brigade::sleep(10);
    }
    EXPECT_EQ(sub.reconnects(), 1u);
    co_await redis.publish("news", "three");
    Message c = co_await sub.next(2000);
    EXPECT_EQ(c.payload, "three");
  }(redis, sub));
}

}  // namespace
