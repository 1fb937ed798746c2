// Client: shared pipelined connections with reconnect and backoff, and dedicated leases.
#include "brigade/redis/client.hpp"

#include "backoff.hpp"
#include "brigade/error.hpp"
#include "brigade/task/sleep.hpp"
#include "brigade/task/spawn.hpp"
#include "waiters.hpp"

namespace brigade::redis {

// State the reconnect timers and connect attempts share with the client: they hold it alive
// and see `closed` once the client is gone.
struct ClientCore {
  struct Shared {
    ClientCore* core = nullptr;
    std::size_t index = 0;
    std::unique_ptr<Connection> conn;
    bool connecting = false;
    bool retry_pending = false;  // the backoff timer runs
    unsigned failures = 0;
    Timer retry;
  };

  ClientCore(Options o, Loop& l) : options(std::move(o)), loop(l) {
    if (options.connections == 0) options.connections = 1;
    shared.resize(options.connections);
    for (std::size_t i = 0; i < shared.size(); ++i) {
      shared[i].core = this;
      shared[i].index = i;
      shared[i].retry = Timer(loop);
    }
  }

  Options options;
  Loop& loop;
  std::vector<Shared> shared;
  std::size_t next = 0;
  detail::Waiters ready;                          // commands waiting for a shared connection
  std::vector<std::unique_ptr<Connection>> idle;  // dedicated, given back
  std::size_t dedicated_open = 0;
  detail::Waiters lease_waiters;
  std::stop_source stop;
  bool closed = false;
  uint64_t connects = 0;
  uint64_t failed_connects = 0;
  std::string last_error;
  std::weak_ptr<ClientCore> self;

  Connection* pick() {
    for (std::size_t n = 0; n < shared.size(); ++n) {
      Shared& s = shared[next++ % shared.size()];
      if (s.conn && s.conn->ok()) return s.conn.get();
    }
    return nullptr;
  }

  void start_connect(Shared& s) {
    if (closed || s.connecting || (s.conn && s.conn->ok()) || s.retry_pending) return;
    s.connecting = true;
    spawn(connect_shared(self.lock(), s.index), "redis reconnect");
  }

  void schedule_retry(Shared& s) {
    if (closed) return;
    ++s.failures;
    s.retry_pending = true;
    s.retry.start(detail::reconnect_delay(options, s.failures), [this, i = s.index] {
      shared[i].retry_pending = false;
      start_connect(shared[i]);
    });
    s.retry.unref();
  }

  static void on_lost(void* ctx, const std::string& reason) {
    auto* s = static_cast<Shared*>(ctx);
    ClientCore* core = s->core;
    core->last_error = reason;
    s->conn.reset();  // allowed by the lost handler's contract
    core->schedule_retry(*s);
  }

  static Task<void> connect_shared(std::shared_ptr<ClientCore> core, std::size_t i) {
    try {
      auto open = Connection::open(core->options, core->stop.get_token());
      std::unique_ptr<Connection> conn = co_await open;
      if (core->closed) co_return;
      Shared& s = core->shared[i];
      s.connecting = false;
      s.failures = 0;
      conn->set_lost_handler(&ClientCore::on_lost, &s);
      s.conn = std::move(conn);
      ++core->connects;
      core->ready.wake_all();
    } catch (const std::exception& e) {
      if (core->closed) co_return;
      Shared& s = core->shared[i];
      s.connecting = false;
      ++core->failed_connects;
      core->last_error = e.what();
      core->schedule_retry(s);
    }
  }

