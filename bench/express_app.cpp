// brigade's side of the Express benchmarks (twin: bench/node/express_app.js, Express 4):
//   POST /echo             a JSON body parsed (req.json(), Express's express.json()) and sent
//                          back with res.json
//   GET  /static/<file>    files under --root through http::serve_static (express.static)
//   GET  /gzip             a ~100 KiB JSON document through http::compression (Express +
//                          `compression`), gzip level 6 as zlib's default
// Usage: express_app --root DIR [--port N]  (binds 127.0.0.1; prints "listening on
// 127.0.0.1:PORT")
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/compression.hpp"
#include "brigade/http/static_files.hpp"
#include "brigade/loop/loop.hpp"

using namespace brigade;
using http::Req;
using http::Res;

int main(int argc, char** argv) {
  uint16_t port = 8080;
  std::string root = ".";
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0)
      port = static_cast<uint16_t>(std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--root") == 0)
      root = argv[++i];
  }
  Loop loop;
  http::App app;
  app.post("/echo", [](Req& req, Res& res) -> Task<void> {
    nlohmann::json body = co_await req.json();
    res.json(body);
  });
  // The same document as the twin's: 1450 users, ~100 KiB serialized, made again per request.
  nlohmann::json users = nlohmann::json::array();
  for (int i = 0; i < 1450; ++i)
    users.push_back({{"id", i},
                     {"name", "user " + std::to_string(i)},
                     {"email", "user" + std::to_string(i) + "@example.com"},
                     {"active", i % 3 == 0}});
  nlohmann::json doc = {{"users", users}};
  app.use("/gzip", http::compression());
  app.get("/gzip", [&doc](Req&, Res& res) { res.json(doc); });
  http::StaticOptions files;  // named: g++ 12 warns on the default argument's temporary
  app.use("/static", http::serve_static(root, files));
  http::Server server = app.listen(loop, "127.0.0.1", port);
  std::printf("listening on 127.0.0.1:%u\n", server.port());
  std::fflush(stdout);
  loop.run();
}
