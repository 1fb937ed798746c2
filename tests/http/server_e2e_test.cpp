// End to end over raw sockets: pipelining, 100-continue, chunked both ways, HEAD, keep-alive
// limits, timeouts, malformed input, errors and graceful close.
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <vector>

#include "test_app.hpp"
#include "test_server.hpp"

namespace brigade::http::testing {
namespace server_e2e_test {

using namespace std::chrono_literals;

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

TEST(HttpServer, PipelinedRequestsAnsweredInOrder) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get("/users/1") + get("/slow?ms=50") + get("/users/2") + get("/")));
  ASSERT_TRUE(c.read_responses(4));
  const std::string& b = c.buffer();
  std::size_t a = b.find("\"id\":\"1\""), sl = b.find("slow"), d = b.find("\"id\":\"2\""),
              h = b.find("hello");
  ASSERT_NE(a, std::string::npos) << b;
  ASSERT_NE(h, std::string::npos);
  EXPECT_LT(a, sl);
  EXPECT_LT(sl, d);
  EXPECT_LT(d, h);
  EXPECT_EQ(count_of(b, "HTTP/1.1 200 OK"), 4);
  EXPECT_EQ(count_of(b, "X-After: 1"), 4);
}

TEST(HttpServer, DeepPipelineInOneWrite) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  std::string batch;
  for (int i = 0; i < 64; ++i) batch += get("/");
  ASSERT_TRUE(c.send(batch));
  ASSERT_TRUE(c.read_responses(64));
  EXPECT_EQ(count_of(c.buffer(), "hello"), 64);
}

TEST(HttpServer, ExpectContinueBeforeBody) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  EXPECT_EQ(c.buffer(), "HTTP/1.1 100 Continue\r\n\r\n");
  c.buffer().clear();
  ASSERT_TRUE(c.send("abcde"));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_NE(c.buffer().find("200 OK"), std::string::npos);
  EXPECT_NE(c.buffer().find("\r\n\r\nabcde"), std::string::npos);
}

TEST(HttpServer, ChunkedRequestBodyAndChunkedResponse) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_NE(c.buffer().find("X-Length: 11"), std::string::npos);
  EXPECT_NE(c.buffer().find("hello world"), std::string::npos);
  c.buffer().clear();
  ASSERT_TRUE(c.send(get("/stream")));
  ASSERT_TRUE(c.read_until("0\r\n\r\n"));
  EXPECT_NE(c.buffer().find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(c.buffer().find("8\r\nchunk 0\n\r\n"), std::string::npos);
  EXPECT_NE(c.buffer().find("9\r\nchunk 99\n\r\n0\r\n\r\n"), std::string::npos);
  c.buffer().clear();
  ASSERT_TRUE(c.send(get("/")));  // the connection is still in step
  ASSERT_TRUE(c.read_responses(1));
  EXPECT_NE(c.buffer().find("hello"), std::string::npos);
}

TEST(HttpServer, HeadHasLengthButNoBody) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/json")));
  ASSERT_TRUE(c.read_until("\"ok\":true"));
  const std::string& b = c.buffer();
  std::size_t first_end = b.find("\r\n\r\n");
  EXPECT_NE(b.substr(0, first_end).find("Content-Length: 5"), std::string::npos);
  EXPECT_EQ(b.compare(first_end + 4, 8, "HTTP/1.1"), 0);  // no "hello" after the head
}

TEST(HttpServer, NoContentHasNoLength) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get("/nocontent") + get("/")));
  ASSERT_TRUE(c.read_until("hello"));
  std::string first = c.buffer().substr(0, c.buffer().find("\r\n\r\n"));
  EXPECT_NE(first.find("204 No Content"), std::string::npos);
  EXPECT_EQ(first.find("Content-Length"), std::string::npos);
}

