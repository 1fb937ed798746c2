// Structured logs (pino's model): JSON lines written off the loop by one thread, each carrying
// the request id bound to the task that logs it (AsyncLocal), and the loop's own reports (a
// blocked loop) in the same stream. Try: BRIGADE_LOG_FORMAT=pretty, BRIGADE_LOG_LEVEL=debug.
#include "brigade/log/log.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

Task<void> handle(int user) {
  log::info("request started", {{"user", user}});
  co_await brigade::sleep(5);  // other requests run meanwhile; each line keeps its own id
  log::debug("cache miss", {{"key", "user:" + std::to_string(user)}});
  log::info("request done", {{"user", user}, {"status", 200}});
}

int main() {
  Loop loop;
  for (int i = 1; i <= 3; ++i)
    spawn(log::request_id.run("req-" + std::to_string(i), handle(i)), "request");
  loop.set_timeout(20, [] {
    uint64_t until = Loop::hrtime() + 150'000'000u;  // hold the loop: a blocked-loop warning
    while (Loop::hrtime() < until) {
    }
  });
  loop.run();
  log::info("done", {{"lines_dropped", log::stats().dropped}});
}
