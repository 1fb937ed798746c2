// pbkdf2 throughput on the thread pool: COUNT derivations (PBKDF2-HMAC-SHA256, ITERATIONS
// rounds, 32-byte keys), IN_FLIGHT at once, on the shared pool (BRIGADE_THREADPOOL_SIZE, run.sh
// sets 4). Same workload as bench/node/crypto_pbkdf2.js.
// Usage: crypto_pbkdf2 [COUNT=400] [ITERATIONS=10000] [IN_FLIGHT=16]. Prints "derivations_per_s X".
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "brigade/crypto/kdf.hpp"
#include "brigade/loop.hpp"
#include "brigade/task.hpp"

using namespace brigade;

namespace {

struct Workload {
  long count = 400;
  uint32_t iterations = 10000;
  long started = 0;
};

Task<void> deriver(Workload& w) {
  while (w.started < w.count) {
    std::string salt = "salt-" + std::to_string(w.started++);
    crypto::Bytes key =
        co_await crypto::pbkdf2("correct horse battery staple", salt, w.iterations, 32, "sha256");
    if (key.size() != 32) throw std::runtime_error("short key");
  }
}

Task<void> derive_all(Workload& w, long in_flight) {
  std::vector<Task<void>> derivers;
  for (long i = 0; i < in_flight; ++i) derivers.push_back(deriver(w));
  co_await when_all(std::move(derivers));
}

}  // namespace

int main(int argc, char** argv) {
  Workload w;
  if (argc > 1) w.count = std::atol(argv[1]);
  if (argc > 2) w.iterations = uint32_t(std::atol(argv[2]));
  long in_flight = argc > 3 ? std::atol(argv[3]) : 16;
  Loop loop;
  uint64_t start = Loop::hrtime();
  run(loop, derive_all(w, in_flight));
  double seconds = double(Loop::hrtime() - start) / 1e9;
  double rate = double(w.count) / seconds;
  std::printf("derivations_per_s %.1f\n", rate);
  std::fprintf(stderr, "crypto_pbkdf2 brigade derivations_per_s=%.1f (threads %zu)\n", rate,
               ThreadPool::shared().size());
  return 0;
}
