#include "brigade/http/fetch.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brigade/error.hpp"
#include "brigade/http/app.hpp"
#include "brigade/http/client.hpp"
#include "brigade/task.hpp"
#include "fetch_support.hpp"

using namespace brigade;
using namespace brigade::http;

namespace {

// Routes on the test's own loop: the client and the server share it.
void add_routes(App& app) {
  app.get("/json", [](Req&, Res& res) { res.json({{"ok", true}, {"n", 7}}); });
  app.post("/echo", [](Req& req, Res& res) {
    res.set("X-Method", "POST");
    res.set("X-Auth", std::string(req.header("authorization")));
    res.set("X-Type", std::string(req.header("content-type")));
    res.send(req.body());
  });
  app.put("/echo", [](Req& req, Res& res) { res.set("X-Method", "PUT").send(req.body()); });
  app.get("/r/:n", [](Req& req, Res& res) {
    int n = std::stoi(std::string(req.param("n")));
    if (n == 0) return res.json({{"arrived", true}});
    res.status(302).set("Location", "/r/" + std::to_string(n - 1)).end();
  });
  app.post("/see-other", [](Req&, Res& res) { res.status(303).set("Location", "/json").end(); });
  app.get("/loop", [](Req&, Res& res) { res.status(301).set("Location", "/loop").end(); });
  app.get("/big", [](Req&, Res& res) -> Task<void> {
    std::string piece(64 * 1024, 'x');
    for (int i = 0; i < 16; ++i) co_await res.write(piece);
    res.end();
  });
  app.get("/sized", [](Req&, Res& res) { res.send(std::string(200 * 1024, 's')); });
  app.get("/fat-header",
          [](Req&, Res& res) { res.set("X-Fat", std::string(20000, 'h')).send("x"); });
  app.get("/slow", [](Req& req, Res& res) -> Task<void> {
    co_await brigade::sleep(std::stoul(std::string(req.query("ms"))));
    res.send("slow");
  });
  app.get("/drip", [](Req&, Res& res) -> Task<void> {
    for (int i = 0; i < 100; ++i) {
      co_await res.write("drop " + std::to_string(i) + "\n");
      co_await brigade::sleep(10);
    }
    res.end();
  });
}

struct Fixture {
  Loop loop;
  App app;
  Server server;
  Fixture() : server((add_routes(app), app.listen(loop, "127.0.0.1", 0))) {}
  // Handlers still sleeping for a client that gave up (/slow, /drip) run to their end: a loop
  // destroyed under them would leak their frames.
  ~Fixture() {
    server.close_all_connections();
    server.close();
    loop.run();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }
  template <typename T>
  T run_task(Task<T> t) {
    auto wrapped = [](Task<T> inner, Server& s) -> Task<T> {
      struct Close {
        Server& s;
        ~Close() { s.close(); }
      } close{s};
      co_return co_await std::move(inner);
    };
    return brigade::run(loop, wrapped(std::move(t), server));
  }
};

template <typename E, typename F>
E expect_throw(Loop& loop, F make_task) {
  try {
    brigade::run(loop, make_task());
  } catch (const E& e) {
    return e;
  }
  ADD_FAILURE() << "no exception of the expected type";
  throw std::runtime_error("no exception");
}

}  // namespace

TEST(Fetch, CurlHasTheThreadedResolver) {
  // DNS must never block the loop: fetch refuses a libcurl without it (see client.cpp).
  EXPECT_TRUE(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS);
}

TEST(Fetch, JsonFromBrigadeServerOnTheSameLoop) {
  Fixture f;
  auto body = f.run_task([&]() -> Task<nlohmann::json> {
    Response res = co_await fetch(f.url("/json"));
    EXPECT_EQ(res.status(), 200);
    EXPECT_TRUE(res.ok());
    EXPECT_EQ(res.status_text(), "OK");
    EXPECT_NE(res.headers().get("Content-Type").find("application/json"), std::string::npos);
    EXPECT_FALSE(res.redirected());
    co_return co_await res.json();
  }());
  EXPECT_EQ(body["n"], 7);
}

