// Queue: adding jobs, reading their state, waiting for results (see queue.hpp).
#include "brigade/queue/queue.hpp"

#include <algorithm>
#include <coroutine>
#include <unordered_map>

#include "brigade/error.hpp"
#include "brigade/task/sleep.hpp"
#include "scripts.hpp"

namespace brigade::queue {

std::string_view state_name(JobState state) noexcept {
  switch (state) {
    case JobState::kWaiting:
      return "waiting";
    case JobState::kDelayed:
      return "delayed";
    case JobState::kCompleted:
      return "completed";
    case JobState::kFailed:
      return "failed";
    case JobState::kUnknown:
      break;
  }
  return "unknown";
}

namespace {

JobState parse_state(const std::string& s) {
  if (s == "waiting") return JobState::kWaiting;
  if (s == "delayed") return JobState::kDelayed;
  if (s == "completed") return JobState::kCompleted;
  if (s == "failed") return JobState::kFailed;
  return JobState::kUnknown;
}

int to_int(const redis::Reply& r) {
  if (r.is_nil()) return 0;
  try {
    return static_cast<int>(r.as_integer());
  } catch (const redis::Error&) {
    return 0;
  }
}

}  // namespace

// result() callers parked until an event names their job (or their poll interval passes).
struct Queue::Waiting {
  struct Awaiter {
    Waiting& list;
    std::string id;
    Loop& loop;
    uint64_t ms;
    std::coroutine_handle<> h;
    Timer timer;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> handle) {
      h = handle;
      list.parked.emplace(id, this);
      timer = Timer(loop);
      timer.start(ms, [this] {
        unlink();
        h.resume();
      });
    }
    void await_resume() noexcept {}
    void unlink() {
      auto [b, e] = list.parked.equal_range(id);
      for (auto it = b; it != e; ++it) {
        if (it->second == this) {
          list.parked.erase(it);
          break;
        }
      }
      timer.clear();
    }
    ~Awaiter() { unlink(); }
  };
  std::unordered_multimap<std::string, Awaiter*> parked;

  // The last jobs finished, with a sequence number: an event that lands while a result() call
  // reads the job's state (before it parks) is not missed.
  static constexpr std::size_t kRecent = 256;
  std::vector<std::string> recent = std::vector<std::string>(kRecent);
  uint64_t seq = 0;
  bool finished_since(const std::string& id, uint64_t since) const {
    for (uint64_t s = std::max<uint64_t>(since, seq > kRecent ? seq - kRecent : 0); s < seq; ++s)
      if (recent[s % kRecent] == id) return true;
    return false;
  }

  void wake(const std::string& id) {
    recent[seq++ % kRecent] = id;
    auto [b, e] = parked.equal_range(id);
    std::vector<Awaiter*> woken;
    for (auto it = b; it != e; ++it) woken.push_back(it->second);
    for (Awaiter* a : woken) {
      a->unlink();
      a->loop.queue_microtask([h = a->h] { h.resume(); });
    }
  }
};

Queue::Queue(redis::Client& redis, std::string name, QueueOptions options)
    : redis_(redis),
      name_(std::move(name)),
      prefix_("bq:{" + name_ + "}:"),
      options_(std::move(options)),
      waiting_(std::make_shared<Waiting>()) {
  scripts_.add.source = scripts::kAdd;
  scripts_.complete.source = scripts::kComplete;
  scripts_.fail.source = scripts::kFail;
  scripts_.promote.source = scripts::kPromote;
  scripts_.claim.source = scripts::kClaim;
}

Queue::~Queue() = default;

Task<std::string> Queue::add(std::string_view name, std::string_view payload, JobOptions o) {
  int priority = std::clamp(o.priority, 0, kPriorityLevels - 1);
  std::vector<std::string> args = {prefix_,
                                   std::string(o.job_id),
                                   std::string(name),
                                   std::string(payload),
                                   std::to_string(std::max(1, o.attempts)),
                                   std::to_string(o.backoff_ms),
                                   std::to_string(priority),
                                   std::to_string(o.delay_ms)};
  return add_encoded(std::move(args));
}

Task<std::string> Queue::add_encoded(std::vector<std::string> args) {
  std::vector<std::string> keys;
  auto call = redis_.eval(scripts_.add, std::move(keys), std::move(args));
  redis::Reply r = co_await call;
  co_return r.elements.at(0).str;
}

Task<std::optional<JobInfo>> Queue::get(std::string_view job_id) {
  return read_job(std::string(job_id));
}

