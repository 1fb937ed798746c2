// The queue under faults, with real processes: 10,000 jobs, three examples/queue_worker
// consumers, one of them kill -9'd twice while it holds jobs, Redis restarted once. Every job
// completes exactly once by its idempotency key (at-least-once delivery, deduplicated
// completions), none is lost or left pending, and a poison job lands in the dead-letter stream.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "../redis/redis_server.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/queue.hpp"
#include "brigade/redis.hpp"
#include "brigade/task/combinators.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"

using namespace brigade;
using namespace brigade::queue;

namespace {

constexpr int kJobs = 10000;

struct WorkerEnv {
  const char* queue = "fault";
  const char* concurrency = "64";
  const char* visibility_ms = "1000";
  const char* sleep_ms = "2";  // each job holds its slot a little: a kill catches some
};

// A queue_worker process, killed with SIGKILL by the destructor if still running. Its stdout
// comes back through a pipe, so a graceful stop can wait for its "ready" line: a SIGTERM sent
// before the worker watches the signal ends it by the default action.
class WorkerProcess {
 public:
  explicit WorkerProcess(const std::string& url, WorkerEnv env = {}) : url_(url), env_(env) {
    start();
  }
  ~WorkerProcess() {
    kill(SIGKILL);
    if (out_ >= 0) ::close(out_);
  }
  void start() {
    pid_t parent = ::getpid();
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    ready_ = false;
    seen_.clear();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      rlimit no_core{0, 0};  // the crash test aborts workers on purpose
      ::setrlimit(RLIMIT_CORE, &no_core);
      ::setenv("REDIS_URL", url_.c_str(), 1);
      ::setenv("QUEUE", env_.queue, 1);
      ::setenv("CONCURRENCY", env_.concurrency, 1);
      ::setenv("VISIBILITY_MS", env_.visibility_ms, 1);
      ::setenv("BLOCK_MS", "200", 1);
      ::setenv("SLEEP_MS", env_.sleep_ms, 1);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(out[1], 1);
      ::dup2(null, 2);
      std::string exe = std::string(BRIGADE_BINARY_DIR) + "/examples/queue_worker";
      ::execl(exe.c_str(), exe.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    if (out_ >= 0) ::close(out_);
    out_ = out[0];
  }
  // Reads the worker's output until its "ready" line (up to `ms`); true once seen.
  bool wait_ready(int ms = 10000) {
    while (!ready_) {
      pollfd p{out_, POLLIN, 0};
      if (out_ < 0 || ::poll(&p, 1, ms) <= 0) return false;
      char buf[256];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return false;
      seen_.append(buf, static_cast<std::size_t>(n));
      ready_ = seen_.find(" ready on queue ") != std::string::npos;
    }
    return true;
  }
  // Sends `signo` and waits for the exit; returns the wait status.
  int kill(int signo) {
    if (pid_ <= 0) return -1;
    if (signo != SIGKILL) {
      EXPECT_TRUE(wait_ready()) << "the worker never said ready";
    }
    ::kill(pid_, signo);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  // The wait status if the process has ended (and forgets it), else nothing.
  std::optional<int> ended() {
    int status = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return status;
  }

 private:
  std::string url_;
  WorkerEnv env_;
  pid_t pid_ = -1;
  int out_ = -1;  // the worker's stdout
  bool ready_ = false;
  std::string seen_;
};

Task<QueueCounts> counts_when(Queue& jobs, int64_t completed, uint64_t timeout_ms) {
  Loop& loop = jobs.client().loop();
  loop.update_time();
  uint64_t deadline = loop.now() + timeout_ms;
  for (;;) {
    try {
      QueueCounts c = co_await jobs.counts();
      if (c.completed >= completed || loop.now() > deadline) co_return c;
    } catch (const redis::Error&) {  // Redis restarting
    }
    co_await brigade::sleep(20);
    loop.update_time();
  }
}

TEST(QueueFaults, TenThousandJobsThreeWorkersKillsAndARedisRestart) {
  if (!test::redis_server_installed()) GTEST_SKIP() << "redis-server is not installed";
  test::RedisServer server;
  ASSERT_TRUE(server.running());
  Loop loop;
  redis::Options o = redis::parse_url(server.url());
  o.loop = &loop;
  o.reconnect_min_ms = 20;
  o.reconnect_max_ms = 200;
  redis::Client redis(o);
  Queue jobs(redis, "fault");

  // Enqueue everything first (pipelined, 1,000 at a time), a poison job, and every tenth id a
  // second time: the duplicates add nothing.
  run(loop, [](Queue& jobs) -> Task<void> {
    for (int base = 0; base < kJobs; base += 1000) {
      std::vector<Task<std::string>> adds;
      for (int i = base; i < base + 1000; ++i) {
        std::string id = "job-" + std::to_string(i);
        // A kill costs the jobs in flight an attempt: two kills and the restart's stale idle times.
        adds.push_back(
            jobs.add("echo", "payload-" + std::to_string(i), {.attempts = 4, .job_id = id}));
        if (i % 10 == 0)
          adds.push_back(jobs.add("echo", "duplicate", {.attempts = 4, .job_id = id}));
      }
      co_await when_all(std::move(adds));
    }
    co_await jobs.add("poison", "x", {.attempts = 3, .backoff_ms = 50, .job_id = "poison"});
  }(jobs));

  auto a = std::make_unique<WorkerProcess>(server.url());
  auto b = std::make_unique<WorkerProcess>(server.url());
  auto c = std::make_unique<WorkerProcess>(server.url());

  auto wait_for = [&](int64_t completed) {
    return run(loop, counts_when(jobs, completed, 30000)).completed;
  };
  EXPECT_GE(wait_for(kJobs / 5), kJobs / 5);
  EXPECT_EQ(WTERMSIG(a->kill(SIGKILL)), SIGKILL);  // holding up to 64 jobs
  a->start();
  EXPECT_GE(wait_for(kJobs * 2 / 5), kJobs * 2 / 5);
  ASSERT_TRUE(server.restart());
  EXPECT_GE(wait_for(kJobs * 3 / 5), kJobs * 3 / 5);
  EXPECT_EQ(WTERMSIG(a->kill(SIGKILL)), SIGKILL);
  a->start();
  QueueCounts end = run(loop, counts_when(jobs, kJobs, 30000));
  // Let the poison job's last retry and any duplicate runs settle, then stop gracefully.
  run(loop, []() -> Task<void> { co_await brigade::sleep(300); }());
  for (auto* w : {a.get(), b.get(), c.get()}) {
    int status = w->kill(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  end = run(loop, jobs.counts());
  EXPECT_EQ(end.completed, kJobs);  // first completions: each job exactly once
  EXPECT_EQ(end.waiting, 0);
  EXPECT_EQ(end.pending, 0);
  EXPECT_EQ(end.delayed, 0);
  EXPECT_EQ(end.dead, 1);

  run(loop, [](Queue& jobs) -> Task<void> {
    int wrong = 0;
    for (int base = 0; base < kJobs; base += 1000) {
      std::vector<Task<std::optional<JobInfo>>> gets;
      for (int i = base; i < base + 1000; ++i) gets.push_back(jobs.get("job-" + std::to_string(i)));
      std::vector<std::optional<JobInfo>> infos = co_await when_all(std::move(gets));
      for (int i = base; i < base + 1000; ++i) {
        const auto& info = infos[i - base];
        if (!info || info->state != JobState::kCompleted ||
            info->result != "payload-" + std::to_string(i))
          ++wrong;
      }
    }
    EXPECT_EQ(wrong, 0);
    std::vector<JobInfo> dead = co_await jobs.dead_letters();
    EXPECT_EQ(dead.size(), 1u);
    if (!dead.empty()) {
      EXPECT_EQ(dead[0].id, "poison");
      EXPECT_EQ(dead[0].attempts_made, 3);
    }
  }(jobs));
}

// A job that aborts every worker process running it: each lost run counts as an attempt, so
// after its 3 attempts it is dead-lettered with the reason (instead of killing workers forever),
// and the jobs around it, which lose at most one attempt per crash, all complete once.
TEST(QueueFaults, AJobThatCrashesItsWorkerIsDeadLetteredAfterItsAttempts) {
  if (!test::redis_server_installed()) GTEST_SKIP() << "redis-server is not installed";
  test::RedisServer server;
  ASSERT_TRUE(server.running());
  Loop loop;
  redis::Options o = redis::parse_url(server.url());
  o.loop = &loop;
  redis::Client redis(o);
  Queue jobs(redis, "crash");
  constexpr int kOthers = 400;
  run(loop, [](Queue& jobs) -> Task<void> {
    std::vector<Task<std::string>> adds;
    for (int i = 0; i < kOthers; ++i) {
      std::string id = "ok-" + std::to_string(i);
      if (i == 20) adds.push_back(jobs.add("crash", "x", {.attempts = 3, .job_id = "crasher"}));
      adds.push_back(
          jobs.add("echo", "payload-" + std::to_string(i), {.attempts = 4, .job_id = id}));
    }
    co_await when_all(std::move(adds));
  }(jobs));

  WorkerEnv env{.queue = "crash", .concurrency = "8", .visibility_ms = "300", .sleep_ms = "5"};
  std::vector<std::unique_ptr<WorkerProcess>> workers;
  for (int i = 0; i < 2; ++i) workers.push_back(std::make_unique<WorkerProcess>(server.url(), env));
  // Supervise as systemd would: restart a worker that died, and count the crashes.
  int crashes = 0, other_ends = 0;
  QueueCounts c;
  loop.update_time();
  uint64_t deadline = loop.now() + 30000;
  while (loop.now() < deadline) {
    for (auto& w : workers) {
      if (std::optional<int> status = w->ended()) {
        if (WIFSIGNALED(*status) && WTERMSIG(*status) == SIGABRT)
          ++crashes;
        else
          ++other_ends;
        w->start();
      }
    }
    c = run(loop, jobs.counts());
    if (c.completed == kOthers && c.dead == 1 && c.pending == 0 && c.waiting == 0) break;
    run(loop, []() -> Task<void> { co_await brigade::sleep(20); }());
    loop.update_time();
  }
  for (auto& w : workers) {
    int status = w->kill(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_EQ(crashes, 3);  // one per attempt, then never again
  EXPECT_EQ(other_ends, 0);
  c = run(loop, jobs.counts());
  EXPECT_EQ(c.completed, kOthers);
  EXPECT_EQ(c.dead, 1);
  EXPECT_EQ(c.pending, 0);
  EXPECT_EQ(c.waiting, 0);
  EXPECT_EQ(c.delayed, 0);

  run(loop, [](Queue& jobs) -> Task<void> {
    std::vector<JobInfo> dead = co_await jobs.dead_letters();
    EXPECT_EQ(dead.size(), 1u);
    if (!dead.empty()) {
      EXPECT_EQ(dead[0].id, "crasher");
      EXPECT_EQ(dead[0].attempts_made, 3);
      EXPECT_NE(dead[0].error.find("worker running it died"), std::string::npos) << dead[0].error;
    }
    std::optional<JobInfo> crasher = co_await jobs.get("crasher");
    EXPECT_TRUE(crasher && crasher->state == JobState::kFailed);
    bool threw = false;
    try {
      co_await jobs.result("crasher", 1000);
    } catch (const JobFailedError& e) {
      threw = std::string(e.what()).find("died") != std::string::npos;
    }
    EXPECT_TRUE(threw);
    int wrong = 0;
    std::vector<Task<std::optional<JobInfo>>> gets;
    for (int i = 0; i < kOthers; ++i) gets.push_back(jobs.get("ok-" + std::to_string(i)));
    std::vector<std::optional<JobInfo>> infos = co_await when_all(std::move(gets));
    for (int i = 0; i < kOthers; ++i) {
      if (!infos[i] || infos[i]->state != JobState::kCompleted ||
          infos[i]->result != "payload-" + std::to_string(i))
        ++wrong;
    }
    EXPECT_EQ(wrong, 0);
  }(jobs));
}

}  // namespace