TEST(HttpServer, ConnectionCloseAndHttp10) {
  TestServer s(add_test_routes);
  {
    RawClient c(s.port());
    ASSERT_TRUE(c.send(get("/", "Connection: close\r\n")));
    ASSERT_TRUE(c.read_to_eof());
    EXPECT_NE(c.buffer().find("Connection: close"), std::string::npos);
    EXPECT_NE(c.buffer().find("hello"), std::string::npos);
  }
  {
    RawClient c(s.port());
    ASSERT_TRUE(c.send("GET / HTTP/1.0\r\n\r\n"));
    ASSERT_TRUE(c.read_to_eof());  // 1.0 without keep-alive: closed after the answer
    EXPECT_NE(c.buffer().find("hello"), std::string::npos);
  }
  {
    RawClient c(s.port());
    ASSERT_TRUE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    ASSERT_TRUE(c.read_responses(1));
    EXPECT_NE(c.buffer().find("Connection: keep-alive"), std::string::npos);
  }
}

TEST(HttpServer, MaxRequestsPerSocket) {
  ServerOptions o;
  o.max_requests_per_socket = 2;
  TestServer s(add_test_routes, o);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get("/") + get("/") + get("/")));
  ASSERT_TRUE(c.read_to_eof());
  EXPECT_EQ(count_of(c.buffer(), "hello"), 2);
  EXPECT_EQ(count_of(c.buffer(), "Connection: close"), 1);
}

TEST(HttpServer, MalformedRequestsGetStatusAndClose) {
  ServerOptions o;
  o.max_body_size = 1000;
  TestServer s(add_test_routes, o);
  struct Case {
    std::string bytes;
    const char* status;
  };
  std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", "400"},
      {"GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", "400"},
      {"GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "431"},
      {"GET /" + std::string(17000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", "431"},  // Node's
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", "413"},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501"},
      {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", "505"},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       "400"},
  };
  int before = g_handled.load();
  for (const Case& k : cases) {
    RawClient c(s.port());
    ASSERT_TRUE(c.send(k.bytes));
    ASSERT_TRUE(c.read_to_eof()) << k.status;
    EXPECT_EQ(c.buffer().rfind(std::string("HTTP/1.1 ") + k.status, 0), 0u) << c.buffer();
    EXPECT_NE(c.buffer().find("Connection: close"), std::string::npos);
  }
  EXPECT_EQ(g_handled.load(), before);  // nothing reached a handler
  EXPECT_EQ(s.stats().bad_requests, cases.size());
}

// Node's only limit on the head is its size (16 KiB): a 12 KB request line is served. A
// request-line limit of its own is an option (414 beyond).
TEST(HttpServer, LongRequestLineFollowsNodeUnlessLimited) {
  std::string target = "/files/" + std::string(12 * 1024, 'a');
  {
    TestServer s(add_test_routes);
    RawClient c(s.port());
    ASSERT_TRUE(c.send(get(target)));
    ASSERT_TRUE(c.read_responses(1));
    EXPECT_EQ(c.buffer().rfind("HTTP/1.1 200 OK", 0), 0u) << c.buffer().substr(0, 200);
    EXPECT_NE(c.buffer().find(std::string(12 * 1024, 'a')), std::string::npos);
  }
  ServerOptions o;
  o.max_request_line = 8 * 1024;
  TestServer s(add_test_routes, o);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get(target)));
  ASSERT_TRUE(c.read_to_eof());
  EXPECT_EQ(c.buffer().rfind("HTTP/1.1 414 ", 0), 0u) << c.buffer().substr(0, 200);
  RawClient under(s.port());
  ASSERT_TRUE(under.send(get("/files/" + std::string(8000, 'b'))));
  ASSERT_TRUE(under.read_responses(1));
  EXPECT_EQ(under.buffer().rfind("HTTP/1.1 200 OK", 0), 0u);
}

