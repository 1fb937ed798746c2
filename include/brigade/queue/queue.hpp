#pragma once
// Queue: jobs on Redis Streams with consumer groups (Node's BullMQ). Producers add jobs;
// Consumer processes on any host run them (consumer.hpp).
//
//   redis::Client redis(redis::parse_url(url));
//   queue::Queue jobs(redis, "fib");
//   std::string id = co_await jobs.add("fib", "30", {.attempts = 3, .job_id = "fib-30"});
//   std::string result = co_await jobs.result(id, 10000);
//
// Keys, for a queue named Q: bq:{Q}:job:<id> (a hash: state, payload, result, error, progress,
// attempts), bq:{Q}:s:<priority> (a stream per priority level, group "workers"),
// bq:{Q}:delayed (a sorted set by due time), bq:{Q}:dead (the dead-letter stream), and the
// pub/sub channel bq:{Q}:events ("completed <id>", "failed <id>", "retrying <id>",
// "progress <id> <value>"). Every state change is one Lua script, so it is atomic.
//
// Idempotency: a job id names the job. Adding an id that exists (waiting, running, done, or
// failed, until keep_ms after it finished) adds nothing and returns the same id; a job completes
// once even when it runs twice (at-least-once delivery): the first completion wins and later
// ones only acknowledge.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "brigade/redis/client.hpp"
#include "brigade/redis/subscriber.hpp"
#include "brigade/task/task.hpp"

namespace brigade::queue {

inline constexpr int kPriorityLevels = 4;  // priority 0 (default) .. 3 (first)

struct JobOptions {
  uint64_t delay_ms = 0;       // run no sooner than this
  int attempts = 1;            // runs before the job goes to the dead-letter stream
  uint64_t backoff_ms = 1000;  // wait before a retry: backoff_ms * 2^(retry-1)
  int priority = 0;            // 0..kPriorityLevels-1; higher runs first
  std::string_view job_id;     // empty: a new numeric id; else the idempotency key
};
// Trivially destructible, so `co_await q.add(n, p, {.attempts = 3})` is safe under g++ 12's double
// destruction of braced temporaries in co_await expressions.
static_assert(std::is_trivially_destructible_v<JobOptions>);

// A job is "waiting" from add() (or its retry's due time) until it completes or fails: running is
// not a state of its own (it would cost a round trip per job).
enum class JobState { kWaiting, kDelayed, kCompleted, kFailed, kUnknown };
std::string_view state_name(JobState state) noexcept;

struct JobInfo {
  std::string id;
  std::string name;
  std::string payload;
  JobState state = JobState::kUnknown;
  std::string result;     // completed
  std::string error;      // the last failure
  std::string progress;   // the last progress reported
  int attempts_made = 0;  // failed runs so far
  int attempts = 1;
};

// A job ended in the dead-letter stream; what() is its last error.
class JobFailedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct QueueOptions {
  std::string group = "workers";  // the consumer group
  // Finished jobs (and so their idempotency keys) are kept this long, then expire.
  uint64_t keep_ms = 24ull * 3600 * 1000;
};

struct QueueCounts {
  int64_t waiting = 0;    // in the streams, not yet delivered
  int64_t pending = 0;    // delivered to a consumer, not acknowledged
  int64_t delayed = 0;    // delayed jobs and retries waiting for their time
  int64_t dead = 0;       // entries in the dead-letter stream
  int64_t completed = 0;  // first completions, ever
};

class Queue {
 public:
  Queue(redis::Client& redis, std::string name, QueueOptions options = {});
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Adds a job; returns its id (the existing one's for a duplicate job_id). The arguments are
  // copied before the first suspension.
  Task<std::string> add(std::string_view name, std::string_view payload, JobOptions options = {});
  // Waits until the job completes and returns its result. Throws JobFailedError if it went to
  // the dead-letter stream, TimeoutError after timeout_ms (0: no deadline), redis::Error if it
  // does not exist.
  Task<std::string> result(std::string_view job_id, uint64_t timeout_ms = 0);
  Task<std::optional<JobInfo>> get(std::string_view job_id);
  Task<QueueCounts> counts();
  // The dead-letter stream's entries: id, name, payload, error (oldest first, at most `count`).
  Task<std::vector<JobInfo>> dead_letters(std::size_t count = 100);

  const std::string& name() const noexcept { return name_; }
  const std::string& prefix() const noexcept { return prefix_; }  // "bq:{name}:"
  std::string events_channel() const { return prefix_ + "events"; }
  redis::Client& client() const noexcept { return redis_; }
  const QueueOptions& options() const noexcept { return options_; }

  // The Lua scripts (src/queue/scripts.hpp), loaded once per server.
  struct Scripts {
    redis::Script add, complete, fail, promote, claim;
  };
  Scripts& scripts() noexcept { return scripts_; }

 private:
  struct Waiting;
  // The public calls copy their arguments here (g++ 12, see redis/client.hpp).
  Task<std::string> add_encoded(std::vector<std::string> args);
  Task<std::string> wait_result(std::string job_id, uint64_t timeout_ms);
  Task<std::optional<JobInfo>> read_job(std::string job_id);
  Task<void> subscribe_events();
  void on_event(redis::Message& m);

  redis::Client& redis_;
  std::string name_;
  std::string prefix_;
  QueueOptions options_;
  std::unique_ptr<redis::Subscriber> events_;
  bool subscribed_ = false;
  std::shared_ptr<Waiting> waiting_;
  Scripts scripts_;
};

}  // namespace brigade::queue
