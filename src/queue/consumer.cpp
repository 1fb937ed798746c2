// Consumer: XREADGROUP, run with a concurrency limit, record with one script, heartbeat,
// XAUTOCLAIM, promote delayed jobs; graceful close (see consumer.hpp).
#include "brigade/queue/consumer.hpp"

#include <unistd.h>

#include <cstdio>
#include <deque>
#include <random>
#include <set>
#include <utility>

#include "brigade/error.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"

namespace brigade::queue {

namespace {

// One parked coroutine, woken from the microtask queue (the fetch loop waiting for a slot).
struct Signal {
  std::coroutine_handle<> waiter;
  Loop* loop = nullptr;
  struct Awaiter {
    Signal& s;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { s.waiter = h; }
    void await_resume() const noexcept {}
    ~Awaiter() {
      if (s.waiter) s.waiter = nullptr;
    }
  };
  Awaiter wait() { return Awaiter{*this}; }
  void notify() {
    if (!waiter) return;
    auto h = std::exchange(waiter, nullptr);
    loop->queue_microtask([h] { h.resume(); });
  }
};

// A server that is starting (LOADING) or busy with a script answers again soon.
bool transient(const redis::ServerError& e) {
  return e.code() == "LOADING" || e.code() == "BUSY" || e.code() == "TRYAGAIN";
}

std::string default_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffff);
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + suffix;
}

}  // namespace

struct ConsumerCore {
  struct Entry {
    int level;
    std::string entry_id;
    Job job;
  };

  ConsumerCore(Queue& q, Consumer::Handler h, ConsumerOptions o)
      : queue(q),
        redis(q.client()),
        loop(q.client().loop()),
        handler(std::move(h)),
        options(o),
        name(o.name ? o.name : default_name()) {
    if (options.concurrency == 0) options.concurrency = 1;
    if (options.visibility_timeout_ms < 30) options.visibility_timeout_ms = 30;
    slot.loop = &loop;
    drained.loop = &loop;
    for (int level = kPriorityLevels - 1; level >= 0; --level)
      streams.push_back(q.prefix() + "s:" + std::to_string(level));
    cursors.assign(kPriorityLevels, "0-0");
  }

  Queue& queue;
  redis::Client& redis;
  Loop& loop;
  Consumer::Handler handler;
  ConsumerOptions options;
  std::string name;
  std::vector<std::string> streams;  // highest priority first
  std::vector<std::string> cursors;  // XAUTOCLAIM's, per level
  bool stopping = false;
  bool running_loop = false;
  std::stop_source maintenance_stop;
  std::size_t running = 0;
  std::deque<Entry> backlog;  // read beyond the concurrency limit: run next
  // (level, entry id), running or in the backlog: ids are per stream, and two levels' streams
  // give the same id to entries added in the same millisecond.
  std::set<std::pair<int, std::string>> owned;
  Signal slot, drained;
  ConsumerStats stats;
  std::weak_ptr<ConsumerCore> self;

  int level_of(const std::string& stream) const {
    auto colon = stream.rfind(':');
    return colon == std::string::npos ? 0 : std::atoi(stream.c_str() + colon + 1);
  }

  Task<void> ensure_groups() {
    for (const std::string& stream : streams) {
      try {
        auto create =
            redis.command("XGROUP", "CREATE", stream, queue.options().group, "0", "MKSTREAM");
        co_await create;
      } catch (const redis::ServerError& e) {
        if (e.code() != "BUSYGROUP") throw;
      }
    }
  }

