// res.event_stream(): the wire format, heartbeats, Last-Event-ID, and the stream's end when the
// client goes and when the server closes gracefully.
#include "brigade/http/event_stream.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "test_server.hpp"

namespace brigade::http {
namespace event_stream_test {

using testing::RawClient;
using testing::TestServer;
using testing::wait_until;

struct Seen {
  std::atomic<int> streams_ended{0};
  std::atomic<int> events_sent{0};
};

// /events: an event per 50 ms (ids counting on from Last-Event-ID) until wait() says stop.
void add_events(App& app, Seen& seen, uint64_t heartbeat_ms = 10000) {
  app.get("/events", [&seen, heartbeat_ms](Req&, Res& res) -> Task<void> {
    EventStream events = res.event_stream({.heartbeat_ms = heartbeat_ms, .retry_ms = 1500});
    int id = events.last_event_id().empty() ? 0 : std::stoi(events.last_event_id());
    co_await events.send("two\nlines", "hello");
    while (co_await events.wait(50)) {
      std::string data = "tick " + std::to_string(id + 1);
      std::string next = std::to_string(++id);
      co_await events.send(data, "", next);
      ++seen.events_sent;
    }
    ++seen.streams_ended;
  });
  app.get("/quiet", [heartbeat_ms](Req&, Res& res) -> Task<void> {
    EventStream events = res.event_stream({.heartbeat_ms = heartbeat_ms});
    co_await events.wait(400);  // heartbeats only
  });
}

TEST(EventStream, HeadEventsAndLastEventId) {
  Seen seen;
  TestServer server([&](App& app) { add_events(app, seen); });
  RawClient c(server.port());
  ASSERT_TRUE(c.send("GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 41\r\n\r\n"));
  ASSERT_TRUE(c.read_until("data: tick 43\n\n")) << c.buffer();
  const std::string& b = c.buffer();
  EXPECT_EQ(b.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_NE(b.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(b.find("Cache-Control: no-cache"), std::string::npos);
  EXPECT_NE(b.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(b.find("retry: 1500\n\n"), std::string::npos);
  EXPECT_NE(b.find("event: hello\ndata: two\ndata: lines\n\n"), std::string::npos);
  EXPECT_NE(b.find("id: 42\ndata: tick 42\n\n"), std::string::npos);  // on from 41
  EXPECT_LT(b.find("retry:"), b.find("event: hello"));
}

TEST(EventStream, HeartbeatsWhenNothingElseIsSent) {
  Seen seen;
  TestServer server([&](App& app) { add_events(app, seen, 60); });
  RawClient c(server.port());
  ASSERT_TRUE(c.send("GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_until("0\r\n\r\n")) << c.buffer();  // the stream ended after 400 ms
  int beats = testing::count_of(c.buffer(), ": heartbeat\n\n");
  EXPECT_GE(beats, 2) << c.buffer();
  EXPECT_LE(beats, 8) << c.buffer();
}

TEST(EventStream, EndsWhenTheClientGoes) {
  Seen seen;
  TestServer server([&](App& app) { add_events(app, seen); });
  {
    RawClient c(server.port());
    ASSERT_TRUE(c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(c.read_until("data: tick 2\n\n"));
  }  // closed
  EXPECT_TRUE(wait_until([&] { return seen.streams_ended == 1; })) << "the handler kept running";
  int sent = seen.events_sent;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(seen.events_sent, sent);  // nothing more after it ended
  EXPECT_TRUE(wait_until([&] { return server.stats().connections == 0; }));
}

TEST(EventStream, EndsCleanlyWhenTheServerClosesGracefully) {
  Seen seen;
  TestServer server([&](App& app) { add_events(app, seen); });
  RawClient c(server.port(), 5000);
  ASSERT_TRUE(c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_until("data: tick 1\n\n"));
  std::atomic<bool> closed{false};
  server.on_loop([&closed](Server& s) {
    s.close([&closed] { closed = true; });
    return 0;
  });
  EXPECT_TRUE(wait_until([&] { return closed.load(); })) << "close() waited on the stream";
  ASSERT_TRUE(c.read_to_eof());
  // The chunked body was ended (not cut): the last chunk is the terminator.
  const std::string& b = c.buffer();
  ASSERT_GE(b.size(), 5u);
  EXPECT_EQ(b.substr(b.size() - 5), "0\r\n\r\n") << b;
  EXPECT_EQ(seen.streams_ended, 1);
}

}  // namespace event_stream_test
}  // namespace brigade::http
