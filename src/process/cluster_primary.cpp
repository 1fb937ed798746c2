// The primary of a cluster: starts, watches and respawns workers; in round-robin mode accepts
// and hands connections out; drains on shutdown; restarts workers one at a time.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <deque>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "brigade/loop/signal.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/process/cluster.hpp"
#include "brigade/process/spawn.hpp"
#include "cluster_env.hpp"
#include "fd_passing.hpp"

namespace brigade::cluster::detail {

namespace {

class PrimaryImpl;

// One worker process (a respawn is a new Slot with the same id).
struct Slot {
  PrimaryImpl* primary = nullptr;
  unsigned id = 0;
  process::Child child;
  int handles = -1;         // round-robin: our end of the connection-passing socket
  IoWatch watch;            // acks from the worker on `handles`
  std::deque<int> unacked;  // connections sent and not yet acknowledged (we keep our copy)
  bool ready = false;
  bool retiring = false;  // asked to drain and exit; gets no more connections
  uint64_t started_ms = 0;
  // Rolling restart: the worker this one takes over from, until this one is ready (nullopt: an
  // ordinary start; an expired pointer: the predecessor died meanwhile).
  std::optional<std::weak_ptr<Slot>> replaces;
  Timer kill_timer;
  Timer drain_timer;  // signalled alone while the primary serves on: stopped after the delay
};

using Predecessor = std::optional<std::weak_ptr<Slot>>;

std::vector<std::string> own_arguments() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::size_t at = 0;
  while (at < all.size()) {
    std::size_t end = all.find('\0', at);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(at, end - at));
    at = end + 1;
  }
  return args;
}

class PrimaryImpl final : public Primary {
 public:
  PrimaryImpl(Loop& loop, Options options)
      : loop_(loop),
        options_(std::move(options)),
        args_(own_arguments()),
        term_(loop, SIGTERM, [this](int) { on_stop_signal(); }),
        interrupt_(loop, SIGINT, [this](int) { on_stop_signal(); }),
        hangup_(loop, SIGHUP, [this](int) { rolling_restart(); }) {
    if (options_.workers == 0) options_.workers = std::max(1u, std::thread::hardware_concurrency());
    port_ = options_.port;
    if (options_.policy == Policy::kRoundRobin) {
      listener_ = net::listen_tcp(loop_, options_.host, port_);
      port_ = listener_->port();
      listener_->serve_callback([this](net::Stream s) { dispatch(s.release()); });
    } else {
      reserve_fd_ = net::reserve_port(options_.host, port_);  // held for the workers
    }
    backoff_ms_.assign(options_.workers, 0);
    respawn_timers_.reserve(options_.workers);
    for (unsigned i = 0; i < options_.workers; ++i) respawn_timers_.emplace_back(loop_);
  }

  ~PrimaryImpl() override {
    for (int fd : pending_) ::close(fd);
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
  }

  void start() {
    for (unsigned i = 0; i < options_.workers; ++i) start_worker(i);
  }

  // ---- Primary ----
  Loop& loop() noexcept override { return loop_; }
  uint16_t port() const noexcept override { return port_; }
  uint64_t respawns() const noexcept override { return respawns_; }
  std::vector<WorkerInfo> workers() const override {
    std::vector<WorkerInfo> out;
    for (const auto& s : slots_) out.push_back({s->id, s->child.pid(), s->ready});
    return out;
  }
  void send(unsigned worker, std::string message) override {
    for (auto& s : slots_) {
      if (s->id == worker && s->ready && !s->retiring) {
        brigade::spawn(send_to(s, user(message)), "cluster send");
        return;
      }
    }
  }
  void on_message(UniqueFunction<void(unsigned, std::string)> fn) override {
    on_message_ = std::move(fn);
  }
  void on_worker_ready(UniqueFunction<void(unsigned, pid_t)> fn) override {
    on_ready_ = std::move(fn);
  }
  void on_worker_exit(UniqueFunction<void(unsigned, pid_t, int, int)> fn) override {
    on_exit_ = std::move(fn);
  }

  void rolling_restart() override {
    if (restarting_ || shutting_down_) return;
    restarting_ = true;
    restart_queue_.clear();
    for (auto& s : slots_)
      if (!s->retiring) restart_queue_.push_back(s);
    restart_next();
  }