  // A shared connection that is up, waiting for a reconnect for up to offline_wait_ms.
  Task<Connection*> connection() {
    loop.update_time();  // deadlines count from now, not from the loop's last turn
    uint64_t deadline = loop.now() + options.offline_wait_ms;
    for (;;) {
      if (closed) throw ConnectionError("redis: the client is closed");
      if (Connection* c = pick()) co_return c;
      for (Shared& s : shared) {
        if (!s.connecting && !s.conn && s.failures == 0) start_connect(s);
      }
      loop.update_time();
      uint64_t now = loop.now();
      if (now >= deadline)
        throw ConnectionError("redis: not connected to " + options.host + ":" +
                              std::to_string(options.port) +
                              (last_error.empty() ? "" : " (" + last_error + ")"));
      auto wait = ready.wait(loop, deadline - now);
      co_await wait;
    }
  }
};

Client::Client(Options options) {
  Loop& loop = brigade::detail::loop_or_current(options.loop);
  core_ = std::make_shared<ClientCore>(std::move(options), loop);
  core_->self = core_;
}

Client::~Client() {
  core_->closed = true;
  core_->stop.request_stop();
  for (auto& s : core_->shared) {
    s.retry.clear();
    s.conn.reset();
  }
  core_->idle.clear();
  core_->ready.wake_all();
  core_->lease_waiters.wake_all();
}

const Options& Client::options() const noexcept { return core_->options; }
Loop& Client::loop() const noexcept { return core_->loop; }

ClientStats Client::stats() const noexcept {
  ClientStats st;
  for (auto& s : core_->shared) st.connected += s.conn && s.conn->ok();
  st.dedicated_open = core_->dedicated_open;
  st.dedicated_idle = core_->idle.size();
  st.connects = core_->connects;
  st.failed_connects = core_->failed_connects;
  return st;
}

Task<void> Client::connect() {
  std::shared_ptr<ClientCore> core = core_;
  auto conn = core->connection();
  co_await conn;
}

Task<Reply> Client::run(std::string encoded) {
  Connection* conn = core_->pick();
  if (!conn) {
    std::shared_ptr<ClientCore> core = core_;  // the wait outlives a client destroyed meanwhile
    auto wait = core->connection();
    conn = co_await wait;
  }
  auto reply = conn->encoded(std::move(encoded));
  co_return co_await reply;
}

namespace {
Task<std::optional<std::string>> string_of(Task<Reply> command) {
  co_return (co_await command).as_string();
}
Task<int64_t> integer_of(Task<Reply> command) { co_return (co_await command).as_integer(); }
Task<void> done_of(Task<Reply> command) { co_await command; }
}  // namespace

// The helpers encode at once (their string_view arguments may die before the task runs).
Task<std::optional<std::string>> Client::get(std::string_view key) {
  return string_of(command("GET", key));
}

Task<void> Client::set(std::string_view key, std::string_view value, uint64_t ttl_ms) {
  if (ttl_ms) return done_of(command("SET", key, value, "PX", std::to_string(ttl_ms)));
  return done_of(command("SET", key, value));
}

Task<int64_t> Client::del(std::string_view key) { return integer_of(command("DEL", key)); }
Task<int64_t> Client::incr(std::string_view key) { return integer_of(command("INCR", key)); }
Task<int64_t> Client::publish(std::string_view channel, std::string_view message) {
  return integer_of(command("PUBLISH", channel, message));
}

Task<Reply> Client::eval(Script& script, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args) {
  std::vector<std::string> all;
  all.reserve(keys.size() + args.size());
  all.insert(all.end(), keys.begin(), keys.end());
  all.insert(all.end(), args.begin(), args.end());
  return run_script(script, std::move(all), keys.size());
}

Task<Reply> Client::run_script(Script& script, std::vector<std::string> keys_and_args,
                               std::size_t keys) {
  for (int attempt = 0;; ++attempt) {
    if (script.sha.empty()) {
      auto load = command("SCRIPT", "LOAD", script.source);
      Reply sha = co_await load;
      script.sha = sha.str;
    }
    std::vector<std::string> cmd;
    cmd.reserve(3 + keys_and_args.size());
    cmd.push_back("EVALSHA");
    cmd.push_back(script.sha);
    cmd.push_back(std::to_string(keys));
    cmd.insert(cmd.end(), keys_and_args.begin(), keys_and_args.end());
    try {
      auto call = command(cmd);
      co_return co_await call;
    } catch (const ServerError& e) {
      if (e.code() != "NOSCRIPT" || attempt > 0) throw;
      script.sha.clear();  // a restarted server: load it again
    }
  }
}

// ---- Leases -----------------------------------------------------------------------------

Task<Lease> Client::acquire() {
  std::shared_ptr<ClientCore> core = core_;
  core->loop.update_time();
  uint64_t deadline = core->loop.now() + core->options.offline_wait_ms;
  for (;;) {
    if (core->closed) throw ConnectionError("redis: the client is closed");
    while (!core->idle.empty()) {
      std::unique_ptr<Connection> c = std::move(core->idle.back());
      core->idle.pop_back();
      if (c->ok()) co_return Lease(core, std::move(c));
      --core->dedicated_open;
    }
    if (core->dedicated_open < core->options.max_dedicated) {
      ++core->dedicated_open;
      try {
        auto open = Connection::open(core->options, core->stop.get_token());
        std::unique_ptr<Connection> c = co_await open;
        ++core->connects;
        co_return Lease(core, std::move(c));
      } catch (...) {
        --core->dedicated_open;
        ++core->failed_connects;
        core->lease_waiters.wake_one();
        throw;
      }
    }
    core->loop.update_time();
    uint64_t now = core->loop.now();
    if (now >= deadline) throw TimeoutError("redis acquire");
    auto wait = core->lease_waiters.wait(core->loop, deadline - now);
    co_await wait;
  }
}

Lease::Lease(Lease&& o) noexcept : core_(std::move(o.core_)), conn_(std::move(o.conn_)) {}

Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    core_ = std::move(o.core_);
    conn_ = std::move(o.conn_);
  }
  return *this;
}

Connection* Lease::operator->() const {
  if (!conn_) throw Error("redis: empty lease");
  return conn_.get();
}

void Lease::release() {
  if (!conn_) return;
  if (core_->closed || !conn_->ok() || conn_->in_flight() > 0) {
    conn_.reset();  // a connection with replies still coming is not reused
    --core_->dedicated_open;
  } else {
    core_->idle.push_back(std::move(conn_));
  }
  core_->lease_waiters.wake_one();
  core_.reset();
}

}  // namespace brigade::redis
