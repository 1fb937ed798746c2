#pragma once
// The routes the end-to-end tests talk to.
#include <atomic>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/task/sleep.hpp"

namespace brigade::http::testing {

inline std::atomic<int> g_handled{0};  // requests that reached the middleware chain

inline void add_test_routes(App& app) {
  app.use([](Req&, Res&) { ++g_handled; });
  app.after([](Req&, Res& res) {
    if (!res.headers_sent()) res.set("X-After", "1");
  });
  app.get("/", [](Req&, Res& res) { res.send("hello"); });
  app.get("/json", [](Req&, Res& res) { res.json({{"ok", true}, {"n", 7}}); });
  app.get("/users/:id", [](Req& req, Res& res) {
    res.json({{"id", std::string(req.param("id"))}, {"q", std::string(req.query("q"))}});
  });
  app.post("/echo", [](Req& req, Res& res) {
    res.set("X-Length", std::to_string(req.body().size()));
    res.send(req.body());
  });
  app.get("/stream", [](Req&, Res& res) -> Task<void> {
    for (int i = 0; i < 100; ++i) co_await res.write("chunk " + std::to_string(i) + "\n");
    res.end();
  });
  app.get("/big", [](Req&, Res& res) -> Task<void> {
    std::string piece(64 * 1024, 'x');
    for (int i = 0; i < 16; ++i) co_await res.write(piece);
    res.end();
  });
  app.get("/slow", [](Req& req, Res& res) -> Task<void> {
    std::string ms(req.query("ms"));
    co_await sleep(ms.empty() ? 200 : std::stoul(ms));
    res.send("slow");
  });
  app.get("/throw", [](Req&, Res&) { throw std::runtime_error("boom"); });
  app.get("/throw-async", [](Req&, Res&) -> Task<void> {
    co_await sleep(1);
    throw std::runtime_error("async boom");
  });
  app.get("/file", [](Req& req, Res& res) -> Task<void> {
    std::string path(req.query("path"));
    co_await res.send_file(std::move(path));
  });
  app.get("/nocontent", [](Req&, Res& res) { res.status(204).end(); });
  app.get("/files/*", [](Req& req, Res& res) { res.send(req.param("*")); });
}

}  // namespace brigade::http::testing