  // An entry [id, [field, value, ...]] from XREADGROUP or XAUTOCLAIM.
  void take(int level, redis::Reply& entry) {
    if (entry.elements.size() < 2) return;
    Entry e{level, std::move(entry.elements[0].str), {}};
    auto& f = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
      const std::string& k = f[i].str;
      if (k == "id")
        e.job.id = std::move(f[i + 1].str);
      else if (k == "name")
        e.job.name = std::move(f[i + 1].str);
      else if (k == "payload")
        e.job.payload = std::move(f[i + 1].str);
      else if (k == "made")
        e.job.attempt = std::atoi(f[i + 1].str.c_str()) + 1;
    }
    e.job.queue = &queue;
    if (!owned.emplace(level, e.entry_id).second) return;  // ours already (a claim raced a read)
    if (running < options.concurrency)
      start(std::move(e));
    else
      backlog.push_back(std::move(e));
  }

  void start(Entry e) {
    ++running;
    spawn(run_job(self.lock(), std::move(e)), "queue job");
  }

  static Task<void> run_job(std::shared_ptr<ConsumerCore> core, Entry e) {
    std::string outcome;
    bool ok = false;
    try {
      auto run = core->handler(e.job);
      outcome = co_await run;
      ok = true;
    } catch (const std::exception& ex) {
      outcome = ex.what();
    } catch (...) {
      outcome = "unknown exception";
    }
    // Record it; the script is idempotent, so a connection lost on the way is retried.
    Queue& q = core->queue;
    std::vector<std::string> args = {q.prefix(),
                                     e.job.id,
                                     std::to_string(e.level),
                                     e.entry_id,
                                     outcome,
                                     q.options().group,
                                     std::to_string(q.options().keep_ms)};
    for (unsigned tries = 1;; ++tries) {
      try {
        auto call = core->redis.eval(ok ? q.scripts().complete : q.scripts().fail,
                                     std::vector<std::string>(), args);
        redis::Reply r = co_await call;
        if (ok) {
          ++core->stats.completed;
          if (r.integer == 0) ++core->stats.duplicates;
        } else {
          ++core->stats.failed;
        }
        break;
      } catch (const redis::ConnectionError&) {
        if (tries >= 20) break;  // left pending: another consumer runs it again later
      } catch (const redis::ServerError& ex) {
        if (!transient(ex) || tries >= 20) {
          std::fprintf(stderr, "queue %s: recording job %s failed: %s\n", q.name().c_str(),
                       e.job.id.c_str(), ex.what());
          break;
        }
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "queue %s: recording job %s failed: %s\n", q.name().c_str(),
                     e.job.id.c_str(), ex.what());
        break;
      }
      co_await brigade::sleep(std::min<uint64_t>(50u << std::min(tries, 5u), 1000));
    }
    core->owned.erase({e.level, e.entry_id});
    --core->running;
    if (!core->backlog.empty() && core->running < core->options.concurrency) {
      Entry next = std::move(core->backlog.front());
      core->backlog.pop_front();
      core->start(std::move(next));
    }
    core->slot.notify();
    if (core->running == 0 && core->backlog.empty()) core->drained.notify();
  }

  Task<void> fetch_loop() {
    redis::Lease lease;
    unsigned failures = 0;
    bool lost_groups = false;
    while (!stopping) {
      while (running + backlog.size() >= options.concurrency && !stopping) {
        auto w = slot.wait();
        co_await w;
      }
      if (stopping) break;
      try {
        if (!lease || !lease->ok()) {
          lease.release();
          auto get = redis.acquire();
          lease = co_await get;
        }
        std::size_t free = options.concurrency - running - backlog.size();
        std::vector<std::string> cmd = {"XREADGROUP",
                                        "GROUP",
                                        queue.options().group,
                                        name,
                                        "COUNT",
                                        std::to_string(free),
                                        "BLOCK",
                                        std::to_string(options.block_ms),
                                        "STREAMS"};
        cmd.insert(cmd.end(), streams.begin(), streams.end());
        for (std::size_t i = 0; i < streams.size(); ++i) cmd.push_back(">");
        auto read = lease->command(cmd);
        redis::Reply r = co_await read;
        failures = 0;
        for (redis::Reply& stream : r.elements) {
          if (stream.elements.size() < 2) continue;
          int level = level_of(stream.elements[0].str);
          for (redis::Reply& entry : stream.elements[1].elements) take(level, entry);
        }
        continue;
      } catch (const redis::ServerError& e) {
        if (e.code() == "NOGROUP")
          lost_groups = true;  // a server that lost its data: make the groups again below
        else if (!transient(e))
          std::fprintf(stderr, "queue %s: read: %s\n", queue.name().c_str(), e.what());
      } catch (const std::exception&) {
        lease = {};
      }
      if (lost_groups) {
        lost_groups = false;
        try {
          auto groups = ensure_groups();
          co_await groups;
          continue;
        } catch (const std::exception&) {
        }
      }
      ++failures;
      co_await brigade::sleep(std::min<uint64_t>(50u << std::min(failures, 5u), 1000));
    }
    lease.release();
    while (running > 0 || !backlog.empty()) {
      auto w = drained.wait();
      co_await w;
    }
    maintenance_stop.request_stop();
  }

  // Resets the idle time of every entry this consumer holds, so no one claims it.
  Task<void> heartbeat() {
    std::vector<std::vector<std::string>> per_level(kPriorityLevels);
    for (auto& [level, entry] : owned) per_level[level].push_back(entry);
    for (int level = 0; level < kPriorityLevels; ++level) {
      if (per_level[level].empty()) continue;
      std::vector<std::string> cmd = {"XCLAIM", queue.prefix() + "s:" + std::to_string(level),
                                      queue.options().group, name, "0"};
      cmd.insert(cmd.end(), per_level[level].begin(), per_level[level].end());
      cmd.push_back("JUSTID");
      auto claim = redis.command(cmd);
      co_await claim;
    }
  }

  // Takes over entries idle longer than the visibility timeout (their consumer died); the claim
  // script counts the lost run as an attempt and dead-letters jobs out of attempts.
  Task<void> claim() {
    for (int level = kPriorityLevels - 1; level >= 0 && !stopping; --level) {
      std::size_t busy = running + backlog.size();
      if (busy >= options.concurrency) break;
      std::vector<std::string> args = {queue.prefix(),
                                       std::to_string(level),
                                       queue.options().group,
                                       name,
                                       std::to_string(options.visibility_timeout_ms),
                                       cursors[level],
                                       std::to_string(options.concurrency - busy),
                                       std::to_string(queue.options().keep_ms)};
      auto call = redis.eval(queue.scripts().claim, std::vector<std::string>(), args);
      redis::Reply r = co_await call;
      if (r.elements.size() < 3) continue;
      cursors[level] = r.elements[0].str;
      stats.claimed += r.elements[1].elements.size() + r.elements[2].integer;
      stats.lost += r.elements[2].integer;
      for (redis::Reply& entry : r.elements[1].elements) {
        if (entry.elements.size() < 2 || entry.elements[1].is_nil()) continue;
        take(level, entry);
      }
    }
  }

  Task<void> maintenance_loop() {
    uint64_t beat_every = std::max<uint64_t>(options.visibility_timeout_ms / 3, 10);
    uint64_t claim_every = std::max<uint64_t>(options.visibility_timeout_ms / 2, 10);
    loop.update_time();
    uint64_t next_beat = loop.now() + beat_every, next_claim = loop.now(), next_promote = 0;
    std::vector<std::string> promote_args = {queue.prefix(), "100"};
    while (!maintenance_stop.stop_requested()) {
      loop.update_time();
      uint64_t now = loop.now();
      try {
        if (!stopping && now >= next_promote) {
          auto call = redis.eval(queue.scripts().promote, std::vector<std::string>(), promote_args);
          redis::Reply r = co_await call;
          int64_t moved = r.elements.at(0).integer, wait = r.elements.at(1).integer;
          uint64_t step = options.promote_ms;
          if (moved == 100)
            step = 0;
          else if (wait >= 0)
            step = std::min<uint64_t>(step, static_cast<uint64_t>(wait));
          next_promote = now + step;
        }
        if (now >= next_beat) {
          next_beat = now + beat_every;
          auto beat = heartbeat();
          co_await beat;
        }
        if (!stopping && now >= next_claim) {
          next_claim = now + claim_every;
          auto c = claim();
          co_await c;
        }
      } catch (const std::exception&) {
        // Redis away: the client reconnects; try again on the next round.
      }
      loop.update_time();
      now = loop.now();
      uint64_t next =
          std::min(next_beat, stopping ? next_beat : std::min(next_promote, next_claim));
      uint64_t ms = next > now ? next - now : 1;
      try {
        co_await brigade::sleep(std::min<uint64_t>(ms, 1000), maintenance_stop.get_token());
      } catch (const CancelledError&) {
        break;
      }
    }
  }
};