  void drain() override {
    if (draining_ || shutting_down_) return;
    draining_ = true;
    if (options_.drain_delay_ms == 0) return shutdown();
    for (auto& s : slots_) {
      s->drain_timer.clear();  // the whole cluster drains now, on one clock
      brigade::spawn(send_to(s, control(kDrain)), "cluster drain");
    }
    drain_timer_ = Timer(loop_);
    drain_timer_.start(options_.drain_delay_ms, [this] { shutdown(); });
  }
  bool draining() const noexcept override { return draining_ || shutting_down_; }

  void shutdown() override {
    if (shutting_down_) return;
    shutting_down_ = true;
    drain_timer_.clear();
    for (auto& t : respawn_timers_) t.clear();
    if (listener_ && listener_->is_open()) {
      // Take what already completed the handshake, so no accepted connection is reset.
      listener_->accept_backlog([this](int fd) { dispatch(fd); });
      listener_->close();
    }
    for (auto& s : slots_) retire(s);
    if (slots_.empty()) loop_.stop();
  }

 private:
  static void on_acks(IoWatch& w, uint32_t) {
    auto* s = static_cast<Slot*>(w.data);
    char buf[256];
    for (;;) {
      ssize_t n = ::recv(s->handles, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) s->primary->loop_.io_stop(s->watch);
        return;
      }
      for (ssize_t i = 0; i < n && !s->unacked.empty(); ++i) {
        ::close(s->unacked.front());
        s->unacked.pop_front();
      }
    }
  }

  // `replaces` is set before the channel is read: a fast worker's ready may be read at once.
  void start_worker(unsigned id, Predecessor replaces = std::nullopt) {
    auto slot = std::make_shared<Slot>();
    slot->primary = this;
    slot->id = id;
    slot->replaces = std::move(replaces);
    process::SpawnOptions so;
    so.ipc = true;
    so.stdio = {process::Stdio::inherit(), process::Stdio::inherit(), process::Stdio::inherit()};
    so.env_add = {std::string(kRoleEnv) + "=worker",
                  std::string(kIdEnv) + "=" + std::to_string(id),
                  std::string(kDrainDelayEnv) + "=" + std::to_string(options_.drain_delay_ms),
                  std::string(kHostEnv) + "=" + options_.host,
                  std::string(kPortEnv) + "=" + std::to_string(port_),
                  std::string(kPolicyEnv) + "=" +
                      (options_.policy == Policy::kRoundRobin ? "rr" : "reuseport")};
    int pair[2] = {-1, -1};
    if (options_.policy == Policy::kRoundRobin) {
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        throw_errno("cluster: socketpair");
      so.extra_fds = {pair[1]};
      so.env_add.push_back(std::string(kHandlesFdEnv) + "=4");  // after the channel's fd 3
    }
    so.argv0 = args_.empty() ? "brigade-worker" : args_[0];
    std::vector<std::string> rest;
    if (args_.size() > 1) rest.assign(args_.begin() + 1, args_.end());
    try {
      slot->child = process::spawn(loop_, "/proc/self/exe", rest, so);
    } catch (...) {
      if (pair[0] >= 0) {
        ::close(pair[0]);
        ::close(pair[1]);
      }
      throw;
    }
    if (pair[1] >= 0) ::close(pair[1]);
    slot->started_ms = loop_.now();
    if (pair[0] >= 0) {
      slot->handles = pair[0];
      slot->watch.fd = pair[0];
      slot->watch.handler = on_acks;
      slot->watch.data = slot.get();
      loop_.io_start(slot->watch, io::kReadable);
      loop_.io_set_ref(slot->watch, false);
    }
    std::weak_ptr<Slot> weak = slot;
    slot->child.on_exit([this, weak](process::ExitStatus st) {
      if (auto s = weak.lock()) worker_exited(s, st);
    });
    slots_.push_back(slot);
    brigade::spawn(read_channel(slot), "cluster channel");
  }

  Task<void> send_to(std::shared_ptr<Slot> s, std::string frame) {
    try {
      co_await s->child.channel().send(frame);
    } catch (const Error&) {  // the worker is gone; its exit is handled elsewhere
    }
  }

  // A worker's broadcast frame, as it came, to every other ready worker.
  void relay(const Slot& from, const std::string& frame) {
    for (auto& s : slots_)
      if (s.get() != &from && s->ready && !s->retiring)
        brigade::spawn(send_to(s, frame), "cluster broadcast");
  }

  Task<void> read_channel(std::shared_ptr<Slot> s) {
    try {
      for (;;) {
        std::optional<std::string> m = co_await s->child.channel().receive();
        if (!m) break;
        if (m->empty()) continue;
        std::string body = m->substr(1);
        if ((*m)[0] == kControl && body == kReady) {
          worker_ready(s);
        } else if ((*m)[0] == kControl && body == kDraining) {
          worker_draining(s);
        } else if ((*m)[0] == kUser && on_message_) {
          on_message_(s->id, std::move(body));
        } else if ((*m)[0] == kBroadcast) {
          relay(*s, *m);
        }
      }
    } catch (const Error&) {
    }
    // `s` may be the last reference: dropping it here, inside the channel's read event, is safe
    // (a Stream destroyed under its own handler is freed in the loop's close phase).
  }

  void worker_ready(const std::shared_ptr<Slot>& s) {
    if (s->retiring) return;
    s->ready = true;
    if (draining_) brigade::spawn(send_to(s, control(kDrain)), "cluster drain");
    if (on_ready_) on_ready_(s->id, s->child.pid());
    flush_pending();
    Predecessor replaced = std::exchange(s->replaces, std::nullopt);
    if (!replaced) return;
    if (auto old = replaced->lock()) {
      retire(old);  // rolling restart: its successor is serving; restart_next() when it exits
    } else if (restarting_) {
      restart_next();  // the old one died while this one was starting
    }
  }

  // A worker that got SIGTERM itself. With the whole cluster draining (a signal to the process
  // group) the primary's clock decides; a worker signalled alone is stopped after the delay (its
  // exit is then an ordinary one: it is respawned).
  void worker_draining(const std::shared_ptr<Slot>& s) {
    if (draining_ || shutting_down_ || s->retiring || s->drain_timer.active()) return;
    s->drain_timer = Timer(loop_);
    std::weak_ptr<Slot> weak = s;
    s->drain_timer.start(options_.drain_delay_ms, [this, weak] {
      auto x = weak.lock();
      if (!x || x->retiring || x->child.exited()) return;
      x->ready = false;  // no more connections for it; its successor comes after its exit
      brigade::spawn(send_to(x, control(kDisconnect)), "cluster disconnect");
    });
  }

  void on_stop_signal() {
    if (draining_)
      shutdown();  // a second signal: no more waiting
    else
      drain();
  }

  void retire(const std::shared_ptr<Slot>& s) {
    if (s->retiring) return;
    assert(!s->kill_timer.active());
    s->retiring = true;
    s->ready = false;
    if (s->child.exited()) return;
    brigade::spawn(send_to(s, control(kDisconnect)), "cluster disconnect");
    s->child.kill(SIGTERM);  // also works for a worker that never became ready
    s->kill_timer = Timer(loop_);
    std::weak_ptr<Slot> weak = s;
    s->kill_timer.start(options_.shutdown_timeout_ms, [weak] {
      if (auto x = weak.lock()) x->child.kill(SIGKILL);
    });
    s->kill_timer.unref();
  }

  void worker_exited(std::shared_ptr<Slot> s, process::ExitStatus st) {
    assert(std::find(slots_.begin(), slots_.end(), s) != slots_.end() && "a slot exits once");
    s->ready = false;
    if (s->handles >= 0) {
      loop_.io_stop(s->watch);
      ::close(s->handles);
      s->handles = -1;
    }
    // Connections it never took go to the others, in their order.
    while (!s->unacked.empty()) {
      pending_.push_front(s->unacked.back());
      s->unacked.pop_back();
    }
    s->kill_timer.clear();
    s->drain_timer.clear();
    std::erase(slots_, s);
    if (on_exit_) on_exit_(s->id, s->child.pid(), st.code, st.signal);
    bool was_retiring = s->retiring;
    Predecessor predecessor = s->replaces;
    unsigned id = s->id;
    uint64_t uptime = loop_.now() - s->started_ms;
    if (shutting_down_) {
      for (int fd : pending_) ::close(fd);
      pending_.clear();
      if (slots_.empty()) loop_.stop();
      return;
    }
    flush_pending();
    if (was_retiring) {
      if (restarting_) restart_next();
      return;
    }
    if (replacement_pending(id)) return;  // died while its successor was starting
    // A successor that died before it was ready is retried with the same predecessor.
    schedule_respawn(id, uptime, std::move(predecessor));
  }

  bool replacement_pending(unsigned id) const {
    for (const auto& s : slots_)
      if (s->id == id && s->replaces) return true;
    return false;
  }

  // At once after a worker that lived long enough; else after a backoff that doubles.
  void schedule_respawn(unsigned id, uint64_t uptime, Predecessor replaces) {
    uint64_t& backoff = backoff_ms_[id];
    if (uptime >= options_.min_uptime_ms)
      backoff = 0;
    else
      backoff = std::min(options_.max_backoff_ms, std::max<uint64_t>(100, backoff * 2));
    ++respawns_;
    if (backoff == 0) {
      start_or_retry(id, replaces);
      return;
    }
    respawn_timers_[id].start(backoff, [this, id, replaces] { start_or_retry(id, replaces); });
  }

  void start_or_retry(unsigned id, Predecessor replaces = std::nullopt) {
    try {
      start_worker(id, replaces);
    } catch (const Error& e) {
      std::fprintf(stderr, "cluster: cannot start worker %u: %s\n", id, e.what());
      backoff_ms_[id] =
          std::min(options_.max_backoff_ms, std::max<uint64_t>(100, backoff_ms_[id] * 2));
      respawn_timers_[id].start(backoff_ms_[id],
                                [this, id, replaces] { start_or_retry(id, replaces); });
    }
  }

  void restart_next() {
    while (!restart_queue_.empty()) {
      std::shared_ptr<Slot> old = restart_queue_.front().lock();
      restart_queue_.pop_front();
      if (!old || old->retiring) continue;
      start_or_retry(old->id, old);
      return;
    }
    restarting_ = false;
  }

  void dispatch(int fd) {
    if (fd < 0) return;
    if (!send_to_next(fd)) pending_.push_back(fd);
  }

  bool send_to_next(int fd) {
    std::size_t n = slots_.size();
    for (std::size_t tried = 0; tried < n; ++tried) {
      Slot& s = *slots_[rr_next_++ % n];
      assert(!(s.ready && s.retiring) && "retire() takes a slot out of the rotation");
      if (!s.ready || s.retiring || s.handles < 0) continue;
      if (process::detail::send_fd(s.handles, fd) == 0) {
        s.unacked.push_back(fd);
        return true;
      }
    }
    return false;
  }

  void flush_pending() {
    while (!pending_.empty() && send_to_next(pending_.front())) pending_.pop_front();
  }

  Loop& loop_;
  Options options_;
  std::vector<std::string> args_;
  std::optional<net::Listener> listener_;
  int reserve_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<std::shared_ptr<Slot>> slots_;
  std::deque<int> pending_;  // connections waiting for a ready worker
  std::size_t rr_next_ = 0;
  std::vector<uint64_t> backoff_ms_;
  std::vector<Timer> respawn_timers_;
  uint64_t respawns_ = 0;
  bool shutting_down_ = false;
  bool draining_ = false;
  Timer drain_timer_;
  bool restarting_ = false;
  std::deque<std::weak_ptr<Slot>> restart_queue_;
  UniqueFunction<void(unsigned, std::string)> on_message_;
  UniqueFunction<void(unsigned, pid_t)> on_ready_;
  UniqueFunction<void(unsigned, pid_t, int, int)> on_exit_;
  SignalWatcher term_, interrupt_, hangup_;
};

}  // namespace

int run_primary(Options options) {
  Loop loop;
  auto on_primary = std::move(options.on_primary);
  try {
    PrimaryImpl primary(loop, std::move(options));
    if (on_primary) on_primary(primary);
    primary.start();
    loop.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster primary: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace brigade::cluster::detail