Task<std::optional<JobInfo>> Queue::read_job(std::string job_id) {
  std::string key = prefix_ + "job:" + job_id;
  auto cmd = redis_.command("HMGET", key, "name", "payload", "state", "result", "error", "progress",
                            "made", "attempts");
  redis::Reply r = co_await cmd;
  if (r.elements.size() < 8 || r.elements[2].is_nil()) co_return std::nullopt;
  JobInfo info;
  info.id = std::move(job_id);
  info.name = r.elements[0].str;
  info.payload = r.elements[1].str;
  info.state = parse_state(r.elements[2].str);
  info.result = r.elements[3].str;
  info.error = r.elements[4].str;
  info.progress = r.elements[5].str;
  info.attempts_made = to_int(r.elements[6]);
  info.attempts = to_int(r.elements[7]);
  co_return info;
}

void Queue::on_event(redis::Message& m) {
  // "completed <id>", "failed <id>": wake whoever waits for that id.
  auto space = m.payload.find(' ');
  if (space == std::string::npos) return;
  std::string_view kind(m.payload.data(), space);
  if (kind == "completed" || kind == "failed") waiting_->wake(m.payload.substr(space + 1));
}

Task<void> Queue::subscribe_events() {
  if (!events_) {
    redis::Options o = redis_.options();
    o.loop = &redis_.loop();
    events_ = std::make_unique<redis::Subscriber>(o);
    events_->set_message_handler([this](redis::Message& m) { on_event(m); });
  }
  if (subscribed_) co_return;
  auto sub = events_->subscribe(events_channel());
  co_await sub;
  subscribed_ = true;
}

Task<std::string> Queue::result(std::string_view job_id, uint64_t timeout_ms) {
  return wait_result(std::string(job_id), timeout_ms);
}

Task<std::string> Queue::wait_result(std::string job_id, uint64_t timeout_ms) {
  Loop& loop = redis_.loop();
  std::shared_ptr<Waiting> waiting = waiting_;
  loop.update_time();
  uint64_t deadline = timeout_ms ? loop.now() + timeout_ms : 0;
  // Subscribe first, then read the state: a completion in between is seen either way. The
  // poll every 500 ms covers events lost while the subscriber reconnects.
  auto sub = subscribe_events();
  co_await sub;
  for (;;) {
    uint64_t seq = waiting->seq;
    auto read = get(job_id);
    std::optional<JobInfo> info = co_await read;
    if (!info) throw redis::Error("queue: no job " + job_id + " in " + name_);
    if (info->state == JobState::kCompleted) co_return info->result;
    if (info->state == JobState::kFailed) throw JobFailedError(info->error);
    loop.update_time();
    uint64_t wait_ms = 500;
    if (deadline) {
      if (loop.now() >= deadline) throw TimeoutError("queue result");
      wait_ms = std::min<uint64_t>(wait_ms, deadline - loop.now());
    }
    if (waiting->finished_since(job_id, seq)) continue;  // it finished while we read: read again
    Waiting::Awaiter parked{*waiting, job_id, loop, wait_ms, {}, {}};
    co_await parked;
  }
}

Task<QueueCounts> Queue::counts() {
  QueueCounts c;
  for (int level = 0; level < kPriorityLevels; ++level) {
    std::string stream = prefix_ + "s:" + std::to_string(level);
    auto len = redis_.command("XLEN", stream);
    int64_t n = (co_await len).integer;
    int64_t pending = 0;
    try {
      auto p = redis_.command("XPENDING", stream, options_.group);
      redis::Reply r = co_await p;
      if (!r.elements.empty()) pending = r.elements[0].integer;
    } catch (const redis::ServerError&) {  // NOGROUP: no consumer has started yet
    }
    c.pending += pending;
    c.waiting += n - pending;
  }
  auto delayed = redis_.command("ZCARD", prefix_ + "delayed");
  c.delayed = (co_await delayed).integer;
  auto dead = redis_.command("XLEN", prefix_ + "dead");
  c.dead = (co_await dead).integer;
  auto completed = redis_.command("GET", prefix_ + "completed");
  redis::Reply done = co_await completed;
  c.completed = done.is_nil() ? 0 : done.as_integer();
  co_return c;
}

Task<std::vector<JobInfo>> Queue::dead_letters(std::size_t count) {
  auto range = redis_.command("XRANGE", prefix_ + "dead", "-", "+", "COUNT", std::to_string(count));
  redis::Reply r = co_await range;
  std::vector<JobInfo> out;
  for (const redis::Reply& entry : r.elements) {
    if (entry.elements.size() < 2) continue;
    JobInfo info;
    info.state = JobState::kFailed;
    const auto& f = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
      const std::string& k = f[i].str;
      if (k == "id") info.id = f[i + 1].str;
      if (k == "name") info.name = f[i + 1].str;
      if (k == "payload") info.payload = f[i + 1].str;
      if (k == "error") info.error = f[i + 1].str;
      if (k == "attempts") info.attempts_made = to_int(f[i + 1]);
    }
    out.push_back(std::move(info));
  }
  co_return out;
}

}  // namespace brigade::queue
