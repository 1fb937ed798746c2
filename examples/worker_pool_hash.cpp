// A WorkerPool hashes 64 MiB in 1 MiB chunks in parallel (FNV-1a per chunk), checks the result
// against a serial pass, and prints the pool's stats as JSON.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "brigade/task/spawn.hpp"
#include "brigade/worker/pool_stats_json.hpp"
#include "brigade/worker/worker_pool.hpp"

using namespace brigade;

static uint64_t fnv1a(const uint8_t* p, std::size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

int main() {
  constexpr std::size_t kChunk = 1 << 20, kChunks = 64;
  auto data = std::make_shared<std::vector<uint8_t>>(kChunk * kChunks);
  uint32_t x = 12345;
  for (auto& b : *data) b = uint8_t((x = x * 1664525u + 1013904223u) >> 24);

  Loop loop;
  WorkerPool pool(loop);
  uint64_t t0 = Loop::hrtime();
  std::vector<uint64_t> hashes = run(loop, [&]() -> Task<std::vector<uint64_t>> {
    std::vector<PoolRun<uint64_t>> parts;
    for (std::size_t i = 0; i < kChunks; ++i)
      parts.push_back(
          pool.run([data](std::size_t i) { return fnv1a(data->data() + i * kChunk, kChunk); }, i));
    std::vector<uint64_t> out;
    for (auto& p : parts) out.push_back(co_await p);
    co_return out;
  }());
  double parallel_ms = double(Loop::hrtime() - t0) / 1e6;

  uint64_t t1 = Loop::hrtime();
  bool same = true;
  for (std::size_t i = 0; i < kChunks; ++i)
    same &= hashes[i] == fnv1a(data->data() + i * kChunk, kChunk);
  double serial_ms = double(Loop::hrtime() - t1) / 1e6;

  std::printf("%zu chunks on %zu threads: %.1f ms (serial %.1f ms), results %s\n", kChunks,
              pool.threads(), parallel_ms, serial_ms, same ? "match" : "DIFFER");
  std::printf("%s\n", to_json(pool.stats()).dump(2).c_str());
  run(loop, pool.close());
  return same ? 0 : 1;
}
