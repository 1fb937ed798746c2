// brigade's side of the HTTP application benchmarks (twin: bench/node/http_app.js), on
// http::App and its router:
//   GET /                  "Hello, World!" (the latency probe's target)
//   GET /json              a small JSON object through res.json (nlohmann)
//   GET /users/:id         awaits a 1 ms timer (the database stand-in), then JSON with the id
//   GET /heavy?n=N         naive fib(N) on a WorkerPool: the loop stays responsive
//   GET /heavy-loop?n=N    the same on the loop: it blocks
// Usage: http_app [--port N]   (binds 127.0.0.1; prints "listening on 127.0.0.1:PORT")
// Keep-alive timeout 10 min, so the idle-connection benchmark's connections stay open. The soft
// RLIMIT_NOFILE is raised to the hard limit first (10,000 idle connections need the fds).
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/worker/worker_pool.hpp"

using namespace brigade;
using http::Req;
using http::Res;
using nlohmann::json;

namespace {

uint64_t fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

unsigned fib_arg(const Req& req) {
  unsigned v = static_cast<unsigned>(std::atoi(std::string(req.query("n")).c_str()));
  return v > 45 ? 45 : v;
}

void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

void add_routes(http::App& app, WorkerPool& heavy) {
  app.get("/", [](Req&, Res& res) { res.type("text/plain").send("Hello, World!"); });
  app.get("/json", [](Req&, Res& res) {
    res.json({{"message", "Hello, World!"}, {"server", "brigade"}, {"version", 1}});
  });
  app.get("/users/:id", [](Req& req, Res& res) -> Task<void> {
    int64_t id = std::atoll(std::string(req.param("id")).c_str());
    co_await brigade::sleep(1);  // qualified: ::sleep(unsigned) is visible too
    res.json({{"id", id}, {"name", "user " + std::to_string(id)}});
  });
  app.get("/heavy", [&heavy](Req& req, Res& res) -> Task<void> {
    unsigned n = fib_arg(req);
    auto job = heavy.run([n] { return fib(n); });  // named: g++ 12 and temporaries in co_await
    uint64_t value = co_await job;
    res.json({{"n", n}, {"fib", value}});
  });
  app.get("/heavy-loop", [](Req& req, Res& res) {
    unsigned n = fib_arg(req);
    res.json({{"n", n}, {"fib", fib(n)}});
  });
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 8080;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = static_cast<uint16_t>(std::atoi(argv[++i]));
  }
  raise_fd_limit();
  Loop loop;
  PoolOptions po;
  po.min_threads = po.max_threads = 1;  // one job in flight at a time, as Node's one Worker
  WorkerPool heavy(loop, po);
  http::App app;
  add_routes(app, heavy);
  http::ServerOptions options;
  options.keep_alive_timeout_ms = 600'000;  // as the Node twin
  http::Server server = app.listen(loop, "127.0.0.1", port, options);
  std::printf("listening on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  loop.run();
}
