// Server-Sent Events (res.event_stream()): a clock that ticks once a second to every client,
// resumes from the Last-Event-ID a reconnecting EventSource sends, sends heartbeats to keep
// proxies from timing the stream out, and ends when the client goes or the server closes
// (SIGINT: a graceful close ends the streams first). Try: curl -N http://127.0.0.1:8081/clock
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "brigade/http/app.hpp"
#include "brigade/http/event_stream.hpp"
#include "brigade/loop/signal.hpp"

using namespace brigade;
using http::Req;
using http::Res;

int main() {
  Loop loop;
  http::App app;
  app.get("/clock", [](Req&, Res& res) -> Task<void> {
    http::EventStream events = res.event_stream({.heartbeat_ms = 15000, .retry_ms = 2000});
    uint64_t id = std::strtoull(events.last_event_id().c_str(), nullptr, 10);  // 0 if none
    while (co_await events.wait(1000)) {
      std::string now = std::to_string(std::time(nullptr));
      std::string next = std::to_string(++id);
      co_await events.send(now, "tick", next);
    }
    std::printf("a clock stream ended after %llu ticks\n", static_cast<unsigned long long>(id));
  });
  http::Server server = app.listen(loop, "127.0.0.1", 8081);
  std::printf("curl -N http://127.0.0.1:%u/clock   (Ctrl-C closes gracefully)\n", server.port());
  std::fflush(stdout);
  SignalWatcher stop(loop, SIGINT, [&server](int) { server.close(); });
  loop.run();
}