// The read buffer starts small and grows (a head, a pipelined batch, a body after its head):
// the head's views follow it, whatever the sizes and however the bytes were split.
TEST(HttpServer, HeadersSurviveTheReadBufferGrowing) {
  TestServer s([](App& app) {
    app.post("/h", [](Req& req, Res& res) {
      res.send(std::string(req.header("X-Tag")) + "|" +
               std::string(req.header("X-Pad")).substr(0, 3) + "|" +
               std::to_string(req.body().size()) + "|" + std::string(req.path()));
    });
  });
  for (std::size_t pad : {10, 700, 900, 1000, 3000, 15000}) {
    for (std::size_t body : {0, 5, 20000}) {
      std::string one = "POST /h HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(pad, 'p') +
                        "\r\nX-Tag: tag" + std::to_string(pad) +
                        "\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n" +
                        std::string(body, 'b');
      std::string want = "tag" + std::to_string(pad) + "|" + (pad ? "ppp" : "") + "|" +
                         std::to_string(body) + "|/h";
      RawClient whole(s.port());  // three at once, then the same in small pieces
      ASSERT_TRUE(whole.send(one + one + one));
      ASSERT_TRUE(whole.read_responses(3)) << pad << " " << body;
      EXPECT_EQ(count_of(whole.buffer(), want), 3) << whole.buffer().substr(0, 300);
      RawClient pieces(s.port());
      for (std::size_t at = 0; at < one.size(); at += 700) {
        ASSERT_TRUE(pieces.send(std::string_view(one).substr(at, 700)));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      ASSERT_TRUE(pieces.read_responses(1));
      EXPECT_EQ(count_of(pieces.buffer(), want), 1) << pieces.buffer().substr(0, 300);
    }
  }
}

TEST(HttpServer, ThrowingHandlerGives500AndConnectionStaysUsable) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get("/throw") + get("/") + get("/throw-async") + get("/json")));
  ASSERT_TRUE(c.read_responses(4));
  const std::string& b = c.buffer();
  EXPECT_EQ(count_of(b, "500 Internal Server Error"), 2);
  EXPECT_NE(b.find("hello"), std::string::npos);
  EXPECT_NE(b.find("\"ok\":true"), std::string::npos);
}

TEST(HttpServer, NotFoundAndMethodNotAllowed) {
  TestServer s(add_test_routes);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get("/nope") + "DELETE /json HTTP/1.1\r\nHost: t\r\n\r\n" +
                     "BREW / HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.read_responses(3));
  EXPECT_NE(c.buffer().find("404 Not Found"), std::string::npos);
  EXPECT_NE(c.buffer().find("405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_NE(c.buffer().find("501 Not Implemented"), std::string::npos);
}

TEST(HttpServer, KeepAliveTimeoutClosesIdleConnection) {
  ServerOptions o;
  o.keep_alive_timeout_ms = 150;
  TestServer s(add_test_routes, o);
  RawClient c(s.port());
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.read_responses(1));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 2500ms);
}

TEST(HttpServer, SlowlorisIsCutOffWhileOthersAreServed) {
  ServerOptions o;
  o.headers_timeout_ms = 300;
  TestServer s(add_test_routes, o);
  RawClient slow(s.port(), 5000);
  ASSERT_TRUE(slow.send("GET / HTTP/1.1\r\n"));
  auto t0 = std::chrono::steady_clock::now();
  bool cut = false;
  int served = 0;
  for (int i = 0; i < 100 && !cut; ++i) {  // a header byte every 20 ms, never the end
    if (!slow.send("X")) cut = true;
    RawClient normal(s.port());
    if (normal.send(get("/")) && normal.read_responses(1)) ++served;
    std::this_thread::sleep_for(20ms);
    pollfd p{slow.fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) cut = true;
  }
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(cut);
  EXPECT_LT(waited, 1500ms);
  EXPECT_GT(served, 5);
  slow.read_to_eof();
  EXPECT_EQ(slow.buffer().rfind("HTTP/1.1 408", 0), 0u) << slow.buffer();
  EXPECT_GE(s.stats().timeouts, 1u);
}

