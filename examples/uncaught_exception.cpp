// Exceptions escaping callbacks, Node's rule: with a handler (process.on('uncaughtException'))
// each is reported with its origin and the loop goes on; without one the process prints it and
// exits with code 1. A spawned task's unhandled rejection reaches the same handler.
// A blocked loop is reported with the name of the task that held it.
#include <cstdio>
#include <stdexcept>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

int main() {
  brigade::Loop loop;
  loop.on_uncaught_exception([](std::exception_ptr e, const char* origin) {
    std::printf("caught in %s: %s\n", origin, brigade::describe_exception(e).c_str());
  });
  loop.set_timeout(10, [] { throw std::runtime_error("boom"); });
  loop.set_timeout(20, [] { std::puts("the loop went on"); });
  brigade::spawn(
      []() -> brigade::Task<void> {
        co_await brigade::sleep(30);
        throw std::runtime_error("rejected");
      }(),
      "failing-task");

  loop.metrics().on_blocked = [](const brigade::BlockedReport& r) {
    std::printf("blocked %llu ms in '%s'\n",
                static_cast<unsigned long long>(r.duration_ns / 1'000'000u), r.activity.c_str());
  };
  brigade::spawn(
      []() -> brigade::Task<void> {
        co_await brigade::sleep(40);
        uint64_t end = brigade::Loop::hrtime() + 150'000'000u;  // holds the loop for 150 ms
        while (brigade::Loop::hrtime() < end) {
        }
      }(),
      "crunch-task");
  loop.run();
  return 0;
}
