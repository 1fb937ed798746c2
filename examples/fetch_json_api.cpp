// A client calling a JSON API with a timeout, as one writes it with Node's fetch:
//
//   const res = await fetch(`${base}/users/1`, { signal: AbortSignal.timeout(2000) });
//   if (!res.ok) throw new Error(`HTTP ${res.status}`);
//   const user = await res.json();
//
// The program serves a small API on 127.0.0.1 itself (a slow route included), calls it
// concurrently through fetch on the same loop, and shows the timeout failing the slow call.
// Usage: fetch_json_api [BASE_URL]  (with a URL, it calls that server's /users/1 instead).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/client.hpp"
#include "brigade/http/fetch.hpp"
#include "brigade/task.hpp"

using namespace brigade;

static Task<nlohmann::json> get_json(http::Client& api, std::string url) {
  http::FetchOptions o;  // a named options object (g++ 12, see the README)
  o.timeout_ms = 500;
  o.headers.set("accept", "application/json");
  http::Response res = co_await api.fetch(std::move(url), o);
  if (!res.ok()) throw std::runtime_error("HTTP " + std::to_string(res.status()));
  co_return co_await res.json();
}

static Task<void> call_api(http::Client& api, std::string base) {
  auto user = get_json(api, base + "/users/1");
  auto status = get_json(api, base + "/status");
  auto [u, s] = co_await when_all(std::move(user), std::move(status));  // both in flight at once
  std::printf("user: %s\nstatus: %s\n", u.dump().c_str(), s.dump().c_str());
  try {
    co_await get_json(api, base + "/slow");
  } catch (const TimeoutError& e) {
    std::printf("slow call: %s\n", e.what());
  }
}

int main(int argc, char** argv) {
  Loop loop;
  http::ClientOptions co;
  co.max_connections_per_origin = 4;
  co.default_headers.set("x-client", "fetch_json_api");
  http::Client api(loop, co);
  if (argc > 1) {
    run(loop, [&]() -> Task<void> {
      nlohmann::json user = co_await get_json(api, std::string(argv[1]) + "/users/1");
      std::printf("%s\n", user.dump(2).c_str());
    }());
    return 0;
  }

  http::App app;
  app.get("/users/:id", [](http::Req& req, http::Res& res) {
    res.json({{"id", std::string(req.param("id"))}, {"name", "Ada"}});
  });
  app.get("/status", [](http::Req& req, http::Res& res) {
    res.json({{"ok", true}, {"client", std::string(req.header("x-client"))}});
  });
  app.get("/slow", [](http::Req&, http::Res& res) -> Task<void> {
    co_await brigade::sleep(2000);
    res.json({{"late", true}});
  });
  http::Server server = app.listen(loop, "127.0.0.1", 0);
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  run(loop, [&]() -> Task<void> {
    co_await call_api(api, base);
    server.close_all_connections();
    server.close();
  }());
  return 0;
}
