#pragma once
// cluster: a primary process and N worker processes serving one port (Node's cluster module).
//
// How workers are made: the primary fork+execs /proc/self/exe with this process's own arguments
// and BRIGADE_CLUSTER_ROLE=worker in the environment (plus the worker's id, the port and the
// policy). A re-executed worker starts from a clean main(): no threads, locks or loop state are
// inherited from the primary, which a bare fork() of a running loop could not promise. So
// cluster::run() must be called early in main(), by every process of the program.
//
// Scheduling policies:
//   kRoundRobin (Node's default on Linux): the primary owns the listening socket, accepts, and
//     passes each connection to the next ready worker over a Unix SOCK_SEQPACKET socket with
//     SCM_RIGHTS. The worker acknowledges each one on receipt; the primary keeps its copy of
//     the fd until then, so a connection sent to a worker that dies before taking it is handed
//     to another worker instead of being lost.
//   kReusePort: each worker listens itself with SO_REUSEPORT and the kernel spreads
//     connections. (The primary reserves the port with a bound, non-listening socket.)
//
// Lifecycle: a worker that dies is seen at once (pidfd) and respawned — at once if it had lived
// min_uptime_ms, else after a backoff doubling from 100 ms up to max_backoff_ms, so a crash
// loop cannot fork-bomb. SIGTERM / SIGINT / Primary::shutdown(): the primary stops accepting
// (draining its accept queue first), each worker drains its queue of connections, lets its
// in-flight connections finish (their handlers see Worker::stopping()), and exits; then the
// primary exits. SIGHUP / Primary::rolling_restart(): one worker at a time, a replacement is
// started and becomes ready before the old one is drained, so no connection is refused.
// A worker whose primary goes away (its channel closes) drains and exits too.
//
// Behind a load balancer (Options::drain_delay_ms > 0): SIGTERM / SIGINT / Primary::drain()
// first tell every worker it is draining (Worker::draining(), Worker::on_drain: its readiness
// probe answers 503) while the primary keeps accepting and the workers keep serving for
// drain_delay_ms, so the balancer takes the host out of rotation; then the graceful shutdown
// above. A second signal shuts down at once. A worker sent SIGTERM itself (a signal to the whole
// process group, as systemd sends) starts draining at once and leaves the timing to the
// primary; a worker signalled alone is stopped by the primary after the delay and respawned.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "brigade/loop/function.hpp"
#include "brigade/loop/loop.hpp"
#include "brigade/net/stream.hpp"
#include "brigade/task/spawn.hpp"
#include "brigade/task/task.hpp"

namespace brigade::cluster {

enum class Policy : uint8_t { kRoundRobin, kReusePort };

class Primary;

struct Options {
  unsigned workers = 0;  // 0: one per core
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port, picked once by the primary
  Policy policy = Policy::kRoundRobin;
  uint64_t min_uptime_ms = 1000;         // a worker dying sooner than this is crash-looping
  uint64_t max_backoff_ms = 5000;        // the longest wait before a respawn
  uint64_t shutdown_timeout_ms = 10000;  // a worker still draining after this is killed
  uint64_t drain_delay_ms = 0;  // SIGTERM: readiness false, keep serving this long, then shut down
  // Primary only: called once the port is bound and the workers are being started (tests and
  // programs use it to learn the port, send messages, restart...).
  std::function<void(Primary&)> on_primary;
};

// A worker process, as seen from inside it.
class Worker {
 public:
  Worker(Loop& loop, unsigned id) : loop_(loop), id_(id) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  unsigned id() const noexcept { return id_; }
  Loop& loop() const noexcept { return loop_; }