TEST(HttpServer, GracefulCloseFinishesInFlightRequest) {
  TestServer s(add_test_routes);
  RawClient idle(s.port());
  ASSERT_TRUE(idle.send(get("/")));
  ASSERT_TRUE(idle.read_responses(1));
  RawClient busy(s.port());
  ASSERT_TRUE(busy.send(get("/slow?ms=300")));
  std::this_thread::sleep_for(100ms);
  std::promise<void> closed;
  s.on_loop([&](Server& srv) {
    srv.close([&] { closed.set_value(); });
    return 0;
  });
  EXPECT_TRUE(idle.closed_by_peer());  // the idle keep-alive connection goes at once
  ASSERT_TRUE(busy.read_to_eof());     // the request in flight is answered, then closed
  EXPECT_NE(busy.buffer().find("slow"), std::string::npos);
  EXPECT_NE(busy.buffer().find("Connection: close"), std::string::npos);
  EXPECT_EQ(closed.get_future().wait_for(2s), std::future_status::ready);
  RawClient late(s.port());
  EXPECT_FALSE(late.connected());  // no longer accepting
}

TEST(HttpServer, GracefulCloseServesARequestFromAConnectionMadeJustBefore) {
  TestServer s(add_test_routes);
  RawClient fresh(s.port());   // accepted, nothing sent yet
  RawClient silent(s.port());  // never sends: goes after the grace
  ASSERT_TRUE(fresh.connected() && silent.connected());
  std::this_thread::sleep_for(50ms);
  std::promise<void> closed;
  s.on_loop([&](Server& srv) {
    srv.close([&] { closed.set_value(); });
    return 0;
  });
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(fresh.send(get("/")));
  ASSERT_TRUE(fresh.read_to_eof());
  EXPECT_EQ(fresh.buffer().rfind("HTTP/1.1 200 OK", 0), 0u) << fresh.buffer();
  EXPECT_NE(fresh.buffer().find("Connection: close"), std::string::npos);
  EXPECT_TRUE(silent.closed_by_peer());
  EXPECT_EQ(silent.buffer(), "");
  EXPECT_EQ(closed.get_future().wait_for(5s), std::future_status::ready);
}

TEST(HttpServer, StreamedBodyWithBackpressureArrivesWhole) {
  TestServer s(add_test_routes);
  RawClient c(s.port(), 5000);
  ASSERT_TRUE(c.send(get("/big")));
  std::this_thread::sleep_for(100ms);  // let the server fill the socket and wait
  ASSERT_TRUE(c.read_until("\r\n0\r\n\r\n"));
  EXPECT_EQ(count_of(c.buffer(), "10000\r\n"), 16);  // 16 chunks of 64 KiB
}

TEST(HttpServer, IdleKeepAliveConnectionsCostUnderOneKiB) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "mallinfo2 does not see AddressSanitizer's allocator";
#endif
  TestServer s(add_test_routes);
  constexpr int kConns = 300;
  std::vector<std::unique_ptr<RawClient>> warm;
  warm.push_back(std::make_unique<RawClient>(s.port()));  // warms the pools (exchange, timers)
  ASSERT_TRUE(warm[0]->send(get("/")));
  ASSERT_TRUE(warm[0]->read_responses(1));
  std::this_thread::sleep_for(50ms);
  std::size_t before = mallinfo2().uordblks;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kConns; ++i) {
    clients.push_back(std::make_unique<RawClient>(s.port()));
    ASSERT_TRUE(clients.back()->send(get("/")));
  }
  for (auto& c : clients) ASSERT_TRUE(c->read_responses(1));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(s.stats().connections, static_cast<std::size_t>(kConns) + 1);
  std::size_t after = mallinfo2().uordblks;
  double per_conn = (double(after) - double(before)) / kConns;
  std::printf("heap per idle keep-alive connection: %.0f bytes\n", per_conn);
  EXPECT_LT(per_conn, 1024.0);
}

}  // namespace server_e2e_test
}  // namespace brigade::http::testing
