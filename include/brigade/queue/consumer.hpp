#pragma once
// Consumer: runs a queue's jobs (BullMQ's Worker), as many at once as `concurrency` says.
//
//   queue::Consumer worker(jobs, [&](queue::Job& job) -> Task<std::string> {
//     co_await job.progress("50");
//     co_return "done: " + job.payload;         // CPU work: co_await pool.run(fn, ...)
//   }, {.concurrency = 8});
//   co_await worker.run();                       // until worker.close(), then graceful
//
// Delivery is at least once: a job is read with XREADGROUP, runs, and is acknowledged (XACK)
// by the same Lua script that records its result. While it runs, its entry's idle time is
// reset every visibility_timeout_ms / 3 (XCLAIM JUSTID), so a slow job is not taken from a
// live consumer; a consumer that dies leaves its entries pending, and any other consumer takes
// them (XAUTOCLAIM) once they have been idle visibility_timeout_ms. A handler that throws
// fails that run: the job is retried after its backoff, then goes to the dead-letter stream
// after its attempts. A run lost with its process (kill -9, a crash, or a stall longer than the
// visibility timeout) counts as an attempt too, found when the entry is claimed: a job that
// crashes every worker running it is dead-lettered with that reason after its attempts. Every
// job running in a process that dies loses that attempt, so give jobs an attempt or two more
// than they need when workers may be killed.
// Each consumer also moves due delayed jobs and retries into their stream.
//
// close() is graceful: no new job is read or claimed, the jobs running finish and are
// acknowledged, then run() returns. A lost Redis connection is retried with backoff; a
// completion that cannot be recorded is retried too (the script is idempotent), and if the
// process dies first the job simply runs again elsewhere. The Queue, its Client and the
// Consumer must outlive run().
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "brigade/queue/queue.hpp"
#include "brigade/task/task.hpp"

namespace brigade::queue {

struct ConsumerCore;

// The job a handler runs.
struct Job {
  std::string id;
  std::string name;
  std::string payload;
  int attempt = 1;  // 1 on the first run, 2 on the first retry...
  // Records progress on the job and publishes "progress <id> <value>".
  Task<void> progress(std::string_view value);

  Queue* queue = nullptr;
};

struct ConsumerOptions {
  std::size_t concurrency = 16;
  uint64_t visibility_timeout_ms = 30000;
  uint64_t block_ms = 1000;    // longest XREADGROUP wait (also close()'s longest delay)
  uint64_t promote_ms = 100;   // how often due delayed jobs are looked for, at most
  const char* name = nullptr;  // consumer name in the group; nullptr: host-pid-random
};
static_assert(std::is_trivially_destructible_v<ConsumerOptions>);

struct ConsumerStats {
  uint64_t completed = 0;   // runs that succeeded (a duplicate run counts too)
  uint64_t duplicates = 0;  // of those, runs of a job that had already completed
  uint64_t failed = 0;      // runs that threw
  uint64_t claimed = 0;     // entries taken over from dead consumers
  uint64_t lost = 0;        // of those, jobs out of attempts: dead-lettered, not run
  std::size_t running = 0;
};

class Consumer {
 public:
  using Handler = std::function<Task<std::string>(Job&)>;
  Consumer(Queue& queue, Handler handler, ConsumerOptions options = {});
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Runs until close() and the jobs in flight have finished.
  Task<void> run();
  void close();
  ConsumerStats stats() const noexcept;
  const std::string& name() const noexcept;

 private:
  std::shared_ptr<ConsumerCore> core_;
};

}  // namespace brigade::queue