  // Calls handler(net::Stream) for each connection this worker is given; a handler returning
  // Task<void> is spawned. Call once, from the worker main.
  template <typename F>
  void serve(F handler) {
    if constexpr (std::is_same_v<std::invoke_result_t<F&, net::Stream>, Task<void>>) {
      auto shared = std::make_shared<F>(std::move(handler));
      on_connection_ = [shared, this](net::Stream s) {
        brigade::spawn(run_handler(shared, this, std::move(s)), "cluster connection");
      };
    } else {
      on_connection_ = [h = std::move(handler), this](net::Stream s) mutable {
        h(std::move(s));
        connection_ended();
      };
    }
  }
  // Stopped when the worker must finish: a handler completes the request in hand, then closes.
  std::stop_token stopping() const noexcept { return stop_.get_token(); }
  // True once the worker is draining (its host is leaving the balancer) or stopping; `fn` runs
  // once then (at once if already draining). Readiness probes answer from this.
  bool draining() const noexcept { return draining_; }
  void on_drain(UniqueFunction<void()> fn);
  // Messages with the primary.
  Task<void> send(std::string message);
  void on_message(UniqueFunction<void(std::string)> fn) { on_message_ = std::move(fn); }
  // A message to every other ready worker, relayed by the primary (no code of the program's
  // runs there): what a ws::Hub linked to the worker publishes. Sent in order, never waits; a
  // worker not ready yet misses it, and it is dropped once the primary is gone.
  void broadcast(std::string message);
  // Where the other workers' broadcasts arrive (one receiver per worker).
  void on_broadcast(UniqueFunction<void(std::string)> fn) { on_broadcast_ = std::move(fn); }
  // Connections being handled now (and holds).
  std::size_t active_connections() const noexcept { return active_; }

  // Keeps the worker from exiting while it exists: e.g. a server that was handed connections
  // by a plain (non-coroutine) handler and is still draining them after stopping().
  class Hold {
   public:
    Hold() noexcept = default;
    explicit Hold(Worker& w) noexcept : w_(&w) { w.connection_started(); }
    Hold(Hold&& o) noexcept : w_(std::exchange(o.w_, nullptr)) {}
    Hold& operator=(Hold&& o) noexcept {
      if (this != &o) {
        release();
        w_ = std::exchange(o.w_, nullptr);
      }
      return *this;
    }
    ~Hold() { release(); }
    void release() noexcept {
      if (Worker* w = std::exchange(w_, nullptr)) w->connection_ended();
    }

   private:
    Worker* w_ = nullptr;
  };
  Hold hold() noexcept { return Hold(*this); }

 private:
  friend struct WorkerRuntime;
  template <typename F>
  static Task<void> run_handler(std::shared_ptr<F> handler, Worker* self, net::Stream s);
  void connection_started() noexcept { ++active_; }
  void connection_ended() noexcept;
  void begin_drain();

  Loop& loop_;
  unsigned id_;
  UniqueFunction<void(net::Stream)> on_connection_;
  UniqueFunction<void(std::string)> on_message_;
  UniqueFunction<void(std::string)> on_broadcast_;
  std::stop_source stop_;
  std::size_t active_ = 0;
  bool draining_ = false;
  UniqueFunction<void()> on_drain_;
  UniqueFunction<void()> on_idle_;  // set while stopping: runs when the last connection ends
  void* runtime_ = nullptr;         // the WorkerRuntime, for send()
};

template <typename F>
Task<void> Worker::run_handler(std::shared_ptr<F> handler, Worker* self, net::Stream s) {
  // Counted by the runtime (connection_started) before the handler runs; ended here.
  struct End {
    Worker* w;
    ~End() { w->connection_ended(); }
  } end{self};
  co_await (*handler)(std::move(s));
}

struct WorkerInfo {
  unsigned id;
  pid_t pid;
  bool ready;
};

// The primary, as seen by Options::on_primary.
class Primary {
 public:
  virtual ~Primary() = default;
  virtual Loop& loop() noexcept = 0;
  virtual uint16_t port() const noexcept = 0;
  virtual std::vector<WorkerInfo> workers() const = 0;
  virtual uint64_t respawns() const noexcept = 0;
  // Messages with workers (by id); send to a worker that is not up is dropped.
  virtual void send(unsigned worker, std::string message) = 0;
  virtual void on_message(UniqueFunction<void(unsigned, std::string)> fn) = 0;
  // Called when a worker is ready (serving) and when one exits.
  virtual void on_worker_ready(UniqueFunction<void(unsigned, pid_t)> fn) = 0;
  virtual void on_worker_exit(UniqueFunction<void(unsigned, pid_t, int code, int signal)> fn) = 0;
  virtual void rolling_restart() = 0;
  virtual void shutdown() = 0;
  // Readiness false in every worker, serve on for Options::drain_delay_ms, then shutdown().
  virtual void drain() = 0;
  virtual bool draining() const noexcept = 0;
};

using WorkerMain = std::function<Task<void>(Worker&)>;

// Runs this process's role: the primary (returns when every worker has exited after a
// shutdown) or a worker (returns when it has drained). Returns the exit code for main().
int run(Options options, WorkerMain worker_main);

// Whether this process is a cluster worker (BRIGADE_CLUSTER_ROLE=worker).
bool is_worker() noexcept;

}  // namespace brigade::cluster
