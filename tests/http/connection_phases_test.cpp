// The server connection's state machine (src/http/connection.hpp, Phase): real clients drive it
// through every transition its table allows, and no other; the Upgrade hand-off gives the socket
// and the bytes after the head to a new owner.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "../../src/http/access.hpp"
#include "../../src/http/connection.hpp"
#include "test_server.hpp"

namespace brigade::http {
namespace connection_phases_test {

using detail::Phase;
using testing::RawClient;
using testing::TestServer;
using testing::wait_until;

// What the observer saw (it runs on the server's loop thread).
struct Seen {
  std::mutex mu;
  std::set<std::pair<Phase, Phase>> moves;
  int illegal = 0;
} g_seen;

void observe(Phase from, Phase to) {
  std::lock_guard lock(g_seen.mu);
  g_seen.moves.insert({from, to});
  if (!detail::legal_transition(from, to)) ++g_seen.illegal;
}

bool saw(Phase from, Phase to) {
  return wait_until(
      [&] {
        std::lock_guard lock(g_seen.mu);
        return g_seen.moves.count({from, to}) > 0;
      },
      3000);
}

std::string head(std::string_view method, std::string_view path, std::string_view extra = "") {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(extra) + "\r\n";
}

std::string chunk(std::string_view bytes) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  return size + std::string(bytes) + "\r\n";
}

// The socket a handler took over: echoes what arrives, closes at EOF.
struct Upgraded {
  detail::Transport io;
  static void on_readable(void* self) {
    auto* u = static_cast<Upgraded*>(self);
    char buf[512];
    for (;;) {
      long n = u->io.try_read(std::span<char>(buf));
      if (n == -EAGAIN) return;
      if (n <= 0) return u->io.close();
      u->io.write_nowait(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
};

void add_routes(App& app) {
  app.get("/", [](Req&, Res& res) { res.send("hello"); });
  app.post("/echo", [](Req& req, Res& res) { res.send(req.body()); });
  app.get("/abort", [](Req&, Res& res) { res.abort(); });
  app.post("/all", RouteOptions::stream(), [](Req& req, Res& res) -> Task<void> {
    std::string all = co_await req.read_all();
    res.send(std::to_string(all.size()));
  });
  app.post("/limited", RouteOptions::stream(1000), [](Req& req, Res& res) -> Task<void> {
    std::string all = co_await req.read_all();
    res.send(std::to_string(all.size()));
  });
  app.post("/early", RouteOptions::stream(), [](Req&, Res& res) { res.send("early"); });
  auto owner = std::make_shared<std::unique_ptr<Upgraded>>();  // lives with the App (loop thread)
  app.get("/upgrade", [owner](Req&, Res& res) {
    detail::HandOff h = detail::ResponseAccess::connection(res)->hand_off();
    *owner = std::make_unique<Upgraded>(Upgraded{std::move(h.transport)});
    Upgraded& u = **owner;
    u.io.write_nowait(std::string_view("HTTP/1.1 101 Switching Protocols\r\n\r\n"));
    u.io.write_nowait(h.buffered);  // the bytes that came with the head, first
    u.io.socket.set_read_hook(&Upgraded::on_readable, &u);
    Upgraded::on_readable(&u);  // more may be waiting already
    res.end();                  // ends the exchange: nothing more is written
  });
}

class ConnectionPhases : public ::testing::Test {
 protected:
  void SetUp() override {
    std::lock_guard lock(g_seen.mu);
    g_seen.moves.clear();
    g_seen.illegal = 0;
    detail::Connection::observer = &observe;
  }
  void TearDown() override { detail::Connection::observer = nullptr; }
};

TEST_F(ConnectionPhases, EveryLegalTransitionHappensAndNoOther) {
  ServerOptions options;
  options.max_body_size = 100000;
  TestServer server(add_routes, options);
  uint16_t port = server.port();

  {  // A request, a pipelined pair, then the client leaves while idle.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("GET", "/")));
    ASSERT_TRUE(c.read_responses(1));
    EXPECT_TRUE(saw(Phase::kIdle, Phase::kHead));
    EXPECT_TRUE(saw(Phase::kHead, Phase::kBody));
    EXPECT_TRUE(saw(Phase::kBody, Phase::kHandling));
    EXPECT_TRUE(saw(Phase::kHandling, Phase::kIdle));
    ASSERT_TRUE(c.send(head("GET", "/") + head("GET", "/")));
    ASSERT_TRUE(c.read_responses(3));
    EXPECT_TRUE(saw(Phase::kHandling, Phase::kHead));
  }
  EXPECT_TRUE(saw(Phase::kIdle, Phase::kClosed));
  {  // Half a head, then gone.
    RawClient c(port);
    ASSERT_TRUE(c.send("GET / HT"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(saw(Phase::kHead, Phase::kClosed));
  {  // A bad head: 400, drained until the client closes.
    RawClient c(port);
    ASSERT_TRUE(c.send("NOT HTTP\r\n\r\n"));
    ASSERT_TRUE(c.read_until("400"));
    EXPECT_TRUE(saw(Phase::kHead, Phase::kDraining));
  }
  EXPECT_TRUE(saw(Phase::kDraining, Phase::kClosed));
  {  // Half a buffered body, then gone.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/echo", "Content-Length: 100\r\n") + "0123456789"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(saw(Phase::kBody, Phase::kClosed));
  {  // A buffered body over the server's limit: 413.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/echo", "Content-Length: 200000\r\n")));
    ASSERT_TRUE(c.read_until("413"));
    EXPECT_TRUE(saw(Phase::kBody, Phase::kDraining));
  }
  {  // A streamed body read to its end.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/all", "Content-Length: 5000\r\n") + std::string(5000, 'a')));
    ASSERT_TRUE(c.read_until("5000"));
    EXPECT_TRUE(saw(Phase::kBody, Phase::kStreaming));
    EXPECT_TRUE(saw(Phase::kStreaming, Phase::kHandling));
  }
  {  // Answered before the body: the rest is skipped, then the next request (alone, pipelined).
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/early", "Content-Length: 1000\r\n") + std::string(100, 'b')));
    ASSERT_TRUE(c.read_responses(1));
    EXPECT_TRUE(saw(Phase::kStreaming, Phase::kSkipping));
    ASSERT_TRUE(c.send(std::string(900, 'b')));
    EXPECT_TRUE(saw(Phase::kSkipping, Phase::kIdle));
    ASSERT_TRUE(c.send(head("POST", "/early", "Content-Length: 1000\r\n") + std::string(100, 'b')));
    ASSERT_TRUE(c.read_responses(2));
    ASSERT_TRUE(c.send(std::string(900, 'b') + head("GET", "/")));
    ASSERT_TRUE(c.read_responses(3));
    EXPECT_TRUE(saw(Phase::kSkipping, Phase::kHead));
  }
  {  // Skipping more than the budget: the connection drains instead.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/early", "Transfer-Encoding: chunked\r\n")));
    ASSERT_TRUE(c.read_responses(1));
    std::string piece = chunk(std::string(64 * 1024, 'c'));
    for (int i = 0; i < 20 && c.send(piece); ++i) {
    }
    EXPECT_TRUE(saw(Phase::kSkipping, Phase::kDraining));
  }
  {  // A bad chunk while skipping: the answer is out, so the connection just closes.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/early", "Transfer-Encoding: chunked\r\n")));
    ASSERT_TRUE(c.read_responses(1));
    ASSERT_TRUE(c.send("zz\r\n"));
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_TRUE(saw(Phase::kSkipping, Phase::kClosed));
  }
  {  // A streamed body over the route's limit, found while reading: 413.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/limited", "Transfer-Encoding: chunked\r\n") +
                       chunk(std::string(1500, 'd'))));
    ASSERT_TRUE(c.read_until("413"));
    EXPECT_TRUE(saw(Phase::kStreaming, Phase::kDraining));
  }
  {  // The client leaves mid-way through a streamed body.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("POST", "/all", "Content-Length: 100000\r\n") + std::string(10, 'e')));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(saw(Phase::kStreaming, Phase::kClosed));
  {  // The answer says close; a handler aborts.
    RawClient c(port);
    ASSERT_TRUE(c.send(head("GET", "/", "Connection: close\r\n")));
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_TRUE(saw(Phase::kHandling, Phase::kDraining));
    RawClient d(port);
    ASSERT_TRUE(d.send(head("GET", "/abort")));
    EXPECT_TRUE(d.closed_by_peer());
    EXPECT_TRUE(saw(Phase::kHandling, Phase::kClosed));
  }
  {  // Upgrade: the handler takes the socket and the bytes after the head.
    RawClient c(port);
    ASSERT_TRUE(
        c.send(head("GET", "/upgrade", "Upgrade: echo\r\nConnection: upgrade\r\n") + "early"));
    ASSERT_TRUE(c.read_until("\r\n\r\nearly"));
    EXPECT_EQ(c.buffer(), "HTTP/1.1 101 Switching Protocols\r\n\r\nearly");
    EXPECT_TRUE(saw(Phase::kHandling, Phase::kUpgraded));
    // Not the server's any more; the earlier blocks' clients have left, but the server may
    // not have read their EOF yet on a loaded machine: counted down within 3 s.
    EXPECT_TRUE(wait_until([&] { return server.stats().connections == 0; }, 3000));
    ASSERT_TRUE(c.send("later"));
    ASSERT_TRUE(c.read_until("later"));
    EXPECT_TRUE(wait_until([&] { return server.stats().active_requests == 0; }, 3000));
  }

  std::lock_guard lock(g_seen.mu);
  EXPECT_EQ(g_seen.illegal, 0);
  for (int f = 0; f < detail::kPhaseCount; ++f)
    for (int t = 0; t < detail::kPhaseCount; ++t) {
      auto from = static_cast<Phase>(f), to = static_cast<Phase>(t);
      if (!detail::legal_transition(from, to)) continue;
      EXPECT_TRUE(g_seen.moves.count({from, to}))
          << "never driven: " << detail::phase_name(from) << " -> " << detail::phase_name(to);
    }
}

}  // namespace connection_phases_test
}  // namespace brigade::http