TEST(Fetch, PostPutBodiesAndHeaders) {
  Fixture f;
  ClientOptions co;
  co.default_headers.set("Authorization", "Bearer default");
  Client client(f.loop, co);
  f.run_task([&]() -> Task<void> {
    FetchOptions o;
    o.method = "POST";
    o.body = "hello body";
    Response res = co_await client.fetch(f.url("/echo"), o);
    EXPECT_EQ(res.headers().get("x-auth"), "Bearer default");
    EXPECT_EQ(res.headers().get("x-type"), "text/plain;charset=UTF-8");
    EXPECT_EQ(co_await res.text(), "hello body");

    FetchOptions put;
    put.method = "PUT";
    put.body = R"({"a":1})";
    put.headers.set("content-type", "application/json");
    put.headers.set("authorization", "Bearer mine");  // over the client's default
    Response r2 = co_await client.fetch(f.url("/echo"), put);
    EXPECT_EQ(r2.headers().get("x-method"), "PUT");
    EXPECT_EQ(co_await r2.text(), R"({"a":1})");

    FetchOptions bad;
    bad.body = "GET with a body";
    bool threw = false;
    try {
      co_await client.fetch(f.url("/json"), bad);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
  }());
}

TEST(Fetch, FollowsRedirectsAndReportsLoopsAndModes) {
  Fixture f;
  f.run_task([&]() -> Task<void> {
    Response res = co_await fetch(f.url("/r/3"));
    EXPECT_EQ(res.status(), 200);
    EXPECT_TRUE(res.redirected());
    EXPECT_EQ(res.url(), f.url("/r/0"));
    EXPECT_EQ((co_await res.json())["arrived"], true);

    FetchOptions post;  // 303: POST becomes GET
    post.method = "POST";
    post.body = "x";
    Response seen = co_await fetch(f.url("/see-other"), post);
    EXPECT_EQ((co_await seen.json())["n"], 7);

    FetchOptions manual;
    manual.redirect = Redirect::kManual;
    Response m = co_await fetch(f.url("/r/2"), manual);
    EXPECT_EQ(m.status(), 302);
    EXPECT_EQ(m.headers().get("location"), "/r/1");

    for (int mode = 0; mode < 3; ++mode) {
      FetchOptions o;
      std::string url = f.url("/loop");
      if (mode == 1) {
        o.redirect = Redirect::kError;
        url = f.url("/r/1");
      } else if (mode == 2) {
        o.max_redirects = 2;
        url = f.url("/r/3");
      }
      try {
        co_await fetch(url, o);
        ADD_FAILURE() << "mode " << mode << ": no error";
      } catch (const FetchError& e) {
        EXPECT_EQ(e.kind(), FetchError::Kind::kRedirect) << e.what();
      }
    }
  }());
}

TEST(Fetch, StreamedBodyHasBackpressure) {
  Fixture f;
  ClientOptions co;
  co.body_buffer_size = 16 * 1024;
  Client client(f.loop, co);
  f.run_task([&]() -> Task<void> {
    Response res = co_await client.fetch(f.url("/big"));
    std::size_t total = 0, largest = 0, chunks = 0;
    for (;;) {
      co_await brigade::sleep(chunks < 8 ? 20
                                         : 0);  // a slow reader first: the body must wait for it
      std::string chunk = co_await res.read_chunk();
      if (chunk.empty()) break;
      total += chunk.size();
      largest = std::max(largest, chunk.size());
      ++chunks;
    }
    EXPECT_EQ(total, 16u * 64 * 1024);
    // Without the pause, a 20 ms nap would collect everything the server sent meanwhile.
    EXPECT_LE(largest, 2u * CURL_MAX_WRITE_SIZE);
    EXPECT_EQ(client.in_flight(), 0u);
  }());
}

TEST(Fetch, SizeCapsFailClearly) {
  Fixture f;
  ClientOptions co;
  co.max_response_size = 100 * 1024;
  co.max_header_size = 16 * 1024;
  Client client(f.loop, co);
  f.run_task([&]() -> Task<void> {
    for (const char* path : {"/big", "/sized", "/fat-header"}) {
      try {
        Response res = co_await client.fetch(f.url(path));
        co_await res.text();
        ADD_FAILURE() << path << ": no error";
      } catch (const FetchError& e) {
        EXPECT_EQ(e.kind(), FetchError::Kind::kTooLarge) << path << ": " << e.what();
      }
    }
    Response ok = co_await client.fetch(f.url("/json"));  // the client is still fine
    EXPECT_EQ(ok.status(), 200);
  }());
}

TEST(Fetch, TimeoutAndCancel) {
  Fixture f;
  f.run_task([&]() -> Task<void> {
    auto start = std::chrono::steady_clock::now();
    FetchOptions o;
    o.timeout_ms = 100;
    try {
      co_await fetch(f.url("/slow?ms=1500"), o);
      ADD_FAILURE() << "no timeout";
    } catch (const TimeoutError&) {
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1400));

    // Stopped while waiting for the head.
    std::stop_source before_head;
    FetchOptions c;
    c.signal = before_head.get_token();
    f.loop.set_timeout(50, [&] { before_head.request_stop(); });
    start = std::chrono::steady_clock::now();
    try {
      co_await fetch(f.url("/slow?ms=1500"), c);
      ADD_FAILURE() << "not cancelled";
    } catch (const CancelledError&) {
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1400));

    // Stopped mid-download: the next read fails, the transfer is gone.
    std::stop_source mid;
    FetchOptions d;
    d.signal = mid.get_token();
    Response res = co_await fetch(f.url("/drip"), d);
    std::string first = co_await res.read_chunk();
    EXPECT_EQ(first.substr(0, 6), "drop 0");
    mid.request_stop();
    bool cancelled = false;
    try {
      for (;;)
        if ((co_await res.read_chunk()).empty()) break;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(Client::shared(f.loop).in_flight(), 0u);

    std::stop_source already;
    already.request_stop();
    FetchOptions e;
    e.signal = already.get_token();
    bool refused = false;
    try {
      co_await fetch(f.url("/json"), e);
    } catch (const CancelledError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
  }());
}

TEST(Fetch, DroppedResponseAndClosedClientFreeTheTransfer) {
  Fixture f;
  auto client = std::make_unique<Client>(f.loop);
  f.run_task([&]() -> Task<void> {
    {
      Response res = co_await client->fetch(f.url("/drip"));
      EXPECT_EQ(client->in_flight(), 1u);
    }  // dropped mid-body
    EXPECT_EQ(client->in_flight(), 0u);

    f.loop.set_timeout(30, [&] { client.reset(); });
    try {
      co_await client->fetch(f.url("/slow?ms=1500"));
      ADD_FAILURE() << "no error";
    } catch (const FetchError& e) {
      EXPECT_EQ(e.kind(), FetchError::Kind::kClosed);
    }
  }());
}

TEST(Fetch, NetworkErrorsAndBadUrls) {
  Loop loop;
  // A port nobody listens on: bind one, note it, close it.
  Server probe = App().listen(loop, "127.0.0.1", 0);
  std::string closed = "http://127.0.0.1:" + std::to_string(probe.port()) + "/";
  probe.close();
  auto e = expect_throw<FetchError>(loop, [&]() -> Task<void> { co_await fetch(closed); });
  EXPECT_EQ(e.kind(), FetchError::Kind::kNetwork);
  EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  auto p =
      expect_throw<FetchError>(loop, [&]() -> Task<void> { co_await fetch("ftp://127.0.0.1/x"); });
  EXPECT_EQ(p.kind(), FetchError::Kind::kProtocol) << p.what();
  expect_throw<FetchError>(loop, [&]() -> Task<void> { co_await fetch("http://"); });
}

TEST(Fetch, ManyInFlightShareFewConnections) {
  Fixture f;
  ClientOptions co;
  co.max_connections_per_origin = 4;
  Client client(f.loop, co);
  f.run_task([&]() -> Task<void> {
    std::vector<Task<int>> all;
    for (int i = 0; i < 50; ++i)
      all.push_back([](Client& c, std::string url) -> Task<int> {
        Response r = co_await c.fetch(url);
        nlohmann::json j = co_await r.json();
        co_return j["n"].get<int>();
      }(client, f.url("/json")));
    std::vector<int> ns = co_await when_all(std::move(all));
    int sum = 0;
    for (int n : ns) sum += n;
    EXPECT_EQ(sum, 50 * 7);
  }());
  EXPECT_LE(f.server.stats().accepted, 4u);
}

// A request body pulled piece by piece from a coroutine: sent chunked (or with the caller's
// content-length), each piece only when the source has made it; a source that throws fails the
// fetch with its exception.
TEST(Fetch, RequestBodyStreamedFromACoroutine) {
  Fixture f;
  f.app.post("/framing", [](Req& req, Res& res) {
    res.json({{"te", std::string(req.header("transfer-encoding"))},
              {"length", std::string(req.header("content-length"))},
              {"body", std::string(req.body())}});
  });
  f.run_task([&]() -> Task<void> {
    int made = 0;
    FetchOptions o;
    o.method = "POST";
    o.body_stream = [&made]() -> Task<std::string> {
      co_await brigade::sleep(5);  // the pieces take time to make
      if (made == 5) co_return "";
      co_return "piece " + std::to_string(made++) + ";";
    };
    Response res = co_await fetch(f.url("/framing"), o);
    nlohmann::json j = co_await res.json();
    EXPECT_EQ(j["te"], "chunked");
    EXPECT_EQ(j["body"], "piece 0;piece 1;piece 2;piece 3;piece 4;");
    EXPECT_EQ(made, 5);

    std::string big(200000, 'z');  // larger than curl's upload buffer, with a length
    bool sent = false;
    FetchOptions put;
    put.method = "PUT";
    put.headers.set("content-length", std::to_string(big.size()));
    put.body_stream = [&]() -> Task<std::string> {
      co_return std::exchange(sent, true) ? std::string() : big;
    };
    Response echoed = co_await fetch(f.url("/echo"), put);
    EXPECT_EQ(echoed.headers().get("x-method"), "PUT");
    EXPECT_TRUE(co_await echoed.text() == big);

    FetchOptions bad;
    bad.method = "POST";
    bad.body_stream = []() -> Task<std::string> {
      co_await brigade::sleep(1);
      throw std::runtime_error("the source failed");
    };
    try {
      co_await fetch(f.url("/echo"), bad);
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "the source failed");
    }
    EXPECT_EQ(Client::shared(f.loop).in_flight(), 0u);
  }());
}
