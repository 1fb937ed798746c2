// fetch throughput: COUNT GET requests to URL (a local keep-alive server), IN_FLIGHT at once,
// through http::fetch (libcurl's multi-socket API on the loop). Same workload as
// bench/node/fetch_client.js. Prints "req_per_s X" and "cpu_us_per_req Y" (this process's CPU).
// Usage: fetch_client URL [COUNT=20000] [IN_FLIGHT=50]
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "brigade/http/fetch.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

struct Workload {
  std::string url;
  long count = 20000;
  long started = 0;
};

Task<void> requester(Workload& w) {
  while (w.started < w.count) {
    ++w.started;
    http::Response res = co_await http::fetch(w.url);
    std::string body = co_await res.text();
    if (res.status() != 200 || body.empty()) throw std::runtime_error("bad answer");
  }
}

Task<void> request_all(Workload& w, long in_flight) {
  std::vector<Task<void>> requesters;
  for (long i = 0; i < in_flight; ++i) requesters.push_back(requester(w));
  co_await when_all(std::move(requesters));
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fetch_client URL [COUNT] [IN_FLIGHT]\n");
    return 2;
  }
  Workload w;
  w.url = argv[1];
  if (argc > 2) w.count = std::atol(argv[2]);
  long in_flight = argc > 3 ? std::atol(argv[3]) : 50;
  Loop loop;
  double cpu0 = cpu_seconds();
  uint64_t start = Loop::hrtime();
  run(loop, request_all(w, in_flight));
  double seconds = double(Loop::hrtime() - start) / 1e9;
  double cpu = cpu_seconds() - cpu0;
  std::printf("req_per_s %.0f\ncpu_us_per_req %.2f\n", double(w.count) / seconds,
              cpu * 1e6 / double(w.count));
  return 0;
}
