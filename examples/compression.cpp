// Compression both ways, as Express with `compression` and body-parser:
//
//   app.use(compression());
//   app.get('/users', (req, res) => res.json(users));        // gzip, br... by Accept-Encoding
//   app.get('/clock', sse);                                  // each event flushed as it goes
//   app.post('/ingest', express.json(), (req, res) => res.json({ n: req.body.length }));
//
//   compression [--port N]     (0, the default, picks a free port)
// Try:
//   curl -s --compressed -D - -o /dev/null http://127.0.0.1:PORT/users     (Content-Encoding: br)
//   curl -s -H 'Accept-Encoding: gzip' http://127.0.0.1:PORT/users | gunzip | head -c 100
//   curl -sN --compressed http://127.0.0.1:PORT/clock           (an event a second, as they come)
//   echo '[1,2,3]' | gzip | curl -s -H 'Content-Encoding: gzip'
//     -H 'Content-Type: application/json' --data-binary @- http://127.0.0.1:PORT/ingest
//     (one command line)
#include "brigade/http/compression.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/event_stream.hpp"
#include "brigade/loop.hpp"

using namespace brigade;
using http::Req;
using http::Res;

int main(int argc, char** argv) {
  long port = 0;
  if (argc == 3 && std::strcmp(argv[1], "--port") == 0) {
    port = std::strtol(argv[2], nullptr, 10);
  } else if (argc != 1) {
    std::fprintf(stderr, "usage: compression [--port N]\n");
    return 2;
  }
  nlohmann::json users = nlohmann::json::array();
  for (int i = 0; i < 500; ++i) users.push_back({{"id", i}, {"name", "user " + std::to_string(i)}});

  Loop loop;
  http::App app;
  app.use(http::compression());  // buffered answers after the route, streamed ones as written
  app.get("/users", [&users](Req&, Res& res) { res.json(users); });
  app.get("/clock", [](Req&, Res& res) -> Task<void> {
    http::EventStream events = res.event_stream();
    do {
      co_await events.send(std::to_string(std::time(nullptr)), "tick");
    } while (co_await events.wait(1000));
  });
  app.post("/ingest", [](Req& req, Res& res) -> Task<void> {
    nlohmann::json batch = co_await req.json();  // a gzip/br/zstd body is decoded first
    res.json({{"n", batch.size()}});
  });
  http::Server server = app.listen(loop, "127.0.0.1", static_cast<uint16_t>(port));
  std::printf("compression example listening on http://127.0.0.1:%u (Ctrl-C stops)\n",
              server.port());
  std::fflush(stdout);
  loop.run();
}
