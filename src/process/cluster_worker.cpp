// The worker side of a cluster: takes connections (passed fds or its own SO_REUSEPORT
// listener), talks with the primary over the channel, drains and exits when asked.
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "brigade/loop/signal.hpp"
#include "brigade/net/listener.hpp"
#include "brigade/process/channel.hpp"
#include "brigade/process/cluster.hpp"
#include "cluster_env.hpp"
#include "fd_passing.hpp"

namespace brigade::cluster {

struct WorkerRuntime {
  Loop& loop;
  Worker worker;
  process::Channel channel;
  int handles = -1;  // round-robin: the socket the primary passes connections on
  IoWatch handles_watch;
  int unsent_acks = 0;
  std::optional<net::Listener> listener;  // reuse-port: our own listener
  bool stopping = false;
  uint64_t drain_delay_ms = 0;
  int stop_signals = 0;

  WorkerRuntime(Loop& l, unsigned id) : loop(l), worker(l, id) { worker.runtime_ = this; }

  void deliver(net::Stream s) {
    if (!worker.on_connection_) return;  // nobody serves: the connection closes
    worker.connection_started();
    worker.on_connection_(std::move(s));
  }

  void send_acks() {
    while (unsent_acks > 0) {
      char a = 'A';
      if (::send(handles, &a, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) return;  // retried later
      --unsent_acks;
    }
  }

  // Takes every connection waiting on the handles socket, acknowledging each at once.
  void drain_handles() {
    for (;;) {
      int fd = process::detail::recv_fd(handles);
      if (fd == -EAGAIN) break;
      if (fd < 0) {
        begin_stop();  // the primary is gone
        return;
      }
      ++unsent_acks;
      send_acks();
      try {
        deliver(net::Stream::adopt(loop, fd, net::Stream::Kind::kSocket));
      } catch (const Error&) {
        ::close(fd);
      }
    }
    send_acks();
  }

  static void on_handles(IoWatch& w, uint32_t) {
    static_cast<WorkerRuntime*>(w.data)->drain_handles();
  }

  void start_round_robin(int fd) {
    handles = fd;
    handles_watch.fd = fd;
    handles_watch.handler = on_handles;
    handles_watch.data = this;
    if (int err = loop.io_start(handles_watch, io::kReadable)) throw Error(err, "cluster worker");
  }

  void start_reuse_port(const char* host, uint16_t port) {
    net::ListenOptions o;
    o.reuse_port = true;
    listener = net::listen_tcp(loop, host, port, o);
    listener->serve_callback([this](net::Stream s) { deliver(std::move(s)); });
  }

  // Stops taking connections (after taking those already queued for us), tells handlers to
  // finish, and ends the loop when the last connection is done.
  void begin_stop() {
    if (stopping) return;
    stopping = true;
    worker.begin_drain();
    if (handles >= 0) {
      drain_handles();
      loop.io_stop(handles_watch);
      ::close(handles);
      handles = -1;
    }
    if (listener && listener->is_open()) {
      listener->accept_backlog(
          [this](int fd) { deliver(net::Stream::adopt(loop, fd, net::Stream::Kind::kSocket)); });
      listener->close();
    }
    worker.stop_.request_stop();
    if (worker.active_ == 0) {
      finish();
    } else {
      worker.on_idle_ = [this] { finish(); };
    }
  }

  void finish() {
    channel.close();
    loop.stop();
  }

  Task<void> read_channel() {
    try {
      for (;;) {
        std::optional<std::string> m = co_await channel.receive();
        if (!m) break;
        if (m->empty()) continue;
        std::string_view body = std::string_view(*m).substr(1);
        if ((*m)[0] == detail::kControl && body == detail::kDisconnect) {
          begin_stop();
        } else if ((*m)[0] == detail::kControl && body == detail::kDrain) {
          worker.begin_drain();
        } else if ((*m)[0] == detail::kUser && worker.on_message_) {
          worker.on_message_(std::string(body));
        } else if ((*m)[0] == detail::kBroadcast && worker.on_broadcast_) {
          worker.on_broadcast_(std::string(body));
        }
      }
    } catch (const Error&) {
    }
    if (!stopping) begin_stop();  // the primary went away
  }

  // SIGTERM / SIGINT: without a drain delay, stop now; with one, readiness turns false at once
  // and the primary says when to stop (it knows whether the whole cluster is draining).
  void on_stop_signal() {
    if (drain_delay_ms == 0 || ++stop_signals > 1) return begin_stop();  // a second: now
    worker.begin_drain();
    spawn(send_draining(), "cluster draining");
  }

  Task<void> send_draining() {
    try {
      co_await channel.send(detail::control(detail::kDraining));
    } catch (const Error&) {  // the primary is gone: read_channel stops us
    }
  }
};

void Worker::begin_drain() {
  if (draining_) return;
  draining_ = true;
  if (auto fn = std::move(on_drain_)) fn();
}

void Worker::on_drain(UniqueFunction<void()> fn) {
  if (draining_)
    fn();
  else
    on_drain_ = std::move(fn);
}

void Worker::connection_ended() noexcept {
  if (--active_ == 0 && on_idle_) {
    auto fn = std::move(on_idle_);
    fn();
  }
}

Task<void> Worker::send(std::string message) {
  auto* rt = static_cast<WorkerRuntime*>(runtime_);
  co_await rt->channel.send(detail::user(message));
}

namespace {
Task<void> send_dropping(process::Channel& channel, std::string frame) {
  try {
    co_await channel.send(frame);
  } catch (const Error&) {  // the primary is gone: read_channel stops us
  }
}
}  // namespace

void Worker::broadcast(std::string message) {
  auto* rt = static_cast<WorkerRuntime*>(runtime_);
  // The frame enters the channel's queue before spawn returns: broadcasts keep their order.
  spawn(send_dropping(rt->channel, detail::broadcast(message)), "cluster broadcast");
}

namespace detail {

int run_worker(Options options, WorkerMain worker_main) {
  const char* id = std::getenv(kIdEnv);
  const char* policy = std::getenv(kPolicyEnv);
  const char* host = std::getenv(kHostEnv);
  const char* port = std::getenv(kPortEnv);
  const char* drain_ms = std::getenv(kDrainDelayEnv);
  Loop loop;
  WorkerRuntime rt(loop, id ? static_cast<unsigned>(std::atoi(id)) : 0);
  rt.drain_delay_ms = drain_ms ? std::strtoull(drain_ms, nullptr, 10) : 0;
  std::optional<process::Channel> channel = process::parent_channel(loop);
  if (!channel) {
    std::fprintf(stderr, "cluster worker: no channel to the primary\n");
    return 1;
  }
  rt.channel = std::move(*channel);
  SignalWatcher term(loop, SIGTERM, [&](int) { rt.on_stop_signal(); });
  SignalWatcher interrupt(loop, SIGINT, [&](int) { rt.on_stop_signal(); });
  try {
    run(loop, worker_main(rt.worker));
    if (policy && std::strcmp(policy, "reuseport") == 0) {
      rt.start_reuse_port(host ? host : options.host.c_str(),
                          static_cast<uint16_t>(port ? std::atoi(port) : options.port));
    } else {
      const char* fd = std::getenv(kHandlesFdEnv);
      rt.start_round_robin(fd ? std::atoi(fd) : -1);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster worker %u: %s\n", rt.worker.id(), e.what());
    return 1;
  }
  spawn(rt.read_channel(), "cluster channel");
  spawn(rt.channel.send(control(kReady)), "cluster ready");
  loop.run();
  return 0;
}

}  // namespace detail

}  // namespace brigade::cluster