namespace {
Task<void> both(Task<redis::Reply> first, Task<redis::Reply> second) {
  co_await first;
  co_await second;
}
}  // namespace

// Both commands are encoded before this returns (`value` may not outlive the call).
Task<void> Job::progress(std::string_view value) {
  std::string key = queue->prefix() + "job:" + id;
  std::string event = "progress " + id + " " + std::string(value);
  return both(queue->client().command("HSET", key, "progress", value),
              queue->client().command("PUBLISH", queue->events_channel(), event));
}

Consumer::Consumer(Queue& queue, Handler handler, ConsumerOptions options)
    : core_(std::make_shared<ConsumerCore>(queue, std::move(handler), options)) {
  core_->self = core_;
}

Consumer::~Consumer() {
  core_->stopping = true;
  core_->maintenance_stop.request_stop();
}

Task<void> Consumer::run() {
  std::shared_ptr<ConsumerCore> core = core_;
  if (core->running_loop) throw std::logic_error("queue: Consumer::run() is already running");
  core->running_loop = true;
  core->stopping = false;
  core->maintenance_stop = std::stop_source();
  for (unsigned failures = 0;; ++failures) {  // the groups, waiting for Redis if it is away
    try {
      auto groups = core->ensure_groups();
      co_await groups;
      break;
    } catch (const redis::ConnectionError&) {
    } catch (const redis::ServerError& e) {
      if (!transient(e)) {
        core->running_loop = false;
        throw;
      }
    }
    if (core->stopping) {
      core->running_loop = false;
      co_return;
    }
    co_await brigade::sleep(std::min<uint64_t>(50u << std::min(failures, 5u), 1000));
  }
  auto fetch = core->fetch_loop();
  auto maintain = core->maintenance_loop();
  co_await when_all(std::move(fetch), std::move(maintain));
  core->running_loop = false;
}

void Consumer::close() {
  core_->stopping = true;
  core_->slot.notify();  // a fetch loop waiting for a free slot looks again
}

ConsumerStats Consumer::stats() const noexcept {
  ConsumerStats s = core_->stats;
  s.running = core_->running;
  return s;
}

const std::string& Consumer::name() const noexcept { return core_->name; }

}  // namespace brigade::queue
