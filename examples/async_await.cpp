// async/await with Task<T>: sleep, Promise.all (when_all), Promise.race (when_any), a timeout
// that cancels, and AsyncLocal carrying a request id through every await.
#include <cstdio>
#include <string>
#include <vector>

#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using brigade::Task;

brigade::AsyncLocal<std::string> request_id;

Task<int> fetch_value(int v, uint64_t ms) {
  co_await brigade::sleep(ms);
  std::printf("  [%s] fetched %d after %llu ms\n", request_id.get() ? request_id.get()->c_str() : "-",
              v, static_cast<unsigned long long>(ms));
  co_return v;
}

Task<void> handle_request() {
  auto [a, b] = co_await brigade::when_all(fetch_value(1, 20), fetch_value(2, 10));
  std::printf("when_all: %d + %d = %d\n", a, b, a + b);

  std::vector<Task<int>> racers;
  racers.push_back(fetch_value(10, 30));
  racers.push_back(fetch_value(20, 5));
  auto first = co_await brigade::when_any(std::move(racers));
  std::printf("when_any: #%zu won with %d\n", first.index, first.value);

  try {
    co_await brigade::with_timeout(15, [](std::stop_token stop) -> Task<void> {
      co_await brigade::sleep(1000, stop);
    });
  } catch (const brigade::TimeoutError& e) {
    std::printf("with_timeout: %s\n", e.what());
  }
}

int main() {
  brigade::Loop loop;
  brigade::spawn(request_id.run("req-42", handle_request()), "request");
  loop.run();
  return 0;
}
